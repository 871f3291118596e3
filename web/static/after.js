// The room's panels after the auction (docs/after-the-auction.md): every bidder may object
// (异议) during the publicity period and reads the answers; the winner downloads and signs
// the transaction confirmation (成交确认书). The room calls `startAfter(lotId, token)` once
// the lot has ended; the panels ask the server every few seconds.

import { addStrings, onLangChange, t } from "./i18n.js";
import { $, MessageBox, api, dateTime, guard, h, money, replaceChildren } from "./ui.js";

const POLL_MS = 4000;

addStrings({
  zh: {
    after_title: "成交确认书",
    conf_issued: "成交确认书已签发（成交价 {amount}），请下载核对后于 {time} 前签署。",
    conf_signed: "您已于 {time} 签署成交确认书。",
    conf_download: "下载成交确认书（PDF）", conf_sign: "确认并签署",
    conf_sign_ok: "已签署成交确认书。",
    conf_need_download: "请先下载并核对成交确认书。",
    notice_title: "结果公示与异议",
    notice_period: "公示期至 {time}（{days} 个工作日），期间可对结果提出异议。",
    notice_over: "公示期已于 {time} 结束。",
    notice_unpublished: "结果公示期间可对结果提出异议。",
    objection_text: "异议内容", objection_submit: "提交异议",
    objection_filed: "异议已提交，请等待答复。",
    objection_mine: "我的异议", objection_other: "其他异议",
    objection_waiting: "待答复", objection_answer: "答复：{answer}",
    outcome_dismissed: "异议不成立", outcome_upheld: "异议成立",
    effect_suspended: "暂停成交", effect_annulled: "撤销成交",
    award_suspended: "成交已暂停", award_annulled: "成交已撤销",
  },
  en: {
    after_title: "Transaction confirmation",
    conf_issued: "The confirmation is issued (price {amount}): download it, check it and sign it before {time}.",
    conf_signed: "You signed the confirmation at {time}.",
    conf_download: "Download the confirmation (PDF)", conf_sign: "Accept and sign",
    conf_sign_ok: "The confirmation is signed.",
    conf_need_download: "Download and check the confirmation first.",
    notice_title: "Result notice and objections",
    notice_period: "Publicity period until {time} ({days} working days): you may object to the result until then.",
    notice_over: "The publicity period ended at {time}.",
    notice_unpublished: "You may object to the result during the publicity period.",
    objection_text: "Your objection", objection_submit: "File the objection",
    objection_filed: "Objection filed: wait for the answer.",
    objection_mine: "My objection", objection_other: "Another objection",
    objection_waiting: "Awaiting an answer", objection_answer: "Answer: {answer}",
    outcome_dismissed: "Dismissed", outcome_upheld: "Upheld",
    effect_suspended: "award suspended", effect_annulled: "award annulled",
    award_suspended: "The award is suspended", award_annulled: "The award is annulled",
  },
});

let lotId = null;
let token = null;
let confirmation = null;
let downloaded = null; // SHA-256 (hex) of the PDF this browser downloaded
let started = false;
let notice = null;
const messages = new MessageBox(null);
const noticeMessages = new MessageBox(null);

async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function draw() {
  const c = confirmation;
  const mine = c && c.status !== "none";
  $("after-card").hidden = !mine;
  if (!mine) return;
  $("conf-status").dataset.status = c.status;
  $("conf-status").textContent = c.status === "signed"
    ? t("conf_signed", { time: dateTime(c.signed_at) })
    : t("conf_issued", { amount: money(c.amount, c.currency), time: dateTime(c.sign_by) });
  $("conf-sign").hidden = c.status !== "issued";
  messages.draw();
}

function objectionItem(o) {
  const outcome = o.outcome
    ? [t(`outcome_${o.outcome}`), o.effect ? t(`effect_${o.effect}`) : null].filter(Boolean).join("，")
    : t("objection_waiting");
  return h("li", { class: "objection", dataset: { mine: String(Boolean(o.mine)), outcome: o.outcome ?? "" } },
    h("div", { class: "sub" }, `${o.mine ? t("objection_mine") : t("objection_other")} ${o.objection_id} · ${dateTime(o.filed_at)} · ${outcome}`),
    o.text ? h("div", { class: "objection-text" }, o.text) : null,
    o.answer ? h("div", { class: "objection-answer" }, t("objection_answer", { answer: o.answer })) : null);
}

function drawNotice() {
  const n = notice;
  const card = $("notice-card");
  card.hidden = !n;
  if (!n) return;
  const over = n.published && Date.now() > n.ends_at;
  $("notice-period").textContent = !n.published ? t("notice_unpublished")
    : over ? t("notice_over", { time: dateTime(n.ends_at) })
      : t("notice_period", { time: dateTime(n.ends_at), days: n.working_days });
  $("notice-award").textContent = n.award === "stands" ? "" : t(`award_${n.award}`);
  $("notice-award").dataset.award = n.award;
  $("objection-form").hidden = Boolean(over);
  replaceChildren($("objections"), n.objections.map(objectionItem));
  noticeMessages.draw();
}

async function refresh() {
  const id = encodeURIComponent(lotId);
  const [answer, read] = await Promise.all([
    api(`/api/lots/${id}/confirmation`, { token }),
    api(`/api/lots/${id}/notice`, { token }),
  ]);
  // 403 until a confirmation is issued to this bidder (or for good: it did not win).
  confirmation = answer.ok ? answer.data : null;
  if (read.ok) notice = read.data;
  draw();
  drawNotice();
}

async function fileObjection(event) {
  event.preventDefault();
  const text = $("objection-text").value.trim();
  if (!text) return;
  const answer = await api(`/api/lots/${encodeURIComponent(lotId)}/objections`, {
    method: "POST", token, body: { text },
  });
  if (answer.ok) {
    notice = answer.data;
    $("objection-text").value = "";
    noticeMessages.show({ key: "objection_filed" }, "info");
  } else {
    noticeMessages.show(answer.error);
  }
  drawNotice();
}

async function download() {
  const response = await fetch(confirmation.pdf, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) {
    messages.show({ code: response.status === 403 ? "forbidden" : "server_error" });
    return;
  }
  const blob = await response.blob();
  downloaded = await sha256Hex(await blob.arrayBuffer());
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `confirmation-${lotId}.pdf`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

async function sign() {
  if (!downloaded) {
    messages.show({ key: "conf_need_download" }, "info");
    return;
  }
  const answer = await api(`/api/lots/${encodeURIComponent(lotId)}/confirmation/sign`, {
    method: "POST", token, body: { document_sha256: downloaded },
  });
  if (answer.ok) {
    confirmation = answer.data;
    messages.show({ key: "conf_sign_ok" }, "info");
  } else {
    messages.show(answer.error);
  }
  draw();
}

/** Start the panel (once) for the room of `id` with the bidder's `bidderToken`. */
export function startAfter(id, bidderToken) {
  if (started || !id || !bidderToken) return;
  started = true;
  lotId = id;
  token = bidderToken;
  messages.el = $("after-message");
  noticeMessages.el = $("notice-message");
  $("objection-form").addEventListener("submit", guard(fileObjection, $("objection-submit")));
  $("conf-download").addEventListener("click", guard(download, $("conf-download")));
  $("conf-sign").addEventListener("click", guard(sign, $("conf-sign")));
  onLangChange(() => {
    draw();
    drawNotice();
  });
  refresh();
  setInterval(refresh, POLL_MS);
}
