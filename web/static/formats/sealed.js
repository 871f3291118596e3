// The sealed format's part of the pages (see ../formats.js): sealed bids (一次报价 / 密封报价)
// opened all at once at the lot's closing time (开标). Before the opening only the bidder
// itself sees its price: the board and the host console show how many bids are in; after
// it, every page shows the table of final bids and the winner. Under sealing "bidder" the
// room commits to a hash of the price and a random salt (kept in localStorage and offered
// as a bid file), and reveals them in the reveal window: by itself when this browser
// keeps the bid file, else from the file the bidder uploads.

import { addStrings } from "../i18n.js";
import { decimalsOf, formatAmount, normalizeInput, parseAmount } from "../money.js";
import { clock, h } from "../ui.js";

addStrings({
  zh: {
    sealed_title: "密封报价",
    sealed_opening: "开标时间",
    sealed_count: "已递交报价",
    sealed_bidders: "报价人数",
    sealed_hidden: "开标前任何人（包括主持人与监督人员）都看不到报价金额。",
    sealed_your_bid: "我的报价",
    sealed_none: "尚未报价",
    sealed_revisions_left: "剩余修改次数",
    sealed_submit: "递交密封报价",
    sealed_revise: "修改报价",
    sealed_no_more: "报价已递交，不能再修改。",
    sealed_sent: "报价已密封递交：{amount}",
    sealed_opened: "开标结果",
    sealed_no_bids: "无人报价",
    sealed_no: "竞买号",
    sealed_amount: "报价",
    sealed_order: "递交序号",
    sealed_winner: "中标",
    sealed_tie_rule: "同价规则",
    tie_earliest: "先递交者优先",
    tie_lottery: "摇号决定",
    sealed_placeholder: "输入报价金额",
    sealed_by_bidder: "本标的由竞买人自行密封：报价只保存在您的浏览器和报价文件中，开标后须在解密时段内解密，未解密的报价无效。",
    sealed_committed: "报价已密封递交（服务器只收到哈希）：{amount}。请下载并妥善保存报价文件。",
    sealed_kept: "已密封（金额保存在本浏览器）",
    sealed_elsewhere: "已密封（本浏览器中没有金额：开标后请上传报价文件）",
    sealed_file: "下载报价文件",
    sealed_reveal_until: "解密截止",
    sealed_revealed_n: "已解密",
    sealed_revealing: "正在解密…",
    sealed_revealed: "您的报价已解密，开标时公布",
    sealed_upload: "上传报价文件以解密",
    sealed_bad_file: "报价文件与您的承诺不符",
    sealed_void: "您的报价未在解密时段内解密，已作废",
    sealed_voided: "作废（未解密）",
  },
  en: {
    sealed_title: "Sealed bids",
    sealed_opening: "Opening",
    sealed_count: "Bids in",
    sealed_bidders: "Bidders",
    sealed_hidden: "Until the opening nobody (hosts and supervisors included) sees a price.",
    sealed_your_bid: "Your bid",
    sealed_none: "No bid yet",
    sealed_revisions_left: "Revisions left",
    sealed_submit: "Submit sealed bid",
    sealed_revise: "Revise bid",
    sealed_no_more: "Your bid is in; it can no longer be revised.",
    sealed_sent: "Sealed bid submitted: {amount}",
    sealed_opened: "Bids opened",
    sealed_no_bids: "No bids",
    sealed_no: "Bidder No.",
    sealed_amount: "Price",
    sealed_order: "Seq",
    sealed_winner: "Winner",
    sealed_tie_rule: "Equal prices",
    tie_earliest: "earliest bid wins",
    tie_lottery: "drawn by lot",
    sealed_placeholder: "Your price",
    sealed_by_bidder: "Bids are sealed by the bidder: your price stays in your browser and your bid file; reveal it in the reveal window after the opening, or it is void.",
    sealed_committed: "Sealed bid submitted (the server only has its hash): {amount}. Download your bid file and keep it.",
    sealed_kept: "Sealed (the price is kept in this browser)",
    sealed_elsewhere: "Sealed (no price in this browser: upload your bid file at the opening)",
    sealed_file: "Download bid file",
    sealed_reveal_until: "Reveal until",
    sealed_revealed_n: "Revealed",
    sealed_revealing: "Revealing…",
    sealed_revealed: "Your bid is revealed; it is shown when the window ends",
    sealed_upload: "Upload your bid file to reveal",
    sealed_bad_file: "The bid file does not match your commitment",
    sealed_void: "Your bid was not revealed in the window: it is void",
    sealed_voided: "Void (not revealed)",
  },
});

