// The room's panel after the auction (docs/after-the-auction.md): the winner downloads and
// signs the transaction confirmation (成交确认书). The room calls `startAfter(lotId,
// token)` once the lot has ended; the panel asks the server every few seconds.

import { addStrings, onLangChange, t } from "./i18n.js";
import { $, MessageBox, api, dateTime, guard, money } from "./ui.js";

const POLL_MS = 4000;

addStrings({
  zh: {
    after_title: "成交确认书",
    conf_issued: "成交确认书已签发（成交价 {amount}），请下载核对后于 {time} 前签署。",
    conf_signed: "您已于 {time} 签署成交确认书。",
    conf_download: "下载成交确认书（PDF）", conf_sign: "确认并签署",
    conf_sign_ok: "已签署成交确认书。",
    conf_need_download: "请先下载并核对成交确认书。",
  },
  en: {
    after_title: "Transaction confirmation",
    conf_issued: "The confirmation is issued (price {amount}): download it, check it and sign it before {time}.",
    conf_signed: "You signed the confirmation at {time}.",
    conf_download: "Download the confirmation (PDF)", conf_sign: "Accept and sign",
    conf_sign_ok: "The confirmation is signed.",
    conf_need_download: "Download and check the confirmation first.",
  },
});

let lotId = null;
let token = null;
let confirmation = null;
let downloaded = null; // SHA-256 (hex) of the PDF this browser downloaded
let started = false;
const messages = new MessageBox(null);

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

async function refresh() {
  const answer = await api(`/api/lots/${encodeURIComponent(lotId)}/confirmation`, { token });
  // 403 until a confirmation is issued to this bidder (or for good: it did not win).
  confirmation = answer.ok ? answer.data : null;
  draw();
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
  $("conf-download").addEventListener("click", guard(download, $("conf-download")));
  $("conf-sign").addEventListener("click", guard(sign, $("conf-sign")));
  onLangChange(draw);
  refresh();
  setInterval(refresh, POLL_MS);
}
