// The bidder room: /room/{lot_id}#token=... (the token is then kept in sessionStorage).

import { startAfter } from "./after.js";
import { LotConnection } from "./conn.js";
import { addStrings, initI18n, onLangChange, t } from "./i18n.js";
import { mountDeposit } from "./deposit.js";
import { drawPlay } from "./formats.js";
import { drawLotInfo, drawLotNotice, drawPreemptNote } from "./lotinfo.js";
import { BidderKey, canSign, keepReceipt, receipts, receiptsFile } from "./signing.js";
import {
  capitalAmount, currencySign, decimalsOf, formatAmount, inWan, normalizeInput, parseAmount,
  quickBid, stepsOver,
} from "./money.js";
import {
  $, ENDED, MessageBox, api, clock, countdown, dateTime, drawCountdown, drawUnits, h, lotIdFromPath, money,
  resultText, showAmount, showConn, showStatus, takeToken,
} from "./ui.js";

const HISTORY_SHOWN = 100;
// A bid more steps than this beyond the least acceptable one asks twice.
const WARN_STEPS = 5;
// In the last minutes the connection is watched closely (a faster heartbeat).
const URGENT_WINDOW_MS = 5 * 60_000;
const NOTICES_SHOWN = 6;
// Countdown milestones read out by screen readers (ms left).
const MILESTONES = [300_000, 60_000, 30_000, 10_000];