function summary(ctx) {
  const { state, t } = ctx;
  const play = state.play ?? {};
  return h("dl", { class: "info sealed-summary" },
    h("dt", {}, t("sealed_opening")),
    h("dd", { id: "sealed-opening" }, play.opening_at ? clock(play.opening_at) : "—"),
    h("dt", {}, t("sealed_count")),
    h("dd", { id: "sealed-count" }, String(play.bid_count ?? 0)),
    h("dt", {}, t("sealed_bidders")),
    h("dd", { id: "sealed-bidders" }, String(play.bidders_in ?? 0)),
    h("dt", {}, t("sealed_tie_rule")),
    h("dd", {}, t(play.tie_rule === "lottery" ? "tie_lottery" : "tie_earliest")));
}

function revealed(ctx) {
  const { state, t, money } = ctx;
  const play = state.play ?? {};
  if (!play.opened) return h("p", { class: "sub sealed-hidden" }, t("sealed_hidden"));
  const currency = state.params?.currency;
  const winner = state.outcome?.status === "awarded" ? state.outcome.bidder_no : null;
  const bids = play.bids ?? [];
  return h("section", { class: "sealed-opened" },
    h("h3", {}, t("sealed_opened")),
    bids.length === 0 ? h("p", { class: "empty" }, t("sealed_no_bids")) : h("table", { id: "sealed-table", class: "table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("sealed_no")), h("th", {}, t("sealed_amount")),
        h("th", {}, t("sealed_order")), h("th", {}, ""))),
      h("tbody", {}, ...bids.map((b) => h("tr", { dataset: { winner: String(b.bidder_no === winner) } },
        h("td", {}, b.bidder_no), h("td", { class: "amount" }, money(b.amount, currency)),
        h("td", {}, String(b.seq)),
        h("td", {}, b.bidder_no === winner ? t("sealed_winner") : ""))))));
}

function watch(el, ctx) {
  el.replaceChildren(h("h2", {}, ctx.t("sealed_title")), summary(ctx), revealWindow(ctx),
    revealed(ctx));
}

// ------------------------------------------------------------ sealing by the bidder

