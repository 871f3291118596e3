// Bids sealed by the bidder (sealing "bidder", auction/commit_reveal.py), shared by the rooms
// of the formats that take them: sealed (every bid) and multi_round (the initial bids). The
// room commits to a hash of the price and a random salt (kept in localStorage and offered
// as a bid file) and reveals them in the reveal window: by itself when this browser keeps
// the bid file, else from the file the bidder uploads.

import { addStrings } from "../i18n.js";
import { formatAmount, normalizeInput, parseAmount } from "../money.js";
import { h } from "../ui.js";

addStrings({
  zh: {
    sealed_none: "尚未报价",
    sealed_submit: "递交密封报价",
    sealed_placeholder: "输入报价金额",
    sealed_committed: "报价已密封递交（服务器只收到哈希）：{amount}。请下载并妥善保存报价文件。",
    sealed_kept: "已密封（金额保存在本浏览器）",
    sealed_elsewhere: "已密封（本浏览器中没有金额：开标后请上传报价文件）",
    sealed_file: "下载报价文件",
    sealed_revealing: "正在解密…",
    sealed_revealed: "您的报价已解密，解密时段结束时公布",
    sealed_upload: "上传报价文件以解密",
    sealed_bad_file: "报价文件与您的承诺不符",
    sealed_void: "您的报价未在解密时段内解密，已作废",
  },
  en: {
    sealed_none: "No bid yet",
    sealed_submit: "Submit sealed bid",
    sealed_placeholder: "Your price",
    sealed_committed: "Sealed bid submitted (the server only has its hash): {amount}. Download your bid file and keep it.",
    sealed_kept: "Sealed (the price is kept in this browser)",
    sealed_elsewhere: "Sealed (no price in this browser: upload your bid file at the opening)",
    sealed_file: "Download bid file",
    sealed_revealing: "Revealing…",
    sealed_revealed: "Your bid is revealed; it is shown when the window ends",
    sealed_upload: "Upload your bid file to reveal",
    sealed_bad_file: "The bid file does not match your commitment",
    sealed_void: "Your bid was not revealed in the window: it is void",
  },
});

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** 32 random bytes as hex: the salt that makes a commitment impossible to guess. */
function newSalt() {
  return hex(crypto.getRandomValues(new Uint8Array(32)));
}

/** The commitment auction/commit_reveal.py's seal_commitment computes: SHA-256 (hex) of
 * the compact JSON [lot_id, bidder_no, amount in minor units as a string, salt]. */
async function sealCommitment(lotId, bidderNo, minor, salt) {
  const text = JSON.stringify([lotId, bidderNo, String(minor), salt]);
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

const fileKey = (lotId, bidderNo) => `auction.sealed.${lotId}.${bidderNo}`;

function keptFiles(lotId, bidderNo) {
  try {
    return JSON.parse(localStorage.getItem(fileKey(lotId, bidderNo)) ?? "[]");
  } catch {
    return [];
  }
}

/** Keep `file` (with the earlier ones: a commit not acknowledged may still count). */
function keepFile(file) {
  const files = keptFiles(file.lot_id, file.bidder_no).filter((f) => f.commitment !== file.commitment);
  files.push(file);
  localStorage.setItem(fileKey(file.lot_id, file.bidder_no), JSON.stringify(files.slice(-8)));
}

/** The kept bid file of the bidder's current commitment, if this browser has it. */
export function currentFile(lotId, mine) {
  if (!mine?.commitment) return null;
  return keptFiles(lotId, mine.bidder_no).find((f) => f.commitment === mine.commitment) ?? null;
}

let revealing = null; // the commitment whose reveal is in flight (or was answered)
// The context and the bidder's standing of the last drawing: what the form and the upload,
// made once, act on.
const latest = { ctx: null, mine: null, decimals: 2 };

/** Reveal `file` if it is the one of the bidder's commitment (`mine.commitment`). */
async function reveal(ctx, mine, file) {
  const { conn, messages } = ctx;
  if (!file || file.commitment !== mine?.commitment) {
    messages.show({ key: "sealed_bad_file" });
    return;
  }
  if (revealing === file.commitment) return;
  revealing = file.commitment;
  messages.show({ key: "sealed_revealing" }, "ok");
  const answer = await conn.act("reveal", file.amount, undefined, { salt: file.salt });
  if (answer.type === "ack") {
    messages.show({ key: "sealed_revealed" }, "ok");
  } else {
    revealing = null;
    messages.show({ code: answer.code, message: answer.message, detail: answer.detail });
  }
  ctx.rerender();
}

function fileLink(file, text) {
  const blob = new Blob([JSON.stringify(file, null, 2)], { type: "application/json" });
  return h("a", { id: "sealed-file", class: "button", href: URL.createObjectURL(blob),
    download: `sealed-bid-${file.lot_id}-${file.bidder_no}.json` }, text);
}

/** The form of a sealed price (#sealed-form), made once and kept in `el` (what the bidder
 * types survives the updates of the lot), shared by the sealed room (a plain sealed bid)
 * and this module (a commitment). On submit it reads and confirms the price with
 * `current()` (`{ ctx, decimals }` as last rendered, or null: nothing to send), has
 * `send(current, amount, minor)` send it, and shows the answer (`sentKey` on an ack). */
export function sealedPriceForm(el, current, send, sentKey) {
  let form = el.querySelector("#sealed-form");
  if (form) return form;
  const input = h("input", { id: "sealed-amount", type: "text", inputmode: "decimal",
    autocomplete: "off", spellcheck: "false" });
  const button = h("button", { id: "sealed-submit", type: "submit", class: "primary" });
  form = h("form", { id: "sealed-form", class: "bid-form" }, input, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const now = current();
    if (form.dataset.busy === "true" || !now) return;
    const { ctx, decimals } = now;
    const { messages } = ctx;
    const minor = parseAmount(normalizeInput(input.value), decimals);
    if (minor === null) {
      messages.show({ code: "invalid_amount" });
      return;
    }
    const amount = formatAmount(minor, decimals);
    if (ctx.confirmAmount && !(await ctx.confirmAmount(amount, { steps: false }))) return;
    form.dataset.busy = "true";
    messages.clear();
    const answer = await send(now, amount, minor);
    form.dataset.busy = "false";
    if (answer.type === "ack") {
      input.value = "";
      const shown = ctx.money(answer.amount ?? amount, ctx.state.params?.currency);
      messages.show({ key: sentKey, vars: { amount: shown } }, "ok");
    } else {
      messages.show({ code: answer.code, message: answer.message, detail: answer.detail });
    }
    ctx.rerender();
  });
  return form;
}

