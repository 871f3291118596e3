// The listing_timed format's part of the pages (see ../formats.js): listing, the confirm
// window, timed bidding with its countdown, the price cap (lottery declarations and the
// public draw, or the second quantity).

import { addStrings, codeText } from "../i18n.js";
import { duration, h } from "../ui.js";

addStrings({
  zh: {
    lt_phase: "阶段",
    lt_phase_listing: "挂牌期（自由报价）",
    lt_phase_confirm: "确认进入限时竞价",
    lt_phase_timed: "限时竞价",
    lt_phase_cap: "达到最高限价 · 摇号申报",
    lt_phase_secondary: "达到最高限价 · 竞报配建面积",
    lt_phase_ended: "已结束",
    lt_phase_window: "优先购买期（优先购买权人以最终价格应价）",
    lt_phase_ends: "本阶段剩余",
    lt_listing_ends: "挂牌截止",
    lt_listed: "挂牌期有效报价人数",
    lt_confirmed: "已确认进入限时竞价",
    lt_cap: "最高限价",
    lt_cap_rule_none: "先达到者得",
    lt_cap_rule_lottery: "摇号",
    lt_cap_rule_secondary: "竞报配建",
    lt_cap_by: "达到最高限价的竞买号",
    lt_candidates: "摇号候选人数",
    lt_seed_hash: "摇号种子哈希（开始时公布）",
    lt_seed: "摇号种子",
    lt_draw_candidates: "候选竞买号（排序）",
    lt_draw_index: "序号 = sha256(种子+标的编号) mod 人数",
    lt_draw_winner: "摇中竞买号",
    lt_confirm: "确认参加限时竞价",
    lt_confirmed_you: "您已确认参加限时竞价",
    lt_entered_auto_you: "您在挂牌期有有效报价，已自动进入限时竞价",
    lt_confirm_auto: "挂牌期有报价者自动进入限时竞价",
    lt_not_confirmed_you: "您未确认参加限时竞价，不能报价",
    lt_accept_cap: "接受最高限价，参加摇号",
    lt_declared_you: "您已参加摇号",
    lt_secondary_best: "当前最高配建数量",
    lt_secondary_bid: "报配建数量",
    lt_secondary_next: "最低可报",
    lt_sent: "已提交",
    lt_confirmations: "确认名单",
    lt_declarations: "申报摇号名单",
  },
  en: {
    lt_phase: "Phase",
    lt_phase_listing: "Listing (free bidding)",
    lt_phase_confirm: "Confirm to enter timed bidding",
    lt_phase_timed: "Timed bidding",
    lt_phase_cap: "Cap reached · lottery declarations",
    lt_phase_secondary: "Cap reached · bidding on the second quantity",
    lt_phase_ended: "Ended",
    lt_phase_window: "Pre-emptive rights: holders may match the final price",
    lt_phase_ends: "Phase ends in",
    lt_listing_ends: "Listing ends",
    lt_listed: "Bidders with a listing bid",
    lt_confirmed: "Confirmed for timed bidding",
    lt_cap: "Price cap",
    lt_cap_rule_none: "first to reach it wins",
    lt_cap_rule_lottery: "lottery",
    lt_cap_rule_secondary: "second quantity",
    lt_cap_by: "Reached the cap",
    lt_candidates: "Lottery candidates",
    lt_seed_hash: "Draw seed hash (published at opening)",
    lt_seed: "Draw seed",
    lt_draw_candidates: "Candidates (sorted)",
    lt_draw_index: "Index = sha256(seed + lot id) mod n",
    lt_draw_winner: "Drawn bidder",
    lt_confirm: "Confirm for timed bidding",
    lt_confirmed_you: "You confirmed for timed bidding",
    lt_entered_auto_you: "Your listing bid entered you into timed bidding",
    lt_confirm_auto: "Bidders with a listing bid enter timed bidding automatically",
    lt_not_confirmed_you: "You did not confirm: you cannot bid",
    lt_accept_cap: "Accept the cap price and enter the lottery",
    lt_declared_you: "You are in the lottery",
    lt_secondary_best: "Best quantity",
    lt_secondary_bid: "Bid quantity",
    lt_secondary_next: "Least acceptable",
    lt_sent: "Sent",
    lt_confirmations: "Confirmed",
    lt_declarations: "Declared for the lottery",
  },
});

