// The dutch format's part of the pages (see ../formats.js): a clock whose price falls
// (forward) or rises (reverse) one step every tick_s, and an Accept button in the room.
// The price shown is computed from the server's time (ctx.serverNow()), the clock's origin
// and tick (state.play); the server decides the price of an acceptance.

import { addStrings } from "../i18n.js";
import { formatAmount, parseAmount } from "../money.js";
import { duration, h } from "../ui.js";

addStrings({
  zh: {
    clock_price: "当前时钟价格",
    clock_next: "距下次变价",
    clock_level: "第 {n} / {of} 档",
    clock_floor: "底价",
    clock_ceiling: "最高限价",
    clock_paused: "已暂停",
    clock_last: "最后一档",
    clock_accept: "接受当前价格",
    clock_accepting: "提交中…",
    clock_accepted: "已接受价格 {amount}",
    clock_tick: "每 {s} 秒变价一次，每次 {step}",
  },
  en: {
    clock_price: "Clock price",
    clock_next: "Next step in",
    clock_level: "Level {n} of {of}",
    clock_floor: "Floor",
    clock_ceiling: "Ceiling",
    clock_paused: "Paused",
    clock_last: "Last level",
    clock_accept: "Accept this price",
    clock_accepting: "Sending…",
    clock_accepted: "You accepted at {amount}",
    clock_tick: "The price moves by {step} every {s} s",
  },
});

const DECIMALS = { JPY: 0 };

export function decimalsOf(state) {
  return DECIMALS[state?.params?.currency] ?? 2;
}

/** The time the clock reads: the server's now, frozen while the lot is paused. */
export function clockNow(ctx) {
  const s = ctx.state;
  return s.status === "paused" && Number.isFinite(s.paused_at) ? s.paused_at : ctx.serverNow();
}

/** `{level, price, next}` of a dutch clock at server time `now` (price a decimal string). */
export function dutchAt(state, now) {
  const play = state.play;
  const d = decimalsOf(state);
  if (state.status !== "open" && state.status !== "paused" || !Number.isFinite(play.origin)) {
    return { level: play.level, price: play.price, next: null };
  }
  const tick = play.tick_s * 1000;
  const level = Math.max(play.level,
    Math.min(play.levels - 1, Math.floor((now - play.origin) / tick)));
  const start = parseAmount(state.params.start_price, d);
  const step = parseAmount(play.step, d);
  const limit = parseAmount(play.limit, d);
  const forward = state.params.direction !== "reverse";
  let price = forward ? start - BigInt(level) * step : start + BigInt(level) * step;
  if (forward ? price < limit : price > limit) price = limit;
  const next = level >= play.levels - 1 ? state.closes_at : play.origin + (level + 1) * tick;
  return { level, price: formatAmount(price, d), next };
}

/** Keep `draw` running every 200 ms while `el` is in the page (one timer per element). */
export function keepTicking(el, draw) {
  el._clockDraw = draw;
  if (el._clockTimer) return;
  el._clockTimer = setInterval(() => {
    if (!el.isConnected) {
      clearInterval(el._clockTimer);
      el._clockTimer = null;
      return;
    }
    el._clockDraw?.();
  }, 200);
}

/** The clock card: price in force, level and time to the next step, kept live. */
export function clockCard(el, ctx, at) {
  const { state, t, money } = ctx;
  const price = h("div", { class: "price clock-price", id: "clock-price" });
  const next = h("div", { class: "sub", id: "clock-next" });
  const level = h("div", { class: "sub", id: "clock-level" });
  const draw = () => {
    const now = clockNow(ctx);
    const c = at(ctx.state, now);
    price.dataset.amount = c.price ?? "";
    price.textContent = money(c.price, state.params.currency);
    level.dataset.level = String(c.level);
    level.textContent = t("clock_level", { n: c.level + 1, of: c.levels ?? "∞" });
    if (ctx.state.status === "paused") next.textContent = t("clock_paused");
    else if (Number.isFinite(c.next)) {
      next.textContent = `${t("clock_next")} ${duration(c.next - now)}`;
      next.dataset.ms = String(Math.max(0, Math.round(c.next - now)));
    } else next.textContent = "";
  };
  draw();
  keepTicking(el, draw);
  return [h("div", { class: "label" }, t("clock_price")), price, level, next];
}

function dutchClock(state, now) {
  return { ...dutchAt(state, now), levels: state.play.levels };
}

function info(ctx) {
  const { state, t, money } = ctx;
  const p = state.params;
  const reverse = p.direction === "reverse";
  return h("div", { class: "sub" },
    `${t(reverse ? "clock_ceiling" : "clock_floor")} ${money(state.play.limit, p.currency)} · `,
    t("clock_tick", { s: state.play.tick_s, step: money(state.play.step, p.currency) }));
}

function room(el, ctx) {
  const { state, t, conn, messages, money } = ctx;
  const bidCard = document.getElementById("bid-card");
  if (bidCard) bidCard.hidden = true;
  const open = state.status === "open";
  const button = h("button", { type: "button", class: "primary", id: "accept-btn" },
    t(el._accepting ? "clock_accepting" : "clock_accept"));
  button.disabled = !open || !ctx.you?.eligible || Boolean(el._accepting);
  button.addEventListener("click", async () => {
    el._accepting = true;
    ctx.rerender();
    const answer = await conn.act("accept");
    el._accepting = false;
    if (answer.type === "ack") {
      const price = state.outcome?.amount ?? dutchAt(ctx.state, ctx.serverNow()).price;
      messages.show({ key: "clock_accepted", vars: { amount: money(price, state.params.currency) } },
        "ok");
    } else {
      messages.show({ code: answer.code, message: answer.message, detail: answer.detail });
    }
    ctx.rerender();
  });
  el.replaceChildren(...clockCard(el, ctx, dutchClock), info(ctx),
    h("div", { class: "clock-actions" }, button));
}

function board(el, ctx) {
  el.replaceChildren(...clockCard(el, ctx, dutchClock), info(ctx));
}

function host(el, ctx) {
  el.replaceChildren(...clockCard(el, ctx, dutchClock), info(ctx));
}

function template() {
  return {
    direction: "forward", start_price: "1000000.00", step: "10000.00", tick_s: 10,
    floor: "800000.00", deposit: "50000.00",
  };
}

export default { room, board, host, template };
