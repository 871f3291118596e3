// The multi_round format's part of the pages (see ../formats.js): the round, whose turn it
// is with its countdown, and the table of bidder numbers with price, coefficient and
// adjusted price side by side. In the room the bid form is enabled only while the bidder
// may bid: its initial (sealed) bid during the pre-bid phase, then in its own turns. Under
// sealing "bidder" the initial bid is a commitment made in the room and revealed in the
// reveal window after the first pause (./sealing.js, shared with the sealed format).

import { addStrings } from "../i18n.js";
import { decimalsOf } from "../money.js";
import { duration, h } from "../ui.js";
import { revealKept, sealingParts } from "./sealing.js";

addStrings({
  zh: {
    mr_phase_prebid: "首次报价（密封）",
    mr_phase_reveal: "首次报价解密",
    mr_by_bidder: "首次报价由竞买人自行密封：金额只保存在您的浏览器和报价文件中，首轮前须在解密时段内解密，未解密的报价无效，不能参加轮次报价。",
    mr_committed: "已密封递交首次报价：{n} 家",
    mr_revealed: "已解密：{n} / {of}",
    mr_voided: "作废（未解密）：{nos}",
    mr_sealed_bid: "我的首次报价",
    mr_phase_pause: "轮间暂停",
    mr_phase_turn: "轮流报价",
    mr_phase_done: "已结束",
    mr_phase_none: "未开始",
    mr_round: "第 {round} / {rounds} 轮",
    mr_turn_of: "当前报价：竞买号 {no}",
    mr_your_turn: "轮到您报价",
    mr_phase_ends: "本阶段剩余",
    mr_turn_ends: "本轮次剩余",
    mr_entrants: "已递交首次报价：{n} 家",
    mr_prices_hidden: "首次报价在第 1 轮开始时公布",
    mr_no: "竞买号",
    mr_price: "报价",
    mr_coefficient: "系数",
    mr_adjusted: "折算价",
    mr_rank: "排名",
    mr_order: "报价顺序",
    mr_you: "（您）",
    mr_your_price: "您的报价",
    mr_your_pending: "您本轮的报价在轮次结束时公布",
    mr_max_bid: "本轮最高可报",
    mr_wait_turn: "请等待您的报价轮次",
    mr_no_entry: "您未递交首次报价，不能参加轮次报价",
    mr_entered: "已递交首次报价",
    mr_rules: "{rounds} 轮，每次 {turn} 秒，轮间暂停 {pause} 秒；按 价格 ÷ (1 + 系数) 比较，低者胜",
  },
  en: {
    mr_phase_prebid: "Initial bids (sealed)",
    mr_phase_reveal: "Initial bids revealed",
    mr_by_bidder: "Initial bids are sealed by the bidder: your price stays in your browser and your bid file; reveal it in the reveal window before round 1, or it is void and you take no turns.",
    mr_committed: "Sealed initial bids in: {n}",
    mr_revealed: "Revealed: {n} of {of}",
    mr_voided: "Void (not revealed): {nos}",
    mr_sealed_bid: "Your initial bid",
    mr_phase_pause: "Pause between rounds",
    mr_phase_turn: "Turns",
    mr_phase_done: "Ended",
    mr_phase_none: "Not started",
    mr_round: "Round {round} of {rounds}",
    mr_turn_of: "Turn of bidder No. {no}",
    mr_your_turn: "Your turn",
    mr_phase_ends: "Phase ends in",
    mr_turn_ends: "Turn ends in",
    mr_entrants: "Initial bids in: {n}",
    mr_prices_hidden: "Initial bids are revealed when round 1 starts",
    mr_no: "Bidder No.",
    mr_price: "Price",
    mr_coefficient: "Coefficient",
    mr_adjusted: "Adjusted price",
    mr_rank: "Rank",
    mr_order: "Turn order",
    mr_you: " (you)",
    mr_your_price: "Your price",
    mr_your_pending: "Your bid in this turn is revealed when the turn ends",
    mr_max_bid: "Highest bid allowed now",
    mr_wait_turn: "Wait for your turn",
    mr_no_entry: "You made no initial bid: you take no turns",
    mr_entered: "Initial bid made",
    mr_rules: "{rounds} rounds, {turn} s per turn, {pause} s between rounds; compared as price ÷ (1 + coefficient), lowest wins",
  },
});

// One timer for every countdown the module draws (elements with data-mr-ends).
let timer = null;
let serverNow = () => Date.now();

