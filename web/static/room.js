// The bidder room: /room/{lot_id}#token=... (the token is then kept in sessionStorage).

import { LotConnection } from "./conn.js";
import { addStrings, initI18n, onLangChange, t } from "./i18n.js";
import { drawPlay } from "./formats.js";
import { drawLotInfo } from "./lotinfo.js";
import {
  currencySign, decimalsOf, formatAmount, normalizeInput, parseAmount, quickBid,
} from "./money.js";
import {
  $, ENDED, MessageBox, clock, drawCountdown, h, lotIdFromPath, money, resultText, showAmount,
  showConn, showStatus, takeToken,
} from "./ui.js";

const HISTORY_SHOWN = 100;

addStrings({
  zh: {
    proxy_max: "代理最高价", proxy_set: "设置代理出价", proxy_yours: "我的代理最高价（仅本人可见）",
    proxy_ok: "代理最高价已设为 {amount}：系统将按幅度逐次代为出价，直至该价",
  },
  en: {
    proxy_max: "Proxy maximum", proxy_set: "Set proxy maximum",
    proxy_yours: "Your proxy maximum (seen by you only)",
    proxy_ok: "Proxy maximum set to {amount}: the engine bids for you one step at a time up to it",
  },
});

const lotId = lotIdFromPath();
const token = lotId ? takeToken(`auction.token.${lotId}`) : null;
const messages = new MessageBox($("message"));

let state = null;
let youView = null; // the `you` frame's view (price visibility)
let myNo = null;
let extended = false;
let lastPrefill = null;
let bidding = false;
const ownBids = new Map(); // seq -> {seq, at, amount}
const history = []; // {seq, at, bidder_no, amount}, in sequence order

const conn = new LotConnection({
  lotId,
  token,
  afterSeq: 0,
  onConnState: (s) => showConn(s),
  onSubscribed: (frame) => {
    if (frame.bidder_no) myNo = frame.bidder_no;
    render();
  },
  onUpdate: (events, snapshot) => {
    for (const e of events) applyEvent(e);
    if (snapshot) {
      state = snapshot;
      takeYou(snapshot.you);
    }
    render();
  },
  onYou: (view) => {
    youView = view;
    takeYou(view);
    render();
  },
  onError: (frame) => {
    messages.show(frame);
    if (frame.code === "bad_token" && conn.token) {
      // Watch as the public does; bidding stays impossible until a valid link is used.
      conn.token = null;
      conn.resubscribe();
    }
  },
  onReset: () => {
    youView = null;
    history.length = 0;
    ownBids.clear();
    extended = false;
  },
});

function takeYou(view) {
  if (!view) return;
  if (view.bidder_no) myNo = view.bidder_no;
  for (const b of view.own_bids ?? []) ownBids.set(b.seq, b);
}

/** The bidder's own standing: inside the state under rank/blind, else the `you` frame. */
function you() {
  return state && "you" in state ? state.you : youView;
}

function applyEvent(e) {
  if (e.type === "BidAccepted" && e.amount !== undefined) {
    history.push({ seq: e.seq, at: e.at, bidder_no: e.bidder_no, amount: e.amount });
    if (myNo && e.bidder_no === myNo) ownBids.set(e.seq, { seq: e.seq, at: e.at, amount: e.amount });
  } else if (e.type === "CloseExtended") {
    extended = true;
  }
}

function params() {
  return state?.params ?? null;
}

function decimals() {
  const p = params();
  return p ? decimalsOf(p.currency, p.start_price) : 2;
}

function nextMin() {
  if (state?.status !== "open") return null;
  return state.next_min ?? you()?.next_min ?? null;
}

/** The price a bid must improve on, as the server reckons it (english.reference). */
function reference() {
  const p = params();
  if (!p) return null;
  return p.improve === "own" ? you()?.last_bid ?? null : state.best;
}

