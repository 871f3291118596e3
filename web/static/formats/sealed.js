// The sealed format's part of the pages (see ../formats.js): sealed bids (一次报价 / 密封报价)
// opened all at once at the lot's closing time (开标). Before the opening only the bidder
// itself sees its price: the board and the host console show how many bids are in; after
// it, every page shows the table of final bids and the winner. Under sealing "bidder" the
// room commits to a hash of the price and a random salt and reveals them in the reveal
// window (./sealing.js, shared with multi_round's initial bids).

import { addStrings } from "../i18n.js";
import { decimalsOf } from "../money.js";
import { clock, h } from "../ui.js";
import { revealKept, sealedPriceForm, sealingParts } from "./sealing.js";

addStrings({
  zh: {
    sealed_title: "密封报价",
    sealed_opening: "开标时间",
    sealed_count: "已递交报价",
    sealed_bidders: "报价人数",
    sealed_hidden: "开标前任何人（包括主持人与监督人员）都看不到报价金额。",
    sealed_your_bid: "我的报价",
    sealed_revisions_left: "剩余修改次数",
    sealed_revise: "修改报价",
    sealed_no_more: "报价已递交，不能再修改。",
    sealed_sent: "报价已密封递交：{amount}",
    sealed_opened: "开标结果",
    sealed_no_bids: "无人报价",
    sealed_no: "竞买号",
    sealed_amount: "报价",
    sealed_order: "递交序号",
    sealed_winner: "中标",
    sealed_tie_rule: "同价规则",
    tie_earliest: "先递交者优先",
    tie_lottery: "摇号决定",
    sealed_by_bidder: "本标的由竞买人自行密封：报价只保存在您的浏览器和报价文件中，开标后须在解密时段内解密，未解密的报价无效。",
    sealed_reveal_until: "解密截止",
    sealed_revealed_n: "已解密",
    sealed_voided: "作废（未解密）",
  },
  en: {
    sealed_title: "Sealed bids",
    sealed_opening: "Opening",
    sealed_count: "Bids in",
    sealed_bidders: "Bidders",
    sealed_hidden: "Until the opening nobody (hosts and supervisors included) sees a price.",
    sealed_your_bid: "Your bid",
    sealed_revisions_left: "Revisions left",
    sealed_revise: "Revise bid",
    sealed_no_more: "Your bid is in; it can no longer be revised.",
    sealed_sent: "Sealed bid submitted: {amount}",
    sealed_opened: "Bids opened",
    sealed_no_bids: "No bids",
    sealed_no: "Bidder No.",
    sealed_amount: "Price",
    sealed_order: "Seq",
    sealed_winner: "Winner",
    sealed_tie_rule: "Equal prices",
    tie_earliest: "earliest bid wins",
    tie_lottery: "drawn by lot",
    sealed_by_bidder: "Bids are sealed by the bidder: your price stays in your browser and your bid file; reveal it in the reveal window after the opening, or it is void.",
    sealed_reveal_until: "Reveal until",
    sealed_revealed_n: "Revealed",
    sealed_voided: "Void (not revealed)",
  },
});

function summary(ctx) {
  const { state, t } = ctx;
  const play = state.play ?? {};
  return h("dl", { class: "info sealed-summary" },
    h("dt", {}, t("sealed_opening")),
    h("dd", { id: "sealed-opening" }, play.opening_at ? clock(play.opening_at) : "—"),
    h("dt", {}, t("sealed_count")),
    h("dd", { id: "sealed-count" }, String(play.bid_count ?? 0)),
    h("dt", {}, t("sealed_bidders")),
    h("dd", { id: "sealed-bidders" }, String(play.bidders_in ?? 0)),
    h("dt", {}, t("sealed_tie_rule")),
    h("dd", {}, t(play.tie_rule === "lottery" ? "tie_lottery" : "tie_earliest")));
}

function revealed(ctx) {
  const { state, t, money } = ctx;
  const play = state.play ?? {};
  if (!play.opened) return h("p", { class: "sub sealed-hidden" }, t("sealed_hidden"));
  const currency = state.params?.currency;
  const winner = state.outcome?.status === "awarded" ? state.outcome.bidder_no : null;
  const bids = play.bids ?? [];
  return h("section", { class: "sealed-opened" },
    h("h3", {}, t("sealed_opened")),
    bids.length === 0 ? h("p", { class: "empty" }, t("sealed_no_bids")) : h("table", { id: "sealed-table", class: "table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("sealed_no")), h("th", {}, t("sealed_amount")),
        h("th", {}, t("sealed_order")), h("th", {}, ""))),
      h("tbody", {}, ...bids.map((b) => h("tr", { dataset: { winner: String(b.bidder_no === winner) } },
        h("td", {}, b.bidder_no), h("td", { class: "amount" }, money(b.amount, currency)),
        h("td", {}, String(b.seq)),
        h("td", {}, b.bidder_no === winner ? t("sealed_winner") : ""))))));
}

