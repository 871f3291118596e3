// The public board: /board/{lot_id}. No token: it shows what anyone may see.

import { LotConnection } from "./conn.js";
import { initI18n, onLangChange, t } from "./i18n.js";
import { drawPlay } from "./formats.js";
import { drawLotInfo } from "./lotinfo.js";
import { currencySign } from "./money.js";
import {
  $, ENDED, MessageBox, clock, drawCountdown, h, lotIdFromPath, money, resultText, showAmount,
  showConn, showStatus,
} from "./ui.js";

const HISTORY_SHOWN = 20;

const lotId = lotIdFromPath();
const messages = new MessageBox($("message"));
let state = null;
let extended = false;
const history = []; // {seq, at, bidder_no, amount}

const conn = new LotConnection({
  lotId,
  afterSeq: 0,
  onConnState: (s) => showConn(s),
  onUpdate: (events, snapshot) => {
    for (const e of events) {
      if (e.type === "BidAccepted" && e.amount !== undefined) {
        history.push({ seq: e.seq, at: e.at, bidder_no: e.bidder_no, amount: e.amount });
        if (history.length > HISTORY_SHOWN * 5) history.splice(0, history.length - HISTORY_SHOWN);
      } else if (e.type === "CloseExtended") {
        extended = true;
      }
    }
    if (snapshot) state = snapshot;
    render();
  },
  onError: (frame) => messages.show(frame),
  onReset: () => {
    history.length = 0;
    extended = false;
  },
});

function render() {
  const p = state?.params;
  const reverse = p?.direction === "reverse";
  $("lot-title").textContent = state?.title ?? lotId ?? "—";
  showStatus($("status"), state?.status);
  $("extended").hidden = !extended || !state || ENDED.has(state.status);
  $("best-label").textContent = t(reverse ? "best_reverse" : "best_forward");
  $("currency").textContent = currencySign(p?.currency ?? "CNY");
  const hidden = p && p.visibility !== "price" && !ENDED.has(state.status);
  showAmount($("best"), state?.best, hidden ? t("best_hidden") : "—");
  $("leader").textContent = state?.leader_no ?? "—";
  $("bid-count").textContent = String(state?.bid_count ?? 0);
  $("bidders").textContent = String(state?.bidders ?? 0);
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
    : [h("li", { class: "empty" }, t(hidden && state.bid_count ? "bids_hidden" : "no_bids"))]));
  drawLotInfo($("lot-info"), state);
  drawCountdown(state, conn.serverNow());
  drawPlay("board", $("play"), {
    state, you: null, conn, messages, t, money, serverNow: () => conn.serverNow(), rerender: render,
  });
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
  conn.start();
  render();
  setInterval(() => drawCountdown(state, conn.serverNow()), 200);
}

main();
