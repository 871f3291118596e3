// The public board: /board/{lot_id}. No token: it shows what anyone may see.

import { LotConnection } from "./conn.js";
import { drawPriceChart } from "./chart.js";
import { addStrings, initI18n, onLangChange, t } from "./i18n.js";
import { lotteryText } from "./lottery.js";
import { drawPlay } from "./formats.js";
import { drawLotInfo, drawLotNotice, drawPreemptNote } from "./lotinfo.js";
import { currencySign } from "./money.js";
import {
  $, ENDED, MessageBox, clock, drawCountdown, drawUnits, h, lotIdFromPath, money, resultText, showAmount,
  showConn, showStatus,
} from "./ui.js";

addStrings({
  zh: {
    fullscreen: "全屏", exit_fullscreen: "退出全屏", final_price: "成交价", lottery_title: "摇号说明",
    price_history: "报价走势", chart_empty: "无报价", lot_unknown: "未找到该标的",
    lot_unknown_hint: "请核对公告屏地址中的标的编号“{id}”。", no_deal_price: "未成交",
  },
  en: {
    fullscreen: "Full screen", exit_fullscreen: "Exit full screen", final_price: "Final price",
    lottery_title: "The draw", price_history: "Price history", chart_empty: "No bids",
    lot_unknown: "No such lot", lot_unknown_hint: "Check the lot id “{id}” in the board's address.",
    no_deal_price: "No sale",
  },
});

const HISTORY_SHOWN = 20;
const CHART_POINTS = 200;
let unknown = false; // the server does not know this lot: nothing to wait for

const lotId = lotIdFromPath();
const messages = new MessageBox($("message"));
let state = null;
let extended = false;
const history = []; // {seq, at, bidder_no, amount}

const conn = new LotConnection({
  lotId,
  afterSeq: 0,
  onConnState: (s) => { if (!unknown) showConn(s); },
  onUpdate: (events, snapshot) => {
    for (const e of events) {
      if (e.type === "BidAccepted" && e.amount !== undefined) {
        history.push({ seq: e.seq, at: e.at, bidder_no: e.bidder_no, amount: e.amount });
        if (history.length > CHART_POINTS) history.splice(0, history.length - CHART_POINTS);
      } else if (e.type === "CloseExtended") {
        extended = true;
      } else if (e.type === "LotResumed" && e.restart) {
        history.length = 0; // bidding restarts from the start price: earlier bids void
      }
    }
    if (snapshot) state = snapshot;
    render();
  },
  onError: (frame) => {
    if (frame.code === "unknown_lot" || frame.code === "not_found") {
      // No such lot: stop retrying, and say so instead of "connecting" for ever.
      unknown = true;
      conn.stop();
      drawUnknown();
      return;
    }
    messages.show(frame);
  },
  onReset: () => {
    history.length = 0;
    extended = false;
  },
});

function drawUnknown() {
  const badge = $("conn");
  badge.dataset.state = "unknown";
  badge.textContent = t("lot_unknown");
  $("lot-title").textContent = t("lot_unknown");
  showStatus($("status"), null);
  messages.show({ key: "lot_unknown_hint", vars: { id: lotId ?? "" } });
  document.body.dataset.unknown = "true";
}

function drawWallClock() {
  $("wall-clock").textContent = clock(conn.serverNow());
}

function render() {
  if (unknown) {
    drawUnknown();
    return;
  }
  const p = state?.params;
  const reverse = p?.direction === "reverse";
  $("lot-title").textContent = state?.title ?? lotId ?? "—";
  showStatus($("status"), state?.status);
  $("extended").hidden = !extended || !state || ENDED.has(state.status);
  drawLotNotice($("lot-notice"), state);
  const awarded = state?.status === "awarded" || state?.outcome?.status === "awarded";
  const over = ENDED.has(state?.status);
  $("best-label").textContent = awarded ? t("final_price")
    : over && state?.status !== "closed" ? t("no_deal_price")
      : t(reverse ? "best_reverse" : "best_forward");
  $("currency").textContent = currencySign(p?.currency ?? "CNY");
  const hidden = p && p.visibility !== "price" && !ENDED.has(state.status);
  showAmount($("best"), awarded ? state?.outcome?.amount ?? state?.best
    : over && state?.status !== "closed" ? null : state?.best, hidden ? t("best_hidden") : "—");
  $("leader").textContent = state?.leader_no ?? "—";
  drawPreemptNote($("preempt-public"), state);
  drawUnits($("units-line"), state);
  // null: the lot does not disclose its counts yet (show_counts).
  $("bid-count").textContent = state?.bid_count === null ? t("count_hidden") : String(state?.bid_count ?? 0);
  $("bidders").textContent = state?.bidders === null ? t("count_hidden") : String(state?.bidders ?? 0);
  $("closes-at").textContent = Number.isFinite(state?.closes_at) && !ENDED.has(state.status)
    ? t("closes_at", { time: clock(state.closes_at) }) : "";
  const result = resultText(state);
  $("result-card").hidden = !result;
  $("result").textContent = result;
  const shown = history.slice(-HISTORY_SHOWN).reverse();
  $("history").replaceChildren(...(shown.length
    ? shown.map((b) => h("li", { dataset: { seq: b.seq, amount: b.amount } },
      h("span", { class: "time" }, clock(b.at)),
      h("span", { class: "no" }, b.bidder_no ?? ""),
      h("span", { class: "amt" }, money(b.amount, p?.currency))))
    : [h("li", { class: "empty" }, t(hidden && state.bid_count !== 0 ? "bids_hidden" : "no_bids"))]));
  drawLotInfo($("lot-info"), state);
  const lottery = state?.format === "listing_timed"
    ? lotteryText(state.play, state.lot_id, (a) => money(a, p?.currency)) : "";
  $("lottery").hidden = !lottery;
  $("lottery-text").textContent = lottery;
  const winnerSeq = awarded ? history.findLast((b) => b.bidder_no === state.outcome?.bidder_no)?.seq : null;
  $("chart-card").hidden = Boolean(hidden);
  if (!hidden) {
    drawPriceChart($("chart"), history, { currency: p?.currency, winnerSeq, emptyText: t("chart_empty") });
  }
  drawCountdown(state, conn.serverNow());
  drawPlay("board", $("play"), {
    state, you: null, conn, messages, t, money, serverNow: () => conn.serverNow(), rerender: render,
  });
}

/** The hall's screen fills the display; the page scales with the viewport (style.css). */
async function toggleFullscreen() {
  try {
    if (document.fullscreenElement) await document.exitFullscreen();
    else await document.documentElement.requestFullscreen();
  } catch {
    // Refused (an embedded frame, a kiosk without the permission): F11 still works.
  }
  drawFullscreenLabel();
}

function drawFullscreenLabel() {
  $("fullscreen").textContent = t(document.fullscreenElement ? "exit_fullscreen" : "fullscreen");
}

function main() {
  initI18n();
  onLangChange(() => {
    render();
    messages.draw();
    if (!unknown) showConn(conn.connState);
    drawFullscreenLabel();
  });
  showConn("connecting");
  $("fullscreen").addEventListener("click", toggleFullscreen);
  document.addEventListener("fullscreenchange", drawFullscreenLabel);
  drawWallClock();
  setInterval(drawWallClock, 250);
  if (!lotId) return;
  conn.start();
  render();
  setInterval(() => { if (!unknown) drawCountdown(state, conn.serverNow()); }, 200);
}

main();