function watch(el, ctx) {
  el.replaceChildren(h("h2", {}, ctx.t("sealed_title")), summary(ctx), revealWindow(ctx),
    revealed(ctx));
}

// ------------------------------------------------------------ sealing by the bidder

/** The reveal window of a bidder-sealed lot: its end and how many revealed. */
function revealWindow(ctx) {
  const play = ctx.state.play ?? {};
  if (play.sealing !== "bidder") return "";
  const rows = [];
  if (play.phase === "reveal") {
    rows.push(h("dt", {}, ctx.t("sealed_reveal_until")),
      h("dd", { id: "sealed-reveal-until" }, clock(play.reveal_ends_at)),
      h("dt", {}, ctx.t("sealed_revealed_n")),
      h("dd", { id: "sealed-revealed-count" }, `${play.revealed_count ?? 0} / ${play.bidders_in ?? 0}`));
  }
  if ((play.voided ?? []).length) {
    rows.push(h("dt", {}, ctx.t("sealed_voided")),
      h("dd", { id: "sealed-voided" }, play.voided.join(", ")));
  }
  return rows.length ? h("dl", { class: "info sealed-reveal" }, ...rows) : "";
}

/** The room of a bidder-sealed lot: commit while open, reveal in the reveal window
 * (by itself when this browser keeps the bid file, else from an uploaded one). */
function roomByBidder(el, ctx) {
  const { state, you, t } = ctx;
  const bidCard = document.getElementById("bid-card");
  if (bidCard) bidCard.hidden = true;
  const play = state.play ?? {};
  const mine = you ? { ...you, can_commit: you.can_bid } : null;
  const { mineText, parts } = sealingParts(el, ctx, {
    mine, decimals: decimalsOf(state.params?.currency, "0.00"), voided: play.voided,
    submitKey: you?.commitment ? "sealed_revise" : "sealed_submit",
  });
  const line = h("dl", { class: "info sealed-mine" },
    h("dt", {}, t("sealed_your_bid")),
    h("dd", { id: "sealed-mine", class: "amount", dataset: { revealed: String(Boolean(you?.revealed)) } }, mineText),
    h("dt", {}, t("sealed_revisions_left")),
    h("dd", { id: "sealed-left" }, you ? String(you.revisions_left ?? 0) : "—"));
  el.replaceChildren(h("h2", {}, t("sealed_title")), h("p", { class: "sub" }, t("sealed_by_bidder")),
    summary(ctx), revealWindow(ctx), line, ...parts, revealed(ctx));
  revealKept(ctx, mine);
}

/** The plain sealed room as last rendered (its price form reads it when submitted). */
const latestPlain = { ctx: null, decimals: 2 };

/** The room: the bidder's own sealed bid, its revisions left, and the form to submit or
 * revise it (the english bid form is hidden). The form is made once and kept, so that
 * what the bidder types survives the updates of the lot. */
function room(el, ctx) {
  if (ctx.state.play?.sealing === "bidder") {
    roomByBidder(el, ctx);
    return;
  }
  const { state, you, t, money } = ctx;
  const bidCard = document.getElementById("bid-card");
  if (bidCard) bidCard.hidden = true;
  const currency = state.params?.currency;
  const decimals = decimalsOf(currency, you?.last_bid ?? "0.00");
  latestPlain.ctx = ctx;
  latestPlain.decimals = decimals;
  const form = sealedPriceForm(el, () => latestPlain,
    ({ ctx: now }, amount) => now.conn.bid(amount), "sealed_sent");
  const input = form.querySelector("input");
  const button = form.querySelector("button");
  input.placeholder = t("sealed_placeholder");
  button.textContent = t(you?.last_bid ? "sealed_revise" : "sealed_submit");
  const open = state.status === "open";
  form.hidden = !open || !you || you.can_bid === false;
  const mine = h("dl", { class: "info sealed-mine" },
    h("dt", {}, t("sealed_your_bid")),
    h("dd", { id: "sealed-mine", class: "amount" }, you?.last_bid ? money(you.last_bid, currency) : t("sealed_none")),
    h("dt", {}, t("sealed_revisions_left")),
    h("dd", { id: "sealed-left" }, you ? String(you.revisions_left ?? 0) : "—"));
  const note = open && you?.can_bid === false ? h("p", { class: "sub" }, t("sealed_no_more")) : null;
  el.replaceChildren(h("h2", {}, t("sealed_title")), summary(ctx), mine, note ?? "", form,
    revealed(ctx));
}

function template() {
  return {
    direction: "reverse", currency: "CNY", ceiling: "500000.00", deposit: "5000.00",
    duration_s: 300, revisions: 1, tie_rule: "earliest",
  };
}

export default { room, board: watch, host: watch, template };
