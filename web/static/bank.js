// The bank ledger in the host console: import a bank statement, export the refund file
// (the bank payment file of every refund due), the arrivals flagged with their reason,
// the refunds (due, exported, refunded, overdue), the deposits held for a runner-up offer
// (not due while held) and what each lot still holds
// (GET /api/bank/ledger; docs/bank.md).

import { addStrings, codeText, onLangChange, t } from "./i18n.js";
import { $, api, dateTime, guard, h, replaceChildren } from "./ui.js";

addStrings({
  zh: {
    bank_title: "银行到账与退款", bank_refresh: "刷新", bank_import: "导入银行流水（CSV）",
    bank_export: "导出退款文件", bank_flagged: "异常到账（将退回）", bank_refunds: "退款",
    bank_balances: "各标的在账金额", bank_none: "无", bank_imported: "已导入 {rows} 笔，新增 {new} 笔",
    bank_exported: "已导出 {count} 笔退款（批次 {batch}）", bank_nothing_due: "暂无应退款项",
    bank_zero: "已结束标的均已清零", bank_not_zero: "已结束标的尚有在账金额",
    bank_shared: "同一付款账户为多个竞买人付款",
    bank_refund_due: "待退", bank_refund_exported: "已导出", bank_refund_refunded: "已退",
    bank_held: "作为候补保留的保证金（暂不退还）", bank_overdue: "逾期", bank_confirm: "导入银行退款结果（CSV）", bank_confirmed: "已确认 {count} 笔退款",
    bank_cols: "流水号|付款户名|付款账号|金额|标的|原因|状态|应退日期",
    bank_references: "缴款码（子账号）", bank_ref_cols: "缴款码|用途|标的|竞买人|付款户名须为|金额|截止|状态",
    bank_purpose_deposit: "保证金", bank_purpose_payment: "价款",
    bank_state_matched: "已到账", bank_state_awaiting: "待到账", bank_state_overdue: "逾期未到账",
  },
  en: {
    bank_title: "Bank arrivals and refunds", bank_refresh: "Refresh",
    bank_import: "Import a bank statement (CSV)", bank_export: "Export the refund file",
    bank_flagged: "Flagged arrivals (to be refunded)", bank_refunds: "Refunds",
    bank_balances: "Held per lot", bank_none: "None",
    bank_imported: "{rows} arrivals imported, {new} new",
    bank_exported: "{count} refunds exported (batch {batch})", bank_nothing_due: "No refund is due",
    bank_zero: "Every ended lot is at zero", bank_not_zero: "An ended lot still holds money",
    bank_shared: "One payer account paid for several bidders",
    bank_refund_due: "due", bank_refund_exported: "exported", bank_refund_refunded: "refunded",
    bank_held: "Deposits held for the runner-up offer (not due)",
    bank_overdue: "overdue", bank_confirm: "Import the bank's refund results (CSV)",
    bank_confirmed: "{count} refunds confirmed",
    bank_cols: "Transaction|Payer|Account|Amount|Lot|Reason|Status|Due by",
    bank_references: "Payment references", bank_ref_cols: "Reference|For|Lot|Bidder|Payer must be|Amount|Deadline|Status",
    bank_purpose_deposit: "deposit", bank_purpose_payment: "price",
    bank_state_matched: "arrived", bank_state_awaiting: "awaiting", bank_state_overdue: "overdue",
  },
});

function table(rows, withRefund) {
  const cols = t("bank_cols").split("|");
  return h("div", { class: "table-wrap" }, h("table", { class: "bank-table" },
    h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", {}, c)))),
    h("tbody", {}, ...rows.map((r) => h("tr", { dataset: { outcome: r.outcome, txn: r.transaction_id } },
      h("td", {}, r.transaction_id), h("td", {}, r.payer_name), h("td", {}, r.payer_account),
      h("td", { class: "num" }, r.amount), h("td", {}, r.lot_id || "—"),
      h("td", { class: "reason" }, codeText(r.outcome, r.message)),
      h("td", {}, withRefund ? `${t(`bank_refund_${r.refund}`)}${r.overdue ? ` · ${t("bank_overdue")}` : ""}`
        : r.status),
      h("td", {}, r.due_on ?? "—"))))));
}

function referenceTable(refs) {
  const cols = t("bank_ref_cols").split("|");
  return h("div", { class: "table-wrap" }, h("table", { class: "bank-references" },
    h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", {}, c)))),
    h("tbody", {}, ...refs.map((r) => h("tr", { dataset: { reference: r.reference, state: r.status } },
      h("td", { class: "reference" }, r.reference), h("td", {}, t(`bank_purpose_${r.purpose}`)),
      h("td", {}, r.lot_id), h("td", {}, r.party_id), h("td", {}, r.payer_name),
      h("td", { class: "num" }, r.amount), h("td", {}, r.deadline ? dateTime(r.deadline) : "—"),
      h("td", {}, t(`bank_state_${r.status}`)))))));
}