/** The reveal window of a bidder-sealed lot: its end and how many revealed. */
function revealWindow(ctx) {
  const play = ctx.state.play ?? {};
  if (play.sealing !== "bidder") return "";
  const rows = [];
  if (play.phase === "reveal") {
    rows.push(h("dt", {}, ctx.t("sealed_reveal_until")),
      h("dd", { id: "sealed-reveal-until" }, clock(play.reveal_ends_at)),
      h("dt", {}, ctx.t("sealed_revealed_n")),
      h("dd", { id: "sealed-revealed-count" }, `${play.revealed_count ?? 0} / ${play.bidders_in ?? 0}`));
  }
  if ((play.voided ?? []).length) {
    rows.push(h("dt", {}, ctx.t("sealed_voided")),
      h("dd", { id: "sealed-voided" }, play.voided.join(", ")));
  }
  return rows.length ? h("dl", { class: "info sealed-reveal" }, ...rows) : "";
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** 32 random bytes as hex: the salt that makes a commitment impossible to guess. */
function newSalt() {
  return hex(crypto.getRandomValues(new Uint8Array(32)));
}

/** The commitment auction/sealed.py's seal_commitment computes: SHA-256 (hex) of the
 * compact JSON [lot_id, bidder_no, amount in minor units as a string, salt]. */
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
function currentFile(state, you) {
  if (!you?.commitment) return null;
  return keptFiles(state.lot_id, you.bidder_no).find((f) => f.commitment === you.commitment) ?? null;
}

let revealing = null; // the commitment whose reveal is in flight (or was answered)

async function reveal(ctx, file) {
  const { conn, messages, t, you } = ctx;
  if (!file || file.commitment !== you?.commitment) {
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

function fileLink(file) {
  const blob = new Blob([JSON.stringify(file, null, 2)], { type: "application/json" });
  return h("a", { id: "sealed-file", class: "button", href: URL.createObjectURL(blob),
    download: `sealed-bid-${file.lot_id}-${file.bidder_no}.json` });
}

/** The room of a bidder-sealed lot: commit while open, reveal in the reveal window
 * (by itself when this browser keeps the bid file, else from an uploaded one). */
function roomByBidder(el, ctx) {
  const { state, you, conn, messages, t, money } = ctx;
  const bidCard = document.getElementById("bid-card");
  if (bidCard) bidCard.hidden = true;
  const play = state.play ?? {};
  const currency = state.params?.currency;
  const decimals = decimalsOf(currency, "0.00");
  let form = el.querySelector("#sealed-form");
  if (!form) {
    const input = h("input", { id: "sealed-amount", type: "text", inputmode: "decimal",
      autocomplete: "off", spellcheck: "false" });
    const button = h("button", { id: "sealed-submit", type: "submit", class: "primary" });
    form = h("form", { id: "sealed-form", class: "bid-form" }, input, button);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const me = ctx.you;
      if (form.dataset.busy === "true" || !me) return;
      const minor = parseAmount(normalizeInput(input.value), decimals);
      if (minor === null) {
        messages.show({ code: "invalid_amount" });
        return;
      }
      const amount = formatAmount(minor, decimals);
      if (ctx.confirmAmount && !(await ctx.confirmAmount(amount, { steps: false }))) return;
      form.dataset.busy = "true";
      messages.clear();
      const salt = newSalt();
      const lotId = ctx.state.lot_id;
      const commitment = await sealCommitment(lotId, me.bidder_no, minor, salt);
      // Kept before sending: a commit acknowledged while the page is gone still counts.
      keepFile({ lot_id: lotId, bidder_no: me.bidder_no, amount, salt, commitment });
      const answer = await conn.act("commit", undefined, undefined, { commitment });
      form.dataset.busy = "false";
      if (answer.type === "ack") {
        input.value = "";
        messages.show({ key: "sealed_committed", vars: { amount: money(amount, currency) } }, "ok");
      } else {
        messages.show({ code: answer.code, message: answer.message, detail: answer.detail });
      }
      ctx.rerender();
    });
  }
  let revealBox = el.querySelector("#sealed-reveal-form");
  if (!revealBox) {
    const upload = h("input", { id: "sealed-upload", type: "file", accept: "application/json,.json" });
    revealBox = h("div", { id: "sealed-reveal-form" }, h("label", { for: "sealed-upload" }), upload);
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
      await reveal(ctx, file);
    });
  }
  const input = form.querySelector("input");
  const button = form.querySelector("button");
  input.placeholder = t("sealed_placeholder");
  button.textContent = t(you?.commitment ? "sealed_revise" : "sealed_submit");
  const open = state.status === "open";
  form.hidden = !open || !you || you.can_bid !== true;
  const file = currentFile(state, you);
  const mineText = !you?.commitment ? t("sealed_none")
    : file ? `${money(file.amount, currency)} · ${t("sealed_kept")}` : t("sealed_elsewhere");
  const mine = h("dl", { class: "info sealed-mine" },
    h("dt", {}, t("sealed_your_bid")),
    h("dd", { id: "sealed-mine", class: "amount", dataset: { revealed: String(Boolean(you?.revealed)) } }, mineText),
    h("dt", {}, t("sealed_revisions_left")),
    h("dd", { id: "sealed-left" }, you ? String(you.revisions_left ?? 0) : "—"));
  const parts = [h("h2", {}, t("sealed_title")), h("p", { class: "sub" }, t("sealed_by_bidder")),
    summary(ctx), revealWindow(ctx), mine];
  if (file) {
    const link = fileLink(file);
    link.textContent = t("sealed_file");
    parts.push(h("p", {}, link));
  }
  if (you?.revealed) parts.push(h("p", { id: "sealed-revealed", class: "sub" }, t("sealed_revealed")));
  if ((play.voided ?? []).includes(you?.bidder_no)) {
    parts.push(h("p", { id: "sealed-void", class: "sub" }, t("sealed_void")));
  }
  parts.push(form);
  if (you?.can_reveal) {
    revealBox.querySelector("label").textContent = t("sealed_upload");
    parts.push(revealBox);
  }
  parts.push(revealed(ctx));
  el.replaceChildren(...parts);
  if (you?.can_reveal && file && revealing !== file.commitment) reveal(ctx, file);
}