addStrings({
  zh: {
    signing_on: "数字签名：已启用（签名密钥仅存于本设备，不可导出）· 回执 {n} 份",
    signing_enrolling: "数字签名：正在登记本设备的签名公钥…",
    signing_failed: "数字签名：无法登记签名公钥（{code}），请联系主持人",
    signing_unavailable: "数字签名：本浏览器无法签名（需 HTTPS 安全连接）",
    receipts_download: "下载回执",
    proxy_max: "代理最高价", proxy_set: "设置代理出价", proxy_yours: "我的代理最高价（仅本人可见）",
    proxy_ok: "代理最高价已设为 {amount}：系统将按幅度逐次代为出价，直至该价",
    confirm_title: "请确认报价", confirm_title_reverse: "请确认报价（反向竞价，价低者得）",
    confirm_figures: "报价金额", confirm_capital: "大写", confirm_wan: "折合",
    confirm_steps: "幅度", confirm_cancel: "返回修改", confirm_ok: "确认出价",
    confirm_ok_reverse: "确认报价", wan_amount: "{wan} 万元",
    confirm_steps_n: "最低可出价之上第 {n} 个幅度", confirm_steps_reverse_n: "最高可报价之下第 {n} 个幅度",
    confirm_warning: "注意：本次报价比最低可出价高 {n} 个幅度，请仔细核对金额。",
    confirm_required_warning: "本次报价超出最低可出价较多，按本标的规则须再次确认。",
    confirm_warning_reverse: "注意：本次报价比最高可报价低 {n} 个幅度，请仔细核对金额。",
    steps_n: "幅度数",
    net_lost: "网络连接已中断（{time}）：价格和倒计时已停止更新，暂不能出价，正在重新连接…",
    net_back: "连接已恢复（{time}），价格和倒计时已更新。",
    notice_outbid: "您的报价已被超越，当前最高价 {amount}",
    notice_outbid_reverse: "您的报价已被超越，当前最低价 {amount}",
    notice_outbid_hidden: "您已不再领先",
    notice_extended: "竞价延时至 {time}",
    notice_paused: "竞价已暂停：{reason}", notice_paused_plain: "竞价已暂停",
    notice_announced: "主持人公告：{text}",
    notice_answered: "主持人答复（{question}）：{text}",
    ask_title: "向主持人提问或提出异议", ask_question: "提问", ask_objection: "异议",
    ask_placeholder: "仅主持人与监督人员可见，其他竞买人看不到", ask_send: "发送",
    ask_sent: "已发送，等待主持人答复", ask_waiting: "等待答复", ask_answer: "答复：{text}",
    notice_resumed: "竞价已恢复，截止时间 {time}",
    notice_ended: "竞价已结束",
    leader_note: "您已是当前最高报价者，无需再次出价",
    leader_note_reverse: "您已是当前最低报价者，无需再次出价",
    result_link: "查看成交结果公告",
    countdown_say: "剩余 {left}",
    title_outbid: "【已被超越】",
    match_price: "优先购买权：以同等价格购买",
    match_price_n: "优先购买权：以同等价格 {amount} 购买",
    preempt_holder: "您是本标的优先购买权人（第 {n} 顺位）",
    match_ok: "已以同等价格 {amount} 行使优先购买权",
    notice_below_cut_off: "您的报价已低于分配线（最低中标价 {amount}），当前未持有单位",
  },
  en: {
    signing_on: "Signatures: on (the signing key stays on this device and cannot be exported) · {n} receipts",
    signing_enrolling: "Signatures: enrolling this device's public key…",
    signing_failed: "Signatures: the public key could not be enrolled ({code}); ask the host",
    signing_unavailable: "Signatures: this browser cannot sign (a secure https connection is needed)",
    receipts_download: "Download receipts",
    proxy_max: "Proxy maximum", proxy_set: "Set proxy maximum",
    proxy_yours: "Your proxy maximum (seen by you only)",
    proxy_ok: "Proxy maximum set to {amount}: the engine bids for you one step at a time up to it",
    confirm_title: "Confirm your bid", confirm_title_reverse: "Confirm your offer (reverse: lowest wins)",
    confirm_figures: "Amount", confirm_capital: "In Chinese capitals", confirm_wan: "In 10,000s",
    confirm_steps: "Steps", confirm_cancel: "Go back", confirm_ok: "Confirm bid",
    confirm_ok_reverse: "Confirm offer", wan_amount: "{wan} × 10,000",
    confirm_steps_n: "step {n} above the minimum bid", confirm_steps_reverse_n: "step {n} below the highest offer allowed",
    confirm_warning: "Careful: this bid is {n} steps above the minimum. Check the amount.",
    confirm_required_warning: "This bid is far above the minimum: the lot's rules ask you to confirm it again.",
    confirm_warning_reverse: "Careful: this offer is {n} steps below the highest allowed. Check the amount.",
    steps_n: "Steps",
    net_lost: "Connection lost ({time}): price and countdown are not updating and bidding is disabled; reconnecting…",
    net_back: "Connection restored ({time}); price and countdown are up to date.",
    notice_outbid: "You have been outbid: the best bid is now {amount}",
    notice_outbid_reverse: "You have been outbid: the lowest offer is now {amount}",
    notice_outbid_hidden: "You are no longer leading",
    notice_extended: "Closing extended to {time}",
    notice_paused: "Bidding paused: {reason}", notice_paused_plain: "Bidding paused",
    notice_announced: "Host's announcement: {text}",
    notice_answered: "Host's answer ({question}): {text}",
    ask_title: "Ask the host, or object", ask_question: "Question", ask_objection: "Objection",
    ask_placeholder: "Seen by the host and supervisors only, never by other bidders", ask_send: "Send",
    ask_sent: "Sent; the host will answer", ask_waiting: "Awaiting an answer", ask_answer: "Answer: {text}",
    notice_resumed: "Bidding resumed; closes at {time}",
    notice_ended: "Bidding has ended",
    leader_note: "You hold the highest bid: no need to bid again",
    leader_note_reverse: "You hold the lowest offer: no need to bid again",
    result_link: "See the result announcement",
    countdown_say: "{left} left",
    title_outbid: "[Outbid] ",
    match_price: "Pre-emptive right: buy at the same price",
    match_price_n: "Pre-emptive right: buy at the same price, {amount}",
    preempt_holder: "You hold a pre-emptive right on this lot (priority {n})",
    match_ok: "You exercised your pre-emptive right at the same price, {amount}",
    notice_below_cut_off: "Your bid fell below the cut-off (lowest winning price {amount}): you hold no unit now",
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
let netDown = false; // the link was lost after having been up
let everOnline = false;
let netChangedAt = null;
let backTimer = null;
let live = false; // events after the first catch-up are news worth a notice
let wasLeading = null;
let wasEnded = null;
let lastSaid = null;
const notices = []; // {kind, key, vars, at}
const ownBids = new Map(); // seq -> {seq, at, amount}
const history = []; // {seq, at, bidder_no, amount}, in sequence order

let signingState = null; // null (lot does not sign), "enrolling", "on", "failed", "unavailable"
let signingCode = "";
let bidderKey = null;
let enrolling = false;
let enrolledHere = false; // enrolled from this page (the `you` view may not say so yet)

const conn = new LotConnection({
  lotId,
  token,
  afterSeq: 0,
  onAck: (frame) => {
    if (myNo) keepReceipt(lotId, myNo, frame);
  },
  onConnState: (s) => {
    showConn(s);
    netState(s);
  },
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
    if (live) for (const e of events) noticeEvent(e);
    render();
    live = true;
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
  ensureKey(view);
}

/** Where the lot signs: the device's key, enrolled unless the server's view of the
 * bidder names it already; then every bid and action is signed (docs/design.md). */
async function ensureKey(view) {
  const mode = state?.params?.signatures;
  if (!mode || mode === "off" || !myNo || enrolling || ENDED.has(state.status)) return;
  if (!canSign()) {
    signingState = "unavailable";
    return;
  }
  enrolling = true;
  try {
    bidderKey = bidderKey ?? await BidderKey.load(lotId, myNo);
    if (!enrolledHere && !bidderKey.enrolled(view.key)) {
      signingState = "enrolling";
      render();
      const answer = await conn.enrol(bidderKey.alg, bidderKey.key);
      if (answer.type !== "ack") {
        signingState = "failed";
        signingCode = answer.code;
        messages.show({ code: answer.code, message: answer.message, detail: answer.detail });
        return;
      }
      enrolledHere = true;
    }
    const decimalsNow = decimals();
    conn.signer = (action, amount, seen, fields) => bidderKey.sign(
      action, amount === null ? null : parseAmount(amount, decimalsNow), seen, fields);
    signingState = "on";
  } catch (err) {
    console.warn("the signing key could not be made", err);
    signingState = "failed";
    signingCode = "sign_failed";
  } finally {
    enrolling = false;
    render();
  }
}

function drawSigning() {
  const box = $("signing");
  box.hidden = signingState === null;
  box.dataset.state = signingState ?? "";
  const kept = myNo ? receipts(lotId, myNo).length : 0;
  $("signing-text").textContent = signingState === null ? ""
    : t(`signing_${signingState}`, { n: kept, code: signingCode });
  $("receipts-btn").hidden = kept === 0;
}

async function downloadReceipts() {
  if (!myNo) return;
  const blob = new Blob([await receiptsFile(lotId, myNo)], { type: "application/json" });
  const link = h("a", { href: URL.createObjectURL(blob), download: `receipts-${lotId}-${myNo}.json` });
  document.body.append(link);
  link.click();
  link.remove();
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
  } else if (e.type === "LotResumed" && e.restart) {
    // Bidding restarts from the start price: the earlier bids are void.
    history.length = 0;
    ownBids.clear();
  }
}

/** The dated notices of events that came while the room was open. */
function noticeEvent(e) {
  if (e.type === "CloseExtended") {
    addNotice("extended", "notice_extended", { time: dateTime(e.closes_at) }, e.at);
  } else if (e.type === "LotPaused") {
    dropNotices("resumed");
    addNotice("paused", e.reason ? "notice_paused" : "notice_paused_plain", { reason: e.reason }, e.at);
  } else if (e.type === "Announced") {
    addNotice("announced", "notice_announced", { text: e.text }, e.at);
  } else if (e.type === "QuestionAnswered" && e.public) {
    addNotice("answered", "notice_answered", { question: e.question_text, text: e.text }, e.at);
  } else if (e.type === "LotResumed" && e.restart) {
    dropNotices("paused");
    addNotice("resumed", "notice_restarted", {}, e.at);
  } else if (e.type === "LotResumed") {
    dropNotices("paused");
    addNotice("resumed", "notice_resumed", { time: dateTime(state?.closes_at) }, e.at);
  }
}

function addNotice(kind, key, vars, at) {
  notices.unshift({ kind, key, vars, at: Number.isFinite(at) ? at : conn.serverNow() });
  notices.length = Math.min(notices.length, NOTICES_SHOWN);
  drawNotices();
}

function dropNotices(...kinds) {
  for (let i = notices.length - 1; i >= 0; i -= 1) if (kinds.includes(notices[i].kind)) notices.splice(i, 1);
  drawNotices();
}

function drawNotices() {
  $("notices").replaceChildren(...notices.map((n) => h("li", { class: "notice", dataset: { kind: n.kind } },
    h("time", {}, dateTime(n.at)), " ", t(n.key, n.vars))));
}

/** The full-width banner of a lost (then restored) connection. */
function netState(s) {
  if (s === "online") {
    everOnline = true;
    if (netDown) {
      netDown = false;
      netChangedAt = Date.now();
      clearTimeout(backTimer);
      backTimer = setTimeout(() => {
        $("net-banner").hidden = true;
      }, 15_000);
    }
  } else if ((everOnline || s === "offline") && !netDown) {
    netDown = true;
    netChangedAt = Date.now();
    clearTimeout(backTimer);
  }
  drawNet();
  render();
}

function drawNet() {
  const banner = $("net-banner");
  document.body.classList.toggle("net-down", netDown);
  if (netChangedAt === null) return;
  banner.dataset.state = netDown ? "lost" : "back";
  banner.textContent = t(netDown ? "net_lost" : "net_back", { time: clock(netChangedAt) });
  if (netDown) banner.hidden = false;
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
  if (state.units) { // a multi-unit lot: the higher of the cut-off and the own bid (units.py)
    const own = you()?.last_bid ?? null;
    const cut = state.units.cut_off;
    if (own === null || cut === null) return own ?? cut;
    return parseAmount(own, decimals()) > parseAmount(cut, decimals()) ? own : cut;
  }
  return p.improve === "own" ? you()?.last_bid ?? null : state.best;
}

function render() {
  const p = params();
  const reverse = p?.direction === "reverse";
  const me = you();
  const ended = Boolean(state && ENDED.has(state.status));
  // Under price visibility the shared state is fresher than the last `you` frame.
  // A multi-unit lot: whether the bidder holds a unit (its `you`, sent after every bid).
  const leading = state?.units ? me?.leading
    : p?.visibility === "price" && myNo && state?.leader_no ? state.leader_no === myNo
      : me?.leading;

  $("lot-title").textContent = state?.title ?? lotId ?? "—";
  showStatus($("status"), state?.status);
  $("extended").hidden = !extended || !state || ENDED.has(state.status);
  drawLotNotice($("lot-notice"), state);
  drawQuestions();

  $("best-label").textContent = t(reverse ? "best_reverse" : "best_forward");
  $("currency").textContent = currencySign(p?.currency ?? "CNY");
  const hidden = p && p.visibility !== "price" && !ENDED.has(state.status);
  showAmount($("best"), state?.best, hidden ? t("best_hidden") : "—");
  $("leader").textContent = state?.leader_no ?? "—";
  const cancelled = state?.status === "cancelled";
  $("leader-you").textContent = myNo && state?.leader_no === myNo && !cancelled ? t("you") : "";
  // null: the lot does not disclose its counts yet (show_counts).
  $("bid-count").textContent = state?.bid_count === null ? t("count_hidden") : String(state?.bid_count ?? 0);
  drawSigning();
  $("closes-at").textContent = Number.isFinite(state?.closes_at) && !ENDED.has(state.status)
    ? t("closes_at", { time: dateTime(state.closes_at) }) : "";

  $("my-no").textContent = myNo ?? "—";
  $("my-rank").textContent = Number.isInteger(me?.rank) && !cancelled ? t("rank_n", { n: me.rank }) : "—";
  const badge = $("leading-badge");
  badge.textContent = cancelled ? "" : leading === true ? t("leading")
    : leading === false && me?.last_bid ? t("not_leading") : "";
  badge.dataset.leading = String(leading === true && !cancelled);
  watchStanding(leading, ended, reverse, p);
  drawUnits($("units-line"), state);
  const held = $("units-held");
  held.hidden = !state?.units || !me?.last_bid || ended;
  held.textContent = me?.units_held ? t("units_held", { n: me.units_held }) : t("units_none");
  held.dataset.held = String(me?.units_held ?? "");
  // A bid's units: a multi-unit lot (english or sealed) that lets a bidder ask for several.
  const maxUnits = p?.max_units_per_bidder ?? 1;
  $("units-field").hidden = !p?.units || maxUnits < 2;
  $("units").max = String(maxUnits);
  const eligibility = $("eligibility");
  eligibility.textContent = !me ? "" : me.eligible === false ? t("not_eligible_note")
    : me.eligible ? t("eligible_note") : "";
  eligibility.dataset.eligible = String(me?.eligible ?? "");

  const result = resultText(state);
  $("result-card").hidden = !result;
  $("result").textContent = result;
  $("result-you").textContent = yourResult();
  const link = $("result-link");
  link.hidden = !ended || !lotId;
  if (ended) startAfter(lotId, token);
  link.href = `/result/${encodeURIComponent(lotId ?? "")}`;

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
  // The leader may not bid again where a bid must beat the best (english.py already_leading).
  // A multi-unit lot's leader may bid again (units.py).
  const leaderBlocked = leading === true && !ended && !state?.units
    && ["english", "listing_timed"].includes(state?.format) && (p?.improve ?? "leader") === "leader";
  const blocked = ended || netDown;
  input.disabled = blocked;
  $("bid-card").hidden = ended;
  $("bid-btn").textContent = bidding ? t("bidding") : t(reverse ? "bid_reverse" : "bid");
  $("bid-btn").disabled = bidding || blocked || leaderBlocked;
  const note = $("leader-note");
  note.hidden = !leaderBlocked;
  note.textContent = leaderBlocked ? t(reverse ? "leader_note_reverse" : "leader_note") : "";
  for (const n of [1, 2]) {
    const steps = n === 1 ? 1 : stepsN();
    $(`step-${n}`).textContent = t(reverse ? "minus_steps" : "plus_steps", { n: steps });
    $(`step-${n}`).disabled = !p || blocked || leaderBlocked;
  }
  $("steps-n").disabled = !p || blocked;
  if (ended && $("confirm").open) $("confirm").close();

  drawProxy(p, me, ended);
  drawPreempt(p, me, ended);
  drawOwnBids();
  drawHistory();
  drawLotInfo($("lot-info"), state);
  tick();
  drawPlay("room", $("play"), {
    state, you: me, conn, messages, t, money, serverNow: () => conn.serverNow(), rerender: render,
    confirmAmount,
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
  if (!(await confirmAmount(amount, { steps: false }))) return;
  if (netDown) {
    messages.show({ code: "offline" });
    return;
  }
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

/** Pre-emptive purchase rights: who matched and the window (everyone), and for a holder
 * its priority and the "match the price" button while it may (auction/preemption.py). */
function drawPreempt(p, me, ended) {
  drawPreemptNote($("preempt-public"), state);
  const cur = p?.currency;
  const mine = me?.preemption;
  const box = $("preempt");
  box.hidden = !mine || ended;
  box.dataset.priority = mine?.priority ?? "";
  $("preempt-note").textContent = mine ? t("preempt_holder", { n: mine.priority }) : "";
  const btn = $("match-btn");
  const price = mine?.may_match && state?.status === "open" ? mine.match_price : null;
  btn.dataset.amount = price ?? "";
  btn.textContent = price ? t("match_price_n", { amount: money(price, cur) }) : t("match_price");
  btn.disabled = !price || bidding || netDown;
}

async function submitMatch() {
  const amount = $("match-btn").dataset.amount;
  if (!amount || bidding) return;
  if (!(await confirmAmount(amount, { steps: false }))) return;
  await sendBid(amount, false, "match_ok");
}

/** Notice a lost lead (outbid) and the end; clear the messages they make stale. */
function watchStanding(leading, ended, reverse, p) {
  if (!state) return;
  if (live && wasLeading === true && leading === false && !ended) {
    const hidden = p && p.visibility !== "price";
    const vars = { amount: money(state.units?.cut_off ?? state.best, p?.currency) };
    addNotice("outbid", state.units ? "notice_below_cut_off"
      : hidden || !state.best ? "notice_outbid_hidden"
        : reverse ? "notice_outbid_reverse" : "notice_outbid", vars);
    if (messages.current?.kind === "ok") messages.clear();
    if (document.hidden && !document.title.startsWith(t("title_outbid"))) {
      document.title = t("title_outbid") + document.title;
    }
  }
  if (live && wasEnded === false && ended) {
    if (messages.current?.kind === "ok") messages.clear();
    dropNotices("paused", "resumed", "extended", "outbid");
    addNotice("ended", "notice_ended", {});
  }
  if (state.status !== "paused" && notices.some((n) => n.kind === "paused")) dropNotices("paused");
  wasLeading = leading ?? null;
  wasEnded = ended;
}

/** The N of the "+N steps" button (the bidder's choice, 1 to 99). */
function stepsN() {
  const n = Number.parseInt($("steps-n").value, 10);
  return Number.isInteger(n) && n >= 1 && n <= 99 ? n : 2;
}

/** Countdown, the faster heartbeat of the last minutes and the milestones read out. */
function tick() {
  const now = conn.serverNow();
  drawCountdown(state, now);
  const c = countdown(state, now);
  conn.setUrgent(state?.status === "open" && c.ms !== null && c.ms <= URGENT_WINDOW_MS);
  const milestone = c.phase === "running" || c.phase === "urgent"
    ? MILESTONES.find((m) => c.ms <= m && c.ms > m - 2_000) : undefined;
  if (milestone !== undefined && milestone !== lastSaid) {
    lastSaid = milestone;
    $("countdown-say").textContent = t("countdown_say", { left: c.text });
  }
}

function yourResult() {
  const o = state?.outcome;
  if (!myNo || !o || o.status !== "awarded") return "";
  if (o.bidder_no === myNo || o.awards?.some((a) => a.bidder_no === myNo)) {
    return t("result_you_won");
  }
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
    : [h("li", { class: "empty" }, t(hidden && state.bid_count !== 0 ? "bids_hidden" : "no_bids"))]));
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
  if (!(await confirmAmount(amount))) return;
  // The dialog warned of a jump the lot's rules want confirmed: the bidder confirmed it.
  await sendBid(amount, $("confirm").dataset.warn === "true" && needsConfirmation(amount));
}

/** Whether the lot's `confirm_above_steps` asks for the bidder's confirmation of `amount`
 * (more than that many steps past the next acceptable price). */
function needsConfirmation(amount) {
  const p = params();
  if (!p || p.confirm_above_steps === undefined || p.confirm_above_steps === null) return false;
  const steps = stepsOver(p, nextMin(), reference(), amount);
  return steps !== null && steps - 1 > p.confirm_above_steps;
}

/** How many steps past the least acceptable bid the dialog warns from: the lot's
 * `confirm_above_steps` when it sets one (the rules refuse an unconfirmed bid past it),
 * else WARN_STEPS. */
function warnSteps() {
  const k = params()?.confirm_above_steps;
  return k === undefined || k === null ? WARN_STEPS : k + 1;
}

let confirmAnswer = null; // resolves the open confirmation: true to send, false not to

/**
 * Ask the bidder to confirm `amount` (a decimal string) in the dialog; resolves true when
 * confirmed, false when dismissed. Bids of every format go through it (formats get it as
 * `ctx.confirmAmount`); `steps: false` for amounts that are not a next bid (a proxy
 * maximum, a sealed price).
 */
function confirmAmount(amount, { steps = true, warn = false } = {}) {
  confirmAnswer?.(false);
  askConfirm(amount, steps, warn);
  return new Promise((resolve) => {
    confirmAnswer = resolve;
  });
}

function answerConfirm(yes) {
  const answer = confirmAnswer;
  confirmAnswer = null;
  if ($("confirm").open) $("confirm").close();
  answer?.(yes);
}

/** The confirmation dialog: the amount in figures, in capitals (大写) and in 万. */
function askConfirm(amount, countSteps, forceWarn = false) {
  const p = params();
  const reverse = p?.direction === "reverse";
  const cur = p?.currency;
  $("confirm-title").textContent = t(reverse ? "confirm_title_reverse" : "confirm_title");
  $("confirm-amount").textContent = money(amount, cur);
  $("confirm-amount").dataset.amount = amount;
  const capital = cur === "CNY" || !cur ? capitalAmount(amount) : null;
  $("confirm-capital").textContent = capital ? `人民币${capital}` : "—";
  const wan = inWan(amount, decimals());
  $("confirm-wan").textContent = wan === null ? "—" : t("wan_amount", { wan });
  const steps = p && countSteps ? stepsOver(p, nextMin(), reference(), amount) : null;
  $("confirm-steps").textContent = steps ? t(reverse ? "confirm_steps_reverse_n" : "confirm_steps_n", { n: steps }) : "—";
  $("confirm-steps").dataset.steps = steps ?? "";
  const warn = $("confirm-warning");
  const warned = forceWarn || steps > warnSteps();
  warn.hidden = !warned;
  warn.textContent = steps > warnSteps()
    ? t(reverse ? "confirm_warning_reverse" : "confirm_warning", { n: steps - 1 })
    : warned ? t("confirm_required_warning") : "";
  $("confirm-bid").textContent = t(reverse ? "confirm_ok_reverse" : "confirm_ok");
  const dialog = $("confirm");
  dialog.dataset.amount = amount;
  dialog.dataset.warn = String(warned);
  if (!dialog.open) dialog.showModal();
  // A large jump puts the focus on "go back": Enter alone does not send it.
  (warned ? $("confirm-cancel") : $("confirm-bid")).focus();
}

async function sendBid(amount, confirmed = false, okKey = "bid_ok") {
  if (bidding || !amount) return;
  if (netDown) {
    messages.show({ code: "offline" });
    return;
  }
  const input = $("amount");
  bidding = true;
  messages.clear();
  render();
  const units = params()?.units ? Number.parseInt($("units").value, 10) || 1 : 1;
  const answer = await conn.bid(amount, undefined, confirmed, units);
  bidding = false;
  if (answer.type === "rejected" && answer.code === "confirm_required" && !confirmed) {
    // The rules want this jump confirmed: ask with the warning, and resend confirmed.
    render();
    if (await confirmAmount(amount, { warn: true })) await sendBid(amount, true);
    return;
  }
  if (answer.type === "ack") {
    if (!ownBids.has(answer.seq)) {
      ownBids.set(answer.seq, { seq: answer.seq, at: answer.at, amount: answer.amount ?? amount });
    }
    messages.show({ key: okKey, vars: { amount: money(answer.amount ?? amount, params()?.currency) } },
      "ok");
    input.value = "";
    lastPrefill = null;
  } else {
    messages.show({ code: answer.code, message: answer.message, detail: answer.detail });
  }
  render();
}

/** The ask form (a bidder, while the lot runs) and the bidder's own questions. */
function drawQuestions() {
  const running = state && ["open", "paused"].includes(state.status);
  const mine = you()?.questions ?? [];
  $("ask-card").hidden = !token || (!running && !mine.length);
  $("ask-form").hidden = !running;
  $("my-questions").replaceChildren(...mine.map((q) => h("li", { dataset: { seq: q.seq } },
    h("strong", {}, t(q.kind === "objection" ? "ask_objection" : "ask_question")), " ", q.text,
    h("div", { class: "sub answer" }, q.answer ? t("ask_answer", { text: q.answer }) : t("ask_waiting")))));
}

async function submitQuestion(event) {
  event.preventDefault();
  const text = $("ask-text").value.trim();
  if (!text || !token) return;
  const answer = await api(`/api/lots/${encodeURIComponent(lotId)}/questions`, {
    method: "POST", token, body: { kind: $("ask-kind").value, text },
  });
  if (answer.ok) {
    $("ask-text").value = "";
    messages.show({ key: "ask_sent" }, "ok");
  } else {
    messages.show(answer.error);
  }
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

/** The +N button: N as the bidder chose it. */
function quickN() {
  quick(stepsN());
}

function main() {
  initI18n();
  onLangChange(() => {
    render();
    messages.draw();
    showConn(conn.connState);
    drawNotices();
    drawNet();
  });
  showConn("connecting");
  if (!lotId) return;
  if (!token) messages.show({ key: "no_token" }, "info");
  $("bid-form").addEventListener("submit", submitBid);
  $("proxy-form").addEventListener("submit", submitProxy);
  $("match-btn").addEventListener("click", submitMatch);
  $("receipts-btn").addEventListener("click", downloadReceipts);
  $("ask-form").addEventListener("submit", submitQuestion);
  $("step-1").addEventListener("click", () => quick(1));
  $("step-2").addEventListener("click", quickN);
  $("steps-n").addEventListener("input", () => render());
  $("confirm-bid").addEventListener("click", () => answerConfirm(true));
  $("confirm").addEventListener("close", () => answerConfirm(false)); // Esc, or the end
  $("confirm-cancel").addEventListener("click", () => {
    answerConfirm(false);
    $("amount").focus();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) document.title = document.title.replace(t("title_outbid"), "");
  });
  conn.start();
  render();
  mountDeposit(lotId, token);
  setInterval(tick, 200);
}

main();