// Every phase clock on the page, redrawn a few times a second.
const clocks = new Set();
setInterval(() => {
  for (const c of clocks) {
    if (!c.el.isConnected) clocks.delete(c);
    else c.el.textContent = phaseLeft(c.state, c.now());
  }
}, 250);

function phaseLeft(state, now) {
  const ends = state.play?.phase_ends_at ?? state.closes_at;
  if (!Number.isFinite(ends) || state.play?.phase === "ended") return "00:00";
  const at = state.status === "paused" && Number.isFinite(state.paused_at) ? state.paused_at : now;
  return duration(ends - at);
}

function row(label, value, attrs = {}) {
  return h("div", { class: "lt-row", ...attrs }, h("span", { class: "lt-label" }, label), " ",
    h("strong", {}, value ?? "—"));
}

function header(ctx) {
  const { state, t } = ctx;
  const play = state.play ?? {};
  const phase = play.phase ?? "listing";
  const clock = h("strong", { id: "lt-clock", class: "lt-clock" }, phaseLeft(state, ctx.serverNow()));
  clocks.add({ el: clock, state, now: ctx.serverNow });
  const cap = play.cap
    ? `${ctx.money(play.cap, state.params?.currency)} (${t(`lt_cap_rule_${play.cap_rule}`)})`
    : null;
  return [
    h("h2", { id: "lt-phase", dataset: { phase } }, `${t("lt_phase")}: ${t(`lt_phase_${phase}`)}`),
    phase === "ended" ? null
      : h("div", { class: "lt-row" }, h("span", { class: "lt-label" }, t("lt_phase_ends")), " ", clock),
    cap ? row(t("lt_cap"), cap, { id: "lt-cap" }) : null,
    play.cap_reached ? row(t("lt_cap_by"), play.cap_by_no) : null,
    row(t("lt_listed"), String(play.listed ?? 0)),
    state.params?.options?.confirm === "auto"
      ? h("p", { id: "lt-confirm-auto", class: "note" }, t("lt_confirm_auto"))
      : row(t("lt_confirmed"), String(play.confirmed ?? 0), { id: "lt-confirmed" }),
  ].filter(Boolean); // replaceChildren would print a null as "null"
}

function lottery(ctx) {
  const { state, t } = ctx;
  const play = state.play ?? {};
  if (play.cap_rule !== "lottery") return [];
  const out = [row(t("lt_seed_hash"), play.seed_hash, { class: "lt-row lt-hash" })];
  if (play.cap_reached) out.push(row(t("lt_candidates"), String(play.candidates)));
  const d = play.draw;
  if (d) {
    out.push(h("div", { id: "lt-draw", dataset: { winner: d.winner_no } },
      row(t("lt_seed"), d.seed, { class: "lt-row lt-hash" }),
      row(t("lt_draw_candidates"), d.candidates.join(", ")),
      row(t("lt_draw_index"), String(d.index)),
      row(t("lt_draw_winner"), d.winner_no)));
  }
  return out;
}

function secondary(ctx) {
  const { state, t } = ctx;
  const sec = state.play?.secondary;
  if (!sec || !state.play.cap_reached) return [];
  return [row(t("lt_secondary_best"), sec.best ? `${sec.best} ${sec.unit} (${sec.leader_no})` : null,
    { id: "lt-secondary-best" })];
}

function button(id, text, onclick) {
  return h("button", { id, type: "button", class: "primary", onclick }, text);
}

// The outcome of the last action sent from the room, and the quantity being typed (both
// kept across redraws).
let lastReply = null;
let typedQuantity = "";

/** Send an action; show the outcome in #lt-msg and redraw. */
/** 32 random bytes as hex: a declaration's contribution to the draw (auction/draw.py),
 * so that the operator, who committed to its seed before, cannot steer the draw alone. */
function contribution() {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0")).join("");
}