function tickCountdowns() {
  for (const el of document.querySelectorAll("[data-mr-ends]")) {
    const ends = Number(el.dataset.mrEnds);
    const paused = Number(el.dataset.mrPaused);
    const at = Number.isFinite(paused) && paused > 0 ? paused : serverNow();
    el.textContent = duration(ends - at);
  }
}

function startTimer(ctx) {
  serverNow = ctx.serverNow;
  if (timer === null) timer = setInterval(tickCountdowns, 250);
}

function phaseName(ctx, play) {
  return ctx.t(`mr_phase_${play?.phase ?? "none"}`);
}

function header(ctx, play) {
  const state = ctx.state;
  const parts = [
    h("span", { class: "tag mr-phase", dataset: { phase: play?.phase ?? "none" } }, phaseName(ctx, play)),
  ];
  if (play?.round) {
    parts.push(" ", h("strong", { class: "mr-round" }, ctx.t("mr_round", { round: play.round, rounds: play.rounds })));
  }
  const rows = [h("div", { class: "mr-head" }, ...parts)];
  if (play?.phase === "turn" && play.turn_no) {
    const mine = ctx.you?.bidder_no && ctx.you.bidder_no === play.turn_no;
    rows.push(h("div", { class: mine ? "mr-turn mr-mine" : "mr-turn", dataset: { turnNo: play.turn_no } },
      mine ? ctx.t("mr_your_turn") : ctx.t("mr_turn_of", { no: play.turn_no })));
  }
  if (play?.ends_at && (state.status === "open" || state.status === "paused")) {
    const label = play.phase === "turn" ? "mr_turn_ends" : "mr_phase_ends";
    rows.push(h("div", { class: "mr-countdown" }, ctx.t(label), " ",
      h("strong", {
        class: "countdown", dataset: { mrEnds: play.ends_at, mrPaused: state.paused_at ?? "" },
      }, duration(play.ends_at - (state.paused_at ?? ctx.serverNow())))));
  }
  const byBidder = play?.sealing === "bidder";
  if (play?.phase === "prebid") {
    rows.push(h("div", { class: "sub" }, byBidder ? ctx.t("mr_committed", { n: play.committed })
      : ctx.t("mr_entrants", { n: play.entrants }), " · ", ctx.t("mr_prices_hidden")));
  }
  if (play?.phase === "reveal") {
    rows.push(h("div", { class: "sub", id: "mr-revealed-count" },
      ctx.t("mr_revealed", { n: play.revealed_count, of: play.committed })));
  }
  if (byBidder && play?.voided?.length) {
    rows.push(h("div", { class: "sub", id: "mr-voided" }, ctx.t("mr_voided", { nos: play.voided.join(", ") })));
  }
  if (play?.order?.length && play.phase !== "prebid") {
    rows.push(h("div", { class: "sub mr-order" }, ctx.t("mr_order"), ": ",
      ...play.order.map((no, i) => h("span", {
        class: no === play.turn_no && play.phase === "turn" ? "no current" : "no",
      }, (i ? " → " : "") + no))));
  }
  return rows;
}

function table(ctx, play) {
  const currency = ctx.state.params?.currency;
  const rows = play?.table ?? [];
  if (!rows.length) return null;
  return h("table", { class: "mr-table" },
    h("thead", {}, h("tr", {},
      h("th", {}, ctx.t("mr_rank")), h("th", {}, ctx.t("mr_no")), h("th", {}, ctx.t("mr_price")),
      h("th", {}, ctx.t("mr_coefficient")), h("th", {}, ctx.t("mr_adjusted")))),
    h("tbody", {}, ...rows.map((r) => h("tr", {
      class: [r.you ? "mine" : "", r.bidder_no === play.turn_no && play.phase === "turn" ? "current" : ""]
        .join(" ").trim() || null,
      dataset: { no: r.bidder_no },
    },
    h("td", {}, String(r.rank)),
    h("td", {}, r.bidder_no, r.you ? ctx.t("mr_you") : ""),
    h("td", { class: "amt" }, ctx.money(r.price, currency)),
    h("td", {}, r.coefficient),
    h("td", { class: "amt" }, ctx.money(r.adjusted, currency))))));
}

function rules(ctx) {
  const o = ctx.state.params?.options;
  if (!o) return null;
  return h("div", { class: "sub mr-rules" },
    ctx.t("mr_rules", { rounds: o.rounds, turn: o.turn_s, pause: o.pause_s }));
}

function draw(el, ctx, extra = []) {
  const play = ctx.state?.play;
  startTimer(ctx);
  el.replaceChildren(h("div", { class: "mr" }, ...header(ctx, play), ...extra, table(ctx, play), rules(ctx)));
}

