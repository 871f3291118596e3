// Deposit instructions and status in the bidder room (GET /api/lots/{lot}/deposit with the
// bidder's token): the bidder's own deposit reference (保证金子账号), the payer name the
// bank must show, the amount and the deadline; each arrival with its outcome (a flagged
// one with its reason); the payment notice of the price once the bidder has won.

import { addStrings, codeText, onLangChange, t } from "./i18n.js";
import { $, api, dateTime, h, replaceChildren } from "./ui.js";

const REFRESH_MS = 4000;

addStrings({
  zh: {
    deposit_title: "保证金缴纳", payment_title: "成交价款缴纳",
    deposit_reference: "缴款码（子账号，请填入附言）", deposit_payer: "付款户名须为",
    deposit_amount_due: "应缴金额", deposit_deadline: "截止时间", deposit_no_deadline: "标的开始前",
    deposit_state_matched: "保证金已到账并确认", deposit_state_awaiting: "等待到账",
    deposit_state_overdue: "已过截止时间，未到账", deposit_arrivals: "到账记录",
    deposit_by_hand: "保证金已由工作人员确认", payment_state_paid: "价款已缴清",
    payment_state_awaiting: "等待缴款", payment_state_overdue: "已逾期未缴",
    deposit_arrival: "{time} 收到 {amount} 元（{account}）：{outcome}",
  },
  en: {
    deposit_title: "Deposit", payment_title: "Payment of the price",
    deposit_reference: "Payment reference (sub-account: put it in the transfer's memo)",
    deposit_payer: "Pay from an account named", deposit_amount_due: "Amount due",
    deposit_deadline: "Deadline", deposit_no_deadline: "before the lot opens",
    deposit_state_matched: "Deposit arrived and confirmed", deposit_state_awaiting: "Awaiting the transfer",
    deposit_state_overdue: "Deadline passed: nothing arrived", deposit_arrivals: "Arrivals",
    deposit_by_hand: "Deposit confirmed by staff", payment_state_paid: "Price paid",
    payment_state_awaiting: "Awaiting payment", payment_state_overdue: "Payment overdue",
    deposit_arrival: "{time}: {amount} received ({account}): {outcome}",
  },
});

function referenceBlock(ref, stateText) {
  return [
    h("dl", { class: "info" },
      h("dt", {}, t("deposit_reference")), h("dd", { class: "reference" }, ref.reference),
      h("dt", {}, t("deposit_payer")), h("dd", {}, ref.payer_name),
      h("dt", {}, t("deposit_amount_due")), h("dd", { class: "num" }, ref.amount),
      h("dt", {}, t("deposit_deadline")),
      h("dd", {}, ref.deadline ? dateTime(ref.deadline) : t("deposit_no_deadline"))),
    h("div", { class: "deposit-state", dataset: { state: ref.status } }, stateText),
    ref.arrivals.length ? h("h3", {}, t("deposit_arrivals")) : null,
    h("ul", { class: "arrivals" }, ...ref.arrivals.map((a) => h("li", {
      class: "arrival", dataset: { outcome: a.outcome },
    }, t("deposit_arrival", {
      time: dateTime(a.value_at), amount: a.amount, account: a.payer_account,
      outcome: codeText(a.outcome, a.message),
    })))),
  ].filter(Boolean);
}

/** Show the deposit card of `lotId` for the bidder of `token` in `#deposit-card`. */
export function mountDeposit(lotId, token) {
  const card = $("deposit-card");
  if (!card || !token) return;
  let data = null;
  const draw = () => {
    const party = data?.parties?.[0];
    card.hidden = !party || (!party.deposit && !party.payment);
    if (card.hidden) return;
    const parts = [];
    if (party.deposit) {
      const byHand = party.deposit.status !== "matched" && party.deposit_status !== "pending";
      const state = byHand ? t("deposit_by_hand") : t(`deposit_state_${party.deposit.status}`);
      parts.push(h("h2", {}, t("deposit_title")), ...referenceBlock(party.deposit, state));
    }
    if (party.payment) {
      parts.push(h("h2", {}, t("payment_title")),
        ...referenceBlock(party.payment, t(`payment_state_${party.payment.payment}`)));
    }
    replaceChildren(card, parts);
  };
  const load = async () => {
    const answer = await api(`/api/lots/${encodeURIComponent(lotId)}/deposit`, { token });
    if (answer.ok) {
      data = answer.data;
      draw();
    }
  };
  onLangChange(draw);
  load();
  setInterval(load, REFRESH_MS);
}