async function send(ctx, act, amount) {
  const extra = act === "accept_cap" ? { salt: contribution() } : {};
  const reply = await ctx.conn.act(act, amount, undefined, extra);
  lastReply = {
    result: reply.type,
    text: reply.type === "ack"
      ? ctx.t("lt_sent")
      : codeText(reply.code, reply.message),
  };
  ctx.rerender?.();
}

function room(el, ctx) {
  const { state, t } = ctx;
  const play = state.play ?? {};
  const you = play.you ?? {};
  const open = state.status === "open";
  // The english bid form serves listing and timed bidding, for those who may bid then.
  const bidCard = document.getElementById("bid-card");
  if (bidCard) bidCard.hidden = !(open && you.may_bid);
  const parts = [...header(ctx)];
  if (play.phase === "confirm" && you.may_confirm && open) {
    parts.push(button("lt-confirm", t("lt_confirm"), () => send(ctx, "confirm")));
  }
  // confirm: auto: a listing bid is the entry, nobody confirms.
  const auto = state.params?.options?.confirm === "auto";
  if (you.confirmed) {
    parts.push(h("p", { id: "lt-you-confirmed", class: "note" },
      t(auto ? "lt_entered_auto_you" : "lt_confirmed_you")));
  }
  else if (play.phase === "timed" && you.listed) parts.push(h("p", { class: "note" }, t("lt_not_confirmed_you")));
  if (play.phase === "cap" && open && you.in_cap && !you.declared) {
    parts.push(button("lt-accept-cap", t("lt_accept_cap"), () => send(ctx, "accept_cap")));
  }
  if (play.cap_reached && you.declared && play.cap_rule === "lottery") {
    parts.push(h("p", { id: "lt-you-declared", class: "note" }, t("lt_declared_you")));
  }
  parts.push(...secondary(ctx));
  const sec = play.secondary;
  if (play.phase === "secondary" && open && you.in_cap && sec) {
    // What the bidder typed survives the redraws of each update.
    const input = h("input", {
      id: "lt-secondary-amount", inputmode: "decimal", value: typedQuantity || (sec.next_min ?? ""),
      oninput: (e) => { typedQuantity = e.target.value; },
    });
    parts.push(h("form", {
      id: "lt-secondary-form", class: "lt-form",
      onsubmit: (e) => {
        e.preventDefault();
        const amount = input.value.trim();
        typedQuantity = "";
        send(ctx, "secondary", amount);
      },
    }, h("label", {}, `${t("lt_secondary_bid")} (${sec.unit}) `, input), " ",
    h("span", { class: "note" }, `${t("lt_secondary_next")}: ${sec.next_min ?? "—"}`), " ",
    h("button", { id: "lt-secondary-btn", type: "submit", class: "primary" }, t("lt_secondary_bid"))));
  }
  parts.push(...lottery(ctx));
  parts.push(h("p", {
    id: "lt-msg", class: "note", "aria-live": "polite", dataset: { result: lastReply?.result ?? "" },
  }, lastReply?.text ?? ""));
  el.replaceChildren(...parts);
}

function board(el, ctx) {
  el.replaceChildren(...header(ctx), ...secondary(ctx), ...lottery(ctx));
}

function host(el, ctx) {
  const { state, t } = ctx;
  const play = state.play ?? {};
  el.replaceChildren(...[...header(ctx), ...secondary(ctx), ...lottery(ctx),
    row(t("lt_confirmations"), (play.confirmed_nos ?? []).join(", ") || "—", { id: "lt-confirmed-nos" }),
    play.cap_rule === "lottery"
      ? row(t("lt_declarations"), (play.declared_nos ?? []).join(", ") || "—", { id: "lt-declared-nos" })
      : null,
  ].filter(Boolean));
}

function template() {
  const now = Date.now();
  return {
    start_price: "10000000.00", step: "100000.00", deposit: "2000000.00",
    listing_ends_at: now + 10 * 60_000, confirm_s: 300, countdown_s: 240,
    cap: "15000000.00", cap_rule: "lottery", cap_confirm_s: 300,
  };
}

export default { room, board, host, template };