/** Mount the bank panel in `#bank-card`; `token()` gives the staff token. */
export function mountBank(token) {
  const card = $("bank-card");
  if (!card) return;
  let data = null;
  let note = "";
  const draw = () => {
    const status = h("p", { class: "bank-note", role: "status" }, note);
    if (!data) {
      replaceChildren(card, [h("h2", {}, t("bank_title")), controls(), status]);
      return;
    }
    const balances = Object.entries(data.balances);
    replaceChildren(card, [
      h("h2", {}, t("bank_title")), controls(), status,
      h("p", { class: "bank-zero", dataset: { zero: String(data.ended_lots_at_zero) } },
        t(data.ended_lots_at_zero ? "bank_zero" : "bank_not_zero")),
      h("h3", {}, t("bank_references")),
      data.references.length ? referenceTable(data.references) : h("p", {}, t("bank_none")),
      h("h3", {}, t("bank_flagged")),
      data.flagged.length ? table(data.flagged, false) : h("p", {}, t("bank_none")),
      h("h3", {}, t("bank_refunds")),
      data.refunds.length ? table(data.refunds, true) : h("p", {}, t("bank_none")),
      ...(data.held.length ? [h("h3", {}, t("bank_held")), table(data.held.map((r) => (
        { ...r, outcome: r.reason, message: r.reason_text })), false)] : []),
      h("h3", {}, t("bank_balances")),
      h("ul", { class: "bank-balances" }, ...balances.map(([lot, amount]) => h("li", {}, `${lot || "—"}: ${amount}`))),
      data.shared_payers.length ? h("p", { class: "bank-shared" }, `${t("bank_shared")}: `
        + data.shared_payers.map((s) => s.payer_account).join(", ")) : null,
    ].filter(Boolean));
  };
  const load = async () => {
    if (!token()) return;
    const answer = await api("/api/bank/ledger", { token: token() });
    if (answer.ok) data = answer.data;
    else note = codeText(answer.error.code, answer.error.message);
    draw();
  };
  // A bank file (a statement, or the bank's result file of refunds) sent as it is.
  const sendFile = (path, done) => async (event) => {
    const file = event.target.files?.[0];
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (const b of bytes) binary += String.fromCharCode(b);
    const answer = await api(path, {
      method: "POST", token: token(), body: { content_base64: btoa(binary), filename: file.name },
    });
    note = answer.ok ? done(answer.data)
      : `${codeText(answer.error.code, answer.error.message)} ${answer.error.detail ?? ""}`;
    event.target.value = "";
    await load();
  };
  const importFile = sendFile("/api/bank/statements", (data) => t("bank_imported", data));
  const confirmFile = sendFile("/api/bank/refunds/confirmations/file",
    (data) => t("bank_confirmed", { count: data.confirmed.length }));
  const exportFile = async () => {
    let response;
    try {
      response = await fetch("/api/bank/refunds/export", {
        method: "POST", headers: { Authorization: `Bearer ${token()}` },
      });
    } catch {
      note = codeText("network");
      draw();
      return;
    }
    if (!response.ok) {
      note = codeText(response.status === 403 ? "forbidden" : "error");
      draw();
      return;
    }
    const count = Number(response.headers.get("X-Refund-Count"));
    const batch = response.headers.get("X-Refund-Batch");
    if (count > 0) {
      const url = URL.createObjectURL(await response.blob());
      const link = h("a", { href: url, download: `${batch}.csv`, id: "refund-file" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }
    note = count > 0 ? t("bank_exported", { count, batch }) : t("bank_nothing_due");
    await load();
  };
  function controls() {
    const exportButton = h("button", { type: "button", id: "bank-export" }, t("bank_export"));
    exportButton.addEventListener("click", guard(exportFile, exportButton));
    return h("div", { class: "row bank-controls" },
      h("label", {}, t("bank_import"), " ",
        h("input", { type: "file", id: "bank-statement", accept: ".csv,text/csv", onchange: importFile })),
      exportButton,
      h("label", {}, t("bank_confirm"), " ",
        h("input", { type: "file", id: "bank-confirmations", accept: ".csv,text/csv", onchange: confirmFile })),
      h("button", { type: "button", id: "bank-refresh", onclick: load }, t("bank_refresh")));
  }
  onLangChange(draw);
  draw();
  load();
  setInterval(load, 10_000);
}
