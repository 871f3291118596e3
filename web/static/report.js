// The full report of a lot for staff and supervisors: /report/{lot_id} (staff token, as in
// the host console: the field, or #token=...). Printable; CSV and export downloads; hosts
// settle deposits here after the lot has ended.

import { addStrings, initI18n, lang, onLangChange, t } from "./i18n.js";
import { dateTime, depositText, download, flagItems } from "./records-ui.js";
import { detailsText, eventName } from "./report-words.js";
import {
  $, ENDED, MessageBox, api, confirmAction, guard, h, lotIdFromPath, money, resultText, showStatus,
  bindStaffToken,
} from "./ui.js";

addStrings({
  zh: {
    report_doc_title: "竞价过程报告", sign_host: "主持人（签字）", sign_supervisor: "监督人（签字）",
    sign_seal: "交易中心（盖章）", sign_date: "日期",
    confirm_refund: "确认向 {no} 号竞买人（{name}）退还保证金 {amount}？理由：{reason}",
    confirm_forfeit: "确认没收 {no} 号竞买人（{name}）的保证金 {amount}？此操作不可撤销。理由：{reason}",
  },
  en: {
    report_doc_title: "Auction proceedings report", sign_host: "Host (signature)",
    sign_supervisor: "Supervisor (signature)", sign_seal: "Trading center (seal)", sign_date: "Date",
    confirm_refund: "Refund the deposit of {amount} to bidder {no} ({name})? Reason: {reason}",
    confirm_forfeit: "Forfeit the deposit of {amount} of bidder {no} ({name})? This cannot be undone. Reason: {reason}",
  },
});

const lotId = lotIdFromPath();
const messages = new MessageBox($("message"), { details: true });
let token = "";
let report = null;

const SETTLE = {
  refundable: ["refund", "forfeit"],
  confirmed: ["apply", "refund", "forfeit"],
};

function staffToken() {
  return ($("staff-token").value || token).trim();
}


function rows(tableId, items, cells) {
  $(tableId).tBodies[0].replaceChildren(...items.map((item) => h("tr", { dataset: { seq: item.seq ?? "" } },
    ...cells(item).map(([text, cls]) => h("td", { class: cls ?? null }, text ?? "")))));
}

function render() {
  $("lot-id").textContent = lotId ?? "";
  if (!report) return;
  const lot = report.lot;
  const p = lot.params;
  const cur = p.currency;
  $("lot-title").textContent = lot.title;
  $("center-name").textContent = report.center?.name ?? "";
  $("center-name").hidden = !report.center?.name;
  showStatus($("status"), lot.status);
  $("not-final").hidden = report.final;
  $("generated").textContent = t("report_generated", { time: dateTime(report.generated_at) });
  $("outcome").textContent = resultText(lot);
  const r = report.record;
  const summary = [
    [t("lot_id"), lot.lot_id], [t("session"), lot.session_id],
    [t("direction"), t(p.direction === "reverse" ? "direction_reverse" : "direction_forward")],
    [t("start_price"), money(p.start_price, cur)], [t("reserve"), money(lot.reserve, cur, t("none"))],
    [t("deposit"), money(p.deposit, cur)],
    [t("opened_at"), dateTime(report.opened_at)], [t("ended_at"), dateTime(report.ended_at)],
    [t("bidders"), String(lot.bidders)], [t("bid_count"), String(lot.bid_count)],
  ];
  if (r.outcome_seq) summary.push([t("outcome_hash", { seq: r.outcome_seq }), r.outcome_hash]);
  summary.push([t("last_hash", { seq: r.last_seq }), r.last_hash ?? "—"]);
  $("summary").replaceChildren(...summary.flatMap(([k, v]) => [h("dt", {}, k),
    h("dd", { class: String(v).length === 64 ? "hash" : null }, v)]));

  $("flags").replaceChildren(...flagItems(report.collusion, lang()));
  $("flag-count").textContent = t("flags_n", { n: report.collusion.length });

  const dep = report.deposits;
  $("to-refund").textContent = t("to_refund_total", { amount: money(dep.to_refund_total, cur), n: dep.to_refund.length });
  $("deposits").tBodies[0].replaceChildren(...dep.deposits.map((d) => h("tr", {
    dataset: { bidderId: d.bidder_id, status: d.status },
  }, h("td", { class: "no" }, d.bidder_no), h("td", {}, d.bidder_id), h("td", {}, d.name),
  h("td", { class: "num" }, money(d.amount, cur)), h("td", { class: "mono" }, d.account),
  h("td", { class: "dep-status" }, depositText(d.status)),
  h("td", {}, settleCell(d, lot)))));

  $("bid-total").textContent = String(report.bids.length);
  rows("bids", report.bids, (b) => [[String(b.seq), "num"], [dateTime(b.at, true), "time"],
    [b.bidder_no, "no"], [b.bidder_id], [b.name], [money(b.amount, cur), "num amt"], [b.ip, "mono"],
    [b.device, "mono"]]);
  rows("actions", report.staff_actions, (a) => [[String(a.seq), "num"], [dateTime(a.at, true), "time"],
    [a.actor], [eventName(a.action), "action"], [a.reason ?? ""], [detailsText(a.details, [])]]);
  rows("connections", report.connections, (c) => [[dateTime(c.at, true), "time"],
    [t(`kind_${c.kind}`)], [c.role], [c.bidder_no ? `${c.bidder_no} ${c.name ?? ""} (${c.bidder_id})` : c.staff_id ?? ""],
    [c.ip, "mono"], [c.device, "mono"]]);
  rows("timeline", report.timeline, (e) => [[String(e.seq), "num"], [dateTime(e.at, true), "time"],
    [eventName(e.type), "action"], [e.actor], [detailsText(e, ["seq", "type", "at", "actor"])]]);
}