function render() {
  const p = params();
  const reverse = p?.direction === "reverse";
  const me = you();
  const ended = Boolean(state && ENDED.has(state.status));
  // Under price visibility the shared state is fresher than the last `you` frame.
  const leading = p?.visibility === "price" && myNo && state?.leader_no
    ? state.leader_no === myNo : me?.leading;

  $("lot-title").textContent = state?.title ?? lotId ?? "—";
  showStatus($("status"), state?.status);
  $("extended").hidden = !extended || !state || ENDED.has(state.status);

  $("best-label").textContent = t(reverse ? "best_reverse" : "best_forward");
  $("currency").textContent = currencySign(p?.currency ?? "CNY");
  const hidden = p && p.visibility !== "price" && !ENDED.has(state.status);
  showAmount($("best"), state?.best, hidden ? t("best_hidden") : "—");
  $("leader").textContent = state?.leader_no ?? "—";
  $("leader-you").textContent = myNo && state?.leader_no === myNo ? t("you") : "";
  $("bid-count").textContent = String(state?.bid_count ?? 0);
  $("closes-at").textContent = Number.isFinite(state?.closes_at) && !ENDED.has(state.status)
    ? t("closes_at", { time: clock(state.closes_at) }) : "";

  $("my-no").textContent = myNo ?? "—";
  $("my-rank").textContent = Number.isInteger(me?.rank) ? t("rank_n", { n: me.rank }) : "—";
  const badge = $("leading-badge");
  badge.textContent = leading === true ? t("leading")
    : leading === false && me?.last_bid ? t("not_leading") : "";
  badge.dataset.leading = String(leading === true);
  const eligibility = $("eligibility");
  eligibility.textContent = !me ? "" : me.eligible === false ? t("not_eligible_note")
    : me.eligible ? t("eligible_note") : "";
  eligibility.dataset.eligible = String(me?.eligible ?? "");

  const result = resultText(state);
  $("result-card").hidden = !result;
  $("result").textContent = result;
  $("result-you").textContent = yourResult();

  const min = nextMin();
  $("next-min-label").textContent = t(reverse ? "next_min_reverse" : "next_min_forward");
  const nextMinEl = $("next-min");
  nextMinEl.textContent = min ? money(min, p?.currency) : "—";
  nextMinEl.dataset.amount = min ?? "";
  const input = $("amount");
  if (ended) {
    input.value = "";
    lastPrefill = null;
  } else if (min && (input.value === "" || input.value === lastPrefill) && input.value !== min) {
    input.value = min;
    lastPrefill = min;
  }
  input.disabled = ended;
  $("bid-card").hidden = ended;
  $("bid-btn").textContent = bidding ? t("bidding") : t(reverse ? "bid_reverse" : "bid");
  $("bid-btn").disabled = bidding || ended;
  for (const n of [1, 2]) {
    $(`step-${n}`).textContent = t(reverse ? "minus_steps" : "plus_steps", { n });
    $(`step-${n}`).disabled = !p || ended;
  }

  drawProxy(p, me, ended);
  drawOwnBids();
  drawHistory();
  drawLotInfo($("lot-info"), state);
  drawCountdown(state, conn.serverNow());
  drawPlay("room", $("play"), {
    state, you: me, conn, messages, t, money, serverNow: () => conn.serverNow(), rerender: render,
  });
}

/** The proxy maximum form: forward english lots with proxy bidding, for a bidder. */
function drawProxy(p, me, ended) {
  const shown = Boolean(p?.proxy && state?.format === "english" && p.direction === "forward" && me);
  $("proxy-form").hidden = !shown || ended;
  const current = $("proxy-current");
  current.textContent = me?.proxy_max ? money(me.proxy_max, p?.currency) : "—";
  current.dataset.amount = me?.proxy_max ?? "";
  $("proxy-btn").disabled = bidding || ended;
}

