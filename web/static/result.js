// The result announcement (结果公示): /result/{lot_id}. Public: bidder numbers only.

import { drawPriceChart } from "./chart.js";
import { addStrings, initI18n, onLangChange, t } from "./i18n.js";
import { lotteryText } from "./lottery.js";
import { dateTime } from "./records-ui.js";
import { $, MessageBox, api, clock, h, lotIdFromPath, money, resultText, showStatus } from "./ui.js";

addStrings({
  zh: {
    publicity_period: "公示期", publicity_range: "{from} 至 {until}（{days} 个工作日）",
    issuer: "发布单位", issuer_contact: "联系方式", not_set: "未设置",
  },
  en: {
    publicity_period: "Publicity period", publicity_range: "{from} to {until} ({days} working days)",
    issuer: "Issued by", issuer_contact: "Contact", not_set: "not set",
  },
});

const POLL_MS = 5_000;
const lotId = lotIdFromPath();
const messages = new MessageBox($("message"));
let result = null;

function render() {
  showStatus($("status"), result?.status);
  $("lot-id").textContent = lotId ?? "";
  if (!result) return;
  const currency = result.currency;
  const o = result.outcome ?? {};
  $("lot-title").textContent = result.title;
  const text = resultText({ status: result.status, outcome: result.outcome, params: { currency } });
  $("result-card").hidden = !text;
  $("result").textContent = text;
  for (const id of ["figures", "chart-card", "details", "notice"]) $(id).hidden = false;
  const lottery = result.draw ? lotteryText({ draw: result.draw, cap: result.draw.cap }, result.lot_id,
    (a) => money(a, currency)) : "";
  $("lottery-text").hidden = !lottery;
  $("lottery-text").textContent = lottery;
  const pub = result.publicity;
  const notice = [
    [t("issuer"), result.issuer?.name || t("not_set"), "issuer"],
    [t("issuer_contact"), result.issuer?.contact || t("not_set"), "contact"],
  ];
  if (pub) {
    notice.push([t("publicity_period"), t("publicity_range", {
      from: dateTime(pub.from), until: dateTime(pub.until), days: pub.days,
    }), "publicity"]);
  }
  $("notice-info").replaceChildren(...notice.flatMap(([k, v, key]) => [h("dt", {}, k),
    h("dd", { dataset: { field: key } }, v)]));
  // A multi-unit lot: every winner, and the price each pays for a unit (best first).
  $("winner-no").textContent = o.status !== "awarded" ? t("no_winner")
    : o.awards ? o.awards.map((a) => a.bidder_no).join("、") : o.bidder_no;
  $("price").textContent = o.status !== "awarded" ? "—"
    : o.awards ? [...new Set(o.awards.map((a) => money(a.amount, currency)))].join(" / ")
      : money(o.amount, currency);
  $("price").dataset.amount = o.amount ?? "";
  $("ended-at").textContent = dateTime(o.at);
  $("bidders").textContent = String(result.bidders);
  $("bidding").textContent = String(result.bidding);
  $("bid-count").textContent = String(result.bid_count);
  const history = result.history;
  const winning = o.status === "awarded"
    ? [...history].reverse().find((b) => b.bidder_no === o.bidder_no)?.seq : null;
  drawPriceChart($("chart"), history, { currency, winnerSeq: winning, emptyText: t("chart_empty") });
  $("history").tBodies[0].replaceChildren(...history.slice().reverse().map((b) => h("tr", {
    dataset: { seq: b.seq, amount: b.amount }, class: b.seq === winning ? "winning" : null,
  }, h("td", { class: "num" }, String(b.seq)), h("td", { class: "time" }, clock(b.at, true)),
  h("td", { class: "no" }, b.bidder_no), h("td", { class: "num amt" }, money(b.amount, currency)))));
  const reverse = result.direction === "reverse";
  const rows = [
    [t("direction"), t(reverse ? "direction_reverse" : "direction_forward")],
    [t("start_price"), money(result.start_price, currency)],
    [t("opened_at"), dateTime(result.opened_at)],
    [t("ended_at"), dateTime(result.ended_at)],
  ];
  $("lot-info").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  const r = result.record;
  const hashes = [];
  if (r.outcome_seq) hashes.push([t("outcome_hash", { seq: r.outcome_seq }), r.outcome_hash]);
  hashes.push([t("last_hash", { seq: r.last_seq }), r.last_hash]);
  $("record").replaceChildren(...hashes.flatMap(([k, v]) => [h("dt", {}, k),
    h("dd", { class: "hash" }, v)]));
}

async function load() {
  if (!lotId) return;
  const answer = await api(`/api/lots/${encodeURIComponent(lotId)}/result`);
  if (answer.ok) {
    result = answer.data;
    messages.clear();
    render();
    return;
  }
  if (answer.error.code === "not_ended") {
    messages.show({ key: "not_ended_yet" }, "info");
    setTimeout(load, POLL_MS);
  } else {
    messages.show(answer.error);
  }
}

function main() {
  initI18n();
  onLangChange(() => {
    messages.draw();
    render();
  });
  if (lotId) $("board-link").href = `/board/${encodeURIComponent(lotId)}`;
  render();
  load();
}

main();
