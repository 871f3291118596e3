// The supervisor's page (/supervisor, staff token): every lot with its collusion flags,
// the checks across lots, and links to each lot's report, result and export.

import { addStrings, initI18n, lang, onLangChange, t } from "./i18n.js";
import { download, flagItems } from "./records-ui.js";
import { $, ENDED, MessageBox, api, apiLots, bindStaffToken, guard, h, showStatus } from "./ui.js";

addStrings({
  zh: {
    reserves_pending: "待确认的保留价",
    reserves_pending_note: "保留价由主持人录入、监督人确认；金额密封，任何人（含监督人）在标的结束前都看不到，这里只显示其承诺值（哈希）。",
    reserves_none: "没有待确认的保留价",
    reserve_pending_item: "{title}（{lot_id}）：{entered_by} 录入，承诺值 {commitment}",
    approve_reserve: "确认",
    reserve_approved: "已确认保留价",
  },
  en: {
    reserves_pending: "Reserves awaiting approval",
    reserves_pending_note: "A host enters the reserve, a supervisor approves it; the amount is sealed from everyone (supervisors included) until the lot ends: only its commitment (hash) shows here.",
    reserves_none: "No reserve awaits approval",
    reserve_pending_item: "{title} ({lot_id}): entered by {entered_by}, commitment {commitment}",
    approve_reserve: "Approve",
    reserve_approved: "Reserve approved",
  },
});

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
  drawReserves();
  const perLot = lots.flatMap((lot) => checks.lots[lot.lot_id] ?? []);
  $("per-lot").replaceChildren(...flagItems(perLot, lang()));
}

/** The entries hosts made that await approval: the commitment, never the amount. */
function drawReserves() {
  const pending = lots.filter((lot) => lot.reserve_entry?.status === "entered");
  $("reserves").replaceChildren(...(pending.length ? pending.map((lot) => {
    const entry = lot.reserve_entry;
    const approve = h("button", { type: "button", class: "small approve-reserve" }, t("approve_reserve"));
    approve.addEventListener("click", guard(() => approveReserve(lot.lot_id, entry.commitment), approve));
    return h("li", { dataset: { lotId: lot.lot_id } },
      t("reserve_pending_item", { title: lot.title, lot_id: lot.lot_id, entered_by: entry.entered_by,
                                  commitment: entry.commitment }), " ", approve);
  }) : [h("li", { class: "empty" }, t("reserves_none"))]));
}

async function approveReserve(lotId, commitment) {
  const answer = await api(`/api/lots/${encodeURIComponent(lotId)}/reserve/approve`,
    { method: "POST", body: { commitment }, token: staffToken() });
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  await load(); // (which clears the messages)
  messages.show({ key: "reserve_approved" }, "ok");
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