/** Whether the bidder may bid now, and what it is told. */
function standing(ctx) {
  const play = ctx.state?.play;
  const mine = play?.you;
  const open = ctx.state?.status === "open";
  if (!open || !play || !mine) return { allowed: false, note: null };
  if (play.phase === "prebid" || play.phase === "reveal") {
    return mine.entered || play.sealing === "bidder"
      ? { allowed: false, note: ctx.t("mr_entered") }
      : { allowed: true, note: null };
  }
  if (!mine.entered) return { allowed: false, note: ctx.t("mr_no_entry") };
  if (mine.in_turn) return { allowed: true, note: null };
  return { allowed: false, note: ctx.t("mr_wait_turn") };
}

/** The room while a bidder-sealed lot takes its initial bids: the commitment in the first
 * pause, the reveal in the window (the shared bid form is hidden). */
function roomByBidder(el, ctx) {
  const { state, t } = ctx;
  const play = state.play ?? {};
  const bidCard = document.getElementById("bid-card");
  if (bidCard) bidCard.hidden = true;
  // (`you.revealed` is the price everybody knows; the reveal of the sealed initial bid is
  // `you.initial_revealed`)
  const mine = play.you ? { ...play.you, revealed: play.you.initial_revealed } : null;
  const { mineText, parts } = sealingParts(el, ctx, {
    mine, decimals: decimalsOf(state.params?.currency, "0.00"), voided: play.voided,
    submitKey: "sealed_submit",
  });
  const line = h("dl", { class: "info sealed-mine" },
    h("dt", {}, t("mr_sealed_bid")),
    h("dd", { id: "sealed-mine", class: "amount", dataset: { revealed: String(Boolean(mine?.revealed)) } }, mineText));
  startTimer(ctx);
  el.replaceChildren(h("div", { class: "mr" }, ...header(ctx, play),
    h("p", { class: "sub" }, t("mr_by_bidder")), line, ...parts, rules(ctx)));
  revealKept(ctx, mine);
}

function room(el, ctx) {
  const sealing = ctx.state?.play;
  const open = ctx.state?.status === "open" || ctx.state?.status === "paused";
  if (sealing?.sealing === "bidder" && open && ["prebid", "reveal"].includes(sealing.phase)) {
    roomByBidder(el, ctx);
    return;
  }
  const play = ctx.state?.play;
  const mine = play?.you;
  const currency = ctx.state?.params?.currency;
  const extra = [];
  if (mine?.entered) {
    extra.push(h("div", { class: "mr-you" }, ctx.t("mr_your_price"), ": ",
      h("strong", { class: "amt" }, ctx.money(mine.price, currency)),
      mine.coefficient !== "0" ? ` · ${ctx.t("mr_coefficient")} ${mine.coefficient} · ${ctx.t("mr_adjusted")} ${ctx.money(mine.adjusted, currency)}` : ""));
    if (mine.revealed && mine.price !== mine.revealed) {
      extra.push(h("div", { class: "sub" }, ctx.t("mr_your_pending")));
    }
  }
  if (mine?.in_turn && mine.max_bid) {
    extra.push(h("div", { class: "mr-max" }, ctx.t("mr_max_bid"), ": ",
      h("strong", { class: "amt" }, ctx.money(mine.max_bid, currency))));
  }
  const { allowed, note } = standing(ctx);
  if (note) extra.push(h("div", { class: "sub mr-note" }, note));
  draw(el, ctx, extra);
  // The shared bid form serves both the initial bid and the turn bids: enabled only when
  // this bidder may bid; there are no "+n steps" buttons in this format.
  const form = document.getElementById("bid-card");
  if (form) {
    const ended = ["closed", "awarded", "failed", "cancelled"].includes(ctx.state?.status);
    form.hidden = ended;
    for (const id of ["amount", "bid-btn"]) {
      const input = document.getElementById(id);
      if (input && !allowed) input.disabled = true;
    }
    for (const id of ["step-1", "step-2"]) {
      const button = document.getElementById(id);
      if (button) button.hidden = true;
    }
    form.dataset.mrAllowed = allowed ? "yes" : "no";
  }
}

function board(el, ctx) {
  draw(el, ctx);
}

function host(el, ctx) {
  draw(el, ctx);
}

function template() {
  return {
    step: "1000.00",
    ceiling: "1000000.00",
    deposit: "10000.00",
    rounds: 3,
    turn_s: 120,
    first_pause_s: 300,
    pause_s: 120,
    coefficients: {},
  };
}

export default { room, board, host, template };