/** A commitment to the price: its salt and hash, kept as a bid file before it is sent (a
 * commit acknowledged while the page is gone still counts). */
async function commit({ ctx, mine }, amount, minor) {
  const salt = newSalt();
  const lotId = ctx.state.lot_id;
  const commitment = await sealCommitment(lotId, mine.bidder_no, minor, salt);
  keepFile({ lot_id: lotId, bidder_no: mine.bidder_no, amount, salt, commitment });
  return ctx.conn.act("commit", undefined, undefined, { commitment });
}

/** The upload of a bid file, made once and kept in `el`. */
function revealBox(el) {
  let box = el.querySelector("#sealed-reveal-form");
  if (box) return box;
  const upload = h("input", { id: "sealed-upload", type: "file", accept: "application/json,.json" });
  box = h("div", { id: "sealed-reveal-form" }, h("label", { for: "sealed-upload" }), upload);
  upload.addEventListener("change", async () => {
    const chosen = upload.files?.[0];
    if (!chosen) return;
    let file = null;
    try {
      file = JSON.parse(await chosen.text());
    } catch {
      file = null;
    }
    upload.value = "";
    await reveal(latest.ctx, latest.mine, file);
  });
  return box;
}

/**
 * The bidder's part of a room where it seals its own bid, for `el`: the commit form
 * (shown while `mine.can_commit`, with `submitKey` on its button), the line of its sealed
 * bid, its bid file to download, whether it is revealed or void, and the upload of a bid
 * file while `mine.can_reveal`. `mine`: {bidder_no, commitment, revealed, can_commit,
 * can_reveal}; `decimals`: the lot's. Returns {mineText, parts}; call `revealKept` once
 * the parts are in the page.
 */
export function sealingParts(el, ctx, { mine, decimals, submitKey, voided }) {
  Object.assign(latest, { ctx, mine, decimals });
  const { t, money } = ctx;
  const currency = ctx.state.params?.currency;
  const form = sealedPriceForm(el, () => (latest.mine ? latest : null), commit,
    "sealed_committed");
  form.querySelector("input").placeholder = t("sealed_placeholder");
  form.querySelector("button").textContent = t(submitKey);
  form.hidden = ctx.state.status !== "open" || !mine || mine.can_commit !== true;
  const file = currentFile(ctx.state.lot_id, mine);
  const mineText = !mine?.commitment ? t("sealed_none")
    : file ? `${money(file.amount, currency)} · ${t("sealed_kept")}` : t("sealed_elsewhere");
  const parts = [];
  if (file) parts.push(h("p", {}, fileLink(file, t("sealed_file"))));
  if (mine?.revealed) parts.push(h("p", { id: "sealed-revealed", class: "sub" }, t("sealed_revealed")));
  if ((voided ?? []).includes(mine?.bidder_no)) {
    parts.push(h("p", { id: "sealed-void", class: "sub" }, t("sealed_void")));
  }
  parts.push(form);
  if (mine?.can_reveal) {
    const box = revealBox(el);
    box.querySelector("label").textContent = t("sealed_upload");
    parts.push(box);
  }
  return { mineText, parts };
}

/** Reveal by itself when the bidder may reveal and this browser keeps its bid file. */
export function revealKept(ctx, mine) {
  const file = currentFile(ctx.state.lot_id, mine);
  if (mine?.can_reveal && file && revealing !== file.commitment) reveal(ctx, mine, file);
}