async function submitProxy(event) {
  event.preventDefault();
  if (bidding) return;
  const input = $("proxy-amount");
  const minor = parseAmount(normalizeInput(input.value), decimals());
  if (minor === null) {
    messages.show({ code: "invalid_amount" });
    return;
  }
  const amount = formatAmount(minor, decimals());
  bidding = true;
  messages.clear();
  render();
  const answer = await conn.act("proxy", amount);
  bidding = false;
  if (answer.type === "ack") {
    if (youView) youView = { ...youView, proxy_max: amount };
    if (state?.you) state.you = { ...state.you, proxy_max: amount };
    messages.show({ key: "proxy_ok", vars: { amount: money(amount, params()?.currency) } }, "ok");
    input.value = "";
  } else {
    messages.show({ code: answer.code, message: answer.message, detail: answer.detail });
  }
  render();
}

function yourResult() {
  const o = state?.outcome;
  if (!myNo || !o || o.status !== "awarded") return "";
  if (o.bidder_no === myNo) return t("result_you_won");
  return ownBids.size ? t("result_you_lost") : "";
}

function bidItem(b, mine) {
  const cur = params()?.currency;
  return h("li", { class: mine ? "mine" : null, dataset: { seq: b.seq, amount: b.amount } },
    h("span", { class: "time" }, clock(b.at)),
    b.bidder_no ? h("span", { class: "no" }, b.bidder_no) : null,
    h("span", { class: "amt" }, money(b.amount, cur)));
}

function drawOwnBids() {
  const list = [...ownBids.values()].sort((a, b) => b.seq - a.seq);
  $("own-bids").replaceChildren(...(list.length
    ? list.map((b) => bidItem(b, false))
    : [h("li", { class: "empty" }, t("no_own_bids"))]));
}

function drawHistory() {
  const shown = history.slice(-HISTORY_SHOWN).reverse();
  const hidden = params() && params().visibility !== "price" && !ENDED.has(state.status);
  $("history").replaceChildren(...(shown.length
    ? shown.map((b) => bidItem(b, myNo && b.bidder_no === myNo))
    : [h("li", { class: "empty" }, t(hidden && state.bid_count ? "bids_hidden" : "no_bids"))]));
}

async function submitBid(event) {
  event.preventDefault();
  if (bidding) return;
  const input = $("amount");
  const minor = parseAmount(normalizeInput(input.value), decimals());
  if (minor === null) {
    messages.show({ code: "invalid_amount" });
    return;
  }
  const amount = formatAmount(minor, decimals()); // "1280000" -> "1280000.00"
  input.value = amount;
  bidding = true;
  messages.clear();
  render();
  const answer = await conn.bid(amount);
  bidding = false;
  if (answer.type === "ack") {
    if (!ownBids.has(answer.seq)) {
      ownBids.set(answer.seq, { seq: answer.seq, at: answer.at, amount: answer.amount ?? amount });
    }
    messages.show({ key: "bid_ok", vars: { amount: money(answer.amount ?? amount, params()?.currency) } },
      "ok");
    input.value = "";
    lastPrefill = null;
  } else {
    messages.show({ code: answer.code, message: answer.message, detail: answer.detail });
  }
  render();
}

function quick(n) {
  const p = params();
  if (!p) return;
  const min = nextMin();
  let value;
  if (min || reference() || !you()) {
    value = quickBid(p, min, reference(), n);
  } else {
    // Price hidden from this bidder: move its own typed amount (or the start) by n steps.
    const typed = normalizeInput($("amount").value);
    const base = parseAmount(typed, decimals()) !== null ? typed : null;
    value = quickBid(p, null, base, n);
  }
  if (value) {
    $("amount").value = value;
    lastPrefill = null;
  }
}

function main() {
  initI18n();
  onLangChange(() => {
    render();
    messages.draw();
    showConn(conn.connState);
  });
  showConn("connecting");
  if (!lotId) return;
  if (!token) messages.show({ key: "no_token" }, "info");
  $("bid-form").addEventListener("submit", submitBid);
  $("proxy-form").addEventListener("submit", submitProxy);
  for (const n of [1, 2]) $(`step-${n}`).addEventListener("click", () => quick(n));
  conn.start();
  render();
  setInterval(() => drawCountdown(state, conn.serverNow()), 200);
}

main();