/** The room: the bidder's own sealed bid, its revisions left, and the form to submit or
 * revise it (the english bid form is hidden). The form is made once and kept, so that
 * what the bidder types survives the updates of the lot. */
function room(el, ctx) {
  if (ctx.state.play?.sealing === "bidder") {
    roomByBidder(el, ctx);
    return;
  }
  const { state, you, conn, messages, t, money } = ctx;
  const bidCard = document.getElementById("bid-card");
  if (bidCard) bidCard.hidden = true;
  const currency = state.params?.currency;
  const decimals = decimalsOf(currency, you?.last_bid ?? "0.00");
  let form = el.querySelector("#sealed-form");
  if (!form) {
    const input = h("input", { id: "sealed-amount", type: "text", inputmode: "decimal",
      autocomplete: "off", spellcheck: "false" });
    const button = h("button", { id: "sealed-submit", type: "submit", class: "primary" });
    form = h("form", { id: "sealed-form", class: "bid-form" }, input, button);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.dataset.busy === "true") return;
      const minor = parseAmount(normalizeInput(input.value), decimals);
      if (minor === null) {
        messages.show({ code: "invalid_amount" });
        return;
      }
      const amount = formatAmount(minor, decimals);
      if (ctx.confirmAmount && !(await ctx.confirmAmount(amount, { steps: false }))) return;
      form.dataset.busy = "true";
      messages.clear();
      const answer = await conn.bid(amount);
      form.dataset.busy = "false";
      if (answer.type === "ack") {
        input.value = "";
        messages.show({ key: "sealed_sent", vars: { amount: money(answer.amount ?? amount, currency) } }, "ok");
      } else {
        messages.show({ code: answer.code, message: answer.message, detail: answer.detail });
      }
      ctx.rerender();
    });
  }
  const input = form.querySelector("input");
  const button = form.querySelector("button");
  input.placeholder = t("sealed_placeholder");
  button.textContent = t(you?.last_bid ? "sealed_revise" : "sealed_submit");
  const open = state.status === "open";
  form.hidden = !open || !you || you.can_bid === false;
  const mine = h("dl", { class: "info sealed-mine" },
    h("dt", {}, t("sealed_your_bid")),
    h("dd", { id: "sealed-mine", class: "amount" }, you?.last_bid ? money(you.last_bid, currency) : t("sealed_none")),
    h("dt", {}, t("sealed_revisions_left")),
    h("dd", { id: "sealed-left" }, you ? String(you.revisions_left ?? 0) : "—"));
  const note = open && you?.can_bid === false ? h("p", { class: "sub" }, t("sealed_no_more")) : null;
  el.replaceChildren(h("h2", {}, t("sealed_title")), summary(ctx), mine, note ?? "", form,
    revealed(ctx));
}

function template() {
  return {
    direction: "reverse", currency: "CNY", ceiling: "500000.00", deposit: "5000.00",
    duration_s: 300, revisions: 1, tie_rule: "earliest",
  };
}

export default { room, board: watch, host: watch, template };
