// The supervisor's page (/supervisor, staff token): every lot with its collusion flags,
// the checks across lots, and links to each lot's report, result and export.

import { initI18n, lang, onLangChange, t } from "./i18n.js";
import { download, flagItems } from "./records-ui.js";
import { $, ENDED, MessageBox, api, apiLots, bindStaffToken, h, showStatus } from "./ui.js";

const messages = new MessageBox($("message"), { details: true });
let token = "";
let lots = [];
let checks = null;

function staffToken() {
  return ($("staff-token").value || token).trim();
}

function render() {
  if (!checks) return;
  $("checked").textContent = t("checked_n", { n: checks.checked });
  $("across").replaceChildren(...flagItems(checks.across, lang()));
  $("across-count").textContent = t("flags_n", { n: checks.across.length });
  $("lots").tBodies[0].replaceChildren(...lots.map((lot) => {
    const id = encodeURIComponent(lot.lot_id);
    const flags = checks.lots[lot.lot_id] ?? [];
    const status = h("span", { class: "status" });
    showStatus(status, lot.status);
    return h("tr", { dataset: { lotId: lot.lot_id, flags: String(flags.length) } },
      h("td", { class: "mono" }, lot.lot_id), h("td", {}, lot.title), h("td", {}, status),
      h("td", { class: "num" }, String(lot.bidders)), h("td", { class: "num" }, String(lot.bid_count)),
      h("td", { class: flags.length ? "warn" : "ok" }, t("flags_n", { n: flags.length })),
      h("td", {},
        h("a", { class: "button-link small report-link", href: `/report/${id}` }, t("report_link")), " ",
        ENDED.has(lot.status)
          ? h("a", { class: "button-link small result-link", href: `/result/${id}` }, t("result_link")) : null, " ",
        h("button", { type: "button", class: "small", onclick: () => saveExport(lot.lot_id) }, t("export_link"))));
  }));
  const perLot = lots.flatMap((lot) => checks.lots[lot.lot_id] ?? []);
  $("per-lot").replaceChildren(...flagItems(perLot, lang()));
}

async function saveExport(lotId) {
  const answer = await download(`/api/lots/${encodeURIComponent(lotId)}/export`, staffToken(),
    `${lotId}.export.json`);
  if (!answer.ok) messages.show(answer.error);
}

async function load() {
  if (!staffToken()) {
    messages.show({ key: "need_token" });
    return;
  }
  const [lotsAnswer, checksAnswer] = await Promise.all([
    apiLots({ token: staffToken() }), api("/api/collusion", { token: staffToken() })]);
  const failed = [lotsAnswer, checksAnswer].find((a) => !a.ok);
  if (failed) {
    messages.show(failed.error);
    return;
  }
  messages.clear();
  lots = lotsAnswer.data.lots;
  checks = checksAnswer.data;
  render();
}

function main() {
  initI18n();
  onLangChange(() => {
    messages.draw();
    render();
  });
  token = bindStaffToken($("staff-token"), (fresh) => {
    token = fresh;
    load();
  });
  $("refresh").addEventListener("click", load);
  load();
}

main();
