// The japanese format's part of the pages (see ../formats.js): a clock that moves the
// price one step against the bidders every tick_s; bidders still in confirm each level
// (Stay) or leave (Drop). The public sees how many are in; a bidder sees its own status.

import { addStrings } from "../i18n.js";
import { h } from "../ui.js";
import { clockCard } from "./dutch.js";

addStrings({
  zh: {
    clock_in_count: "仍在场竞买人：{n}",
    clock_confirmed_count: "本档已确认：{n}",
    clock_stay: "确认本档价格",
    clock_drop: "退出",
    clock_status_in: "您在场：请在本档结束前确认",
    clock_status_confirmed: "您已确认本档价格",
    clock_status_out: "您已退出",
    clock_stayed: "已确认 {amount}",
    clock_dropped: "您已退出竞价",
    clock_tie_rule: "同时退出时：{rule}",
    tie_earliest: "最先确认上一档者得",
    tie_lottery: "摇号",
    clock_in_list: "在场竞买号：{list}",
  },
  en: {
    clock_in_count: "Bidders in: {n}",
    clock_confirmed_count: "Confirmed this level: {n}",
    clock_stay: "Stay in at this price",
    clock_drop: "Drop out",
    clock_status_in: "You are in: confirm before this level ends",
    clock_status_confirmed: "You confirmed this level",
    clock_status_out: "You are out",
    clock_stayed: "Confirmed at {amount}",
    clock_dropped: "You left the auction",
    clock_tie_rule: "If all drop at once: {rule}",
    tie_earliest: "the first to confirm the previous level",
    tie_lottery: "a lottery",
    clock_in_list: "In: {list}",
  },
});

function japaneseClock(state) {
  const play = state.play;
  return { level: play.level, price: play.price, next: play.next_at, levels: null };
}

function counts(ctx) {
  const { state, t } = ctx;
  const play = state.play;
  const out = [];
  if (Number.isInteger(play.in_count)) {
    out.push(h("div", { class: "sub", id: "clock-in" , dataset: { n: String(play.in_count) } },
      t("clock_in_count", { n: play.in_count })));
  }
  if (Number.isInteger(play.confirmed_count) && state.status === "open") {
    out.push(h("div", { class: "sub" }, t("clock_confirmed_count", { n: play.confirmed_count })));
  }
  out.push(h("div", { class: "sub" },
    t("clock_tie_rule", { rule: t(`tie_${play.tie_rule}`) })));
  if (Array.isArray(play.in)) {
    out.push(h("div", { class: "sub" }, t("clock_in_list", { list: play.in.join(", ") || "—" })));
  }
  return out;
}

function room(el, ctx) {
  const { state, t, conn, messages, money } = ctx;
  const bidCard = document.getElementById("bid-card");
  if (bidCard) bidCard.hidden = true;
  const status = state.play.status;
  const can = state.status === "open" && status === "in" && !el._sending;
  const send = (what) => async () => {
    el._sending = true;
    ctx.rerender();
    const answer = await conn.act(what);
    el._sending = false;
    if (answer.type === "ack") {
      messages.show(what === "stay"
        ? { key: "clock_stayed", vars: { amount: money(state.play.price, state.params.currency) } }
        : { key: "clock_dropped" }, "ok");
    } else {
      messages.show({ code: answer.code, message: answer.message, detail: answer.detail });
    }
    ctx.rerender();
  };
  const stay = h("button", { type: "button", class: "primary", id: "stay-btn" }, t("clock_stay"));
  const drop = h("button", { type: "button", id: "drop-btn" }, t("clock_drop"));
  stay.disabled = !can;
  drop.disabled = !can;
  stay.addEventListener("click", send("stay"));
  drop.addEventListener("click", send("drop"));
  const mine = h("div", { class: "sub", id: "clock-status", dataset: { status: status ?? "" } },
    status ? t(`clock_status_${status}`) : "");
  el.replaceChildren(...clockCard(el, ctx, japaneseClock), ...counts(ctx), mine,
    h("div", { class: "clock-actions" }, stay, " ", drop));
}

function board(el, ctx) {
  el.replaceChildren(...clockCard(el, ctx, japaneseClock), ...counts(ctx));
}

function host(el, ctx) {
  el.replaceChildren(...clockCard(el, ctx, japaneseClock), ...counts(ctx));
}

function template() {
  return {
    direction: "forward", start_price: "1000000.00", step: "10000.00", tick_s: 30,
    tie_rule: "lottery", deposit: "50000.00",
  };
}

export default { room, board, host, template };