async function load() {
  if (!lotId) return;
  if (!staffToken()) {
    messages.show({ key: "need_token" });
    return;
  }
  $("result-link").href = `/result/${encodeURIComponent(lotId)}`;
  const answer = await api(`/api/lots/${encodeURIComponent(lotId)}/report`, { token: staffToken() });
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  report = answer.data;
  render();
}

/** A deposit's settlement controls: its own reason field and its actions side by side. */
function settleCell(d, lot) {
  const actions = ENDED.has(lot.status) && (d.status === "refundable" || (d.status === "confirmed" && d.winner))
    ? SETTLE[d.status] : [];
  if (!actions.length) return h("span", { class: "settle" });
  const reason = h("input", {
    type: "text", class: "settle-reason", "aria-label": t("settle_reason"), placeholder: t("settle_reason"),
  });
  return h("span", { class: "settle no-print" }, reason, ...actions.map((action) => {
    const button = h("button", { type: "button", class: `small${action === "forfeit" ? " danger" : ""}`, dataset: { action } },
      t(action));
    button.addEventListener("click", guard(() => settle(d, action, reason, lot.params.currency), button));
    return button;
  }));
}

async function settle(d, action, reasonInput, currency) {
  const bidderId = d.bidder_id;
  const reason = reasonInput.value.trim();
  if (!reason) {
    messages.show({ code: "reason_required" });
    reasonInput.focus();
    return;
  }
  if (action === "refund" || action === "forfeit") {
    const vars = { no: d.bidder_no, name: d.name, amount: money(d.amount, currency), reason };
    if (!confirmAction(t(`confirm_${action}`, vars))) return;
  }
  const path = `/api/lots/${encodeURIComponent(lotId)}/bidders/${encodeURIComponent(bidderId)}/deposit/${action}`;
  const answer = await api(path, { method: "POST", body: { reason }, token: staffToken() });
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  messages.show({ key: "settled" }, "ok");
  await load();
}

async function save(kind) {
  const path = kind === "csv" ? `/api/lots/${encodeURIComponent(lotId)}/report?format=csv`
    : `/api/lots/${encodeURIComponent(lotId)}/export`;
  const name = kind === "csv" ? `report-${lotId}.csv` : `${lotId}.export.json`;
  const answer = await download(path, staffToken(), name);
  if (!answer.ok) messages.show(answer.error);
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
  $("print").addEventListener("click", () => window.print());
  $("csv").addEventListener("click", () => save("csv"));
  $("export").addEventListener("click", () => save("export"));
  render();
  load();
}

main();
