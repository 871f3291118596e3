// The host console (/host, optionally #token=<staff token>): sessions, lots, bidders,
// deposits, the lot's clock controls, and a live staff view of the selected lot.

import { LotConnection } from "./conn.js";
import { mountBank } from "./bank.js";
import { addStrings, codeText, initI18n, onLangChange, t } from "./i18n.js";
import "./records-i18n.js";
import "./trade-i18n.js";
import { FORMAT_NAMES, drawPlay, templateOf } from "./formats.js";
import { drawLotForm, formatName, readLotForm, relabelLotForm } from "./lotform.js";
import { epochToZoned, loadZone, zonedToEpoch } from "./zone.js";
import { currencySign, normalizeInput } from "./money.js";
import { reserveText } from "./lotinfo.js";
import {
  $, ENDED, MessageBox, api, apiLots, bindStaffToken, clock, confirmAction, drawCountdown, guard, h,
  money, resultText, showAmount, showConn, showStatus,
} from "./ui.js";

addStrings({
  zh: {
    proxy_label: "允许代理出价（正向）", session_mode: "结束方式",
    session_mode_parallel: "同时结束", session_mode_serial: "依次进行",
    session_mode_staggered: "错时结束", stagger_label: "错时间隔（秒）",
    ceiling: "最高限价", times_in_zone: "时间均为交易中心时区",
    extend_to_time: "新的截止时间",
    extend_time_not_later: "新的截止时间须晚于当前截止时间 {time}",
    confirm_start: "确认开始标的“{title}”的竞价？",
    confirm_start_empty: "注意：标的“{title}”目前没有具备资格（保证金已到账）的竞买人，开始后无人能够报价。仍要开始吗？",
    confirm_cancel: "确认取消标的“{title}”？取消后不可恢复。理由：{reason}",
    notice_label: "公告（暂停、终止时向所有竞买人和公众展示）",
    restart_label: "恢复时从起始价重新竞价（此前报价作废）",
    reserve_entry_label: "录入保留价（密封，须监督人确认）", enter_reserve: "录入",
    reserve_commitment: "承诺值 {commitment}",
    confirm_restart: "确认从起始价重新竞价？标的“{title}”此前的全部报价作废。",
    announce_label: "向竞买人发布公告", announce: "发布公告",
    extend_on_label: "延时触发", extend_on_any: "任何报价",
    extend_on_leader_change_opt: "更换领先者的报价", extend_on_rank_1_opt: "成为最优价的报价",
    min_bidders_label: "最少竞买人数（选填）", confirm_above_label: "超过几个幅度须竞买人确认（选填）",
    show_counts_label: "竞买人数与报价次数", show_counts_always: "始终公开",
    restart_allowed_label: "暂停后允许从起始价重新竞价",
    preempt_holders_label: "优先购买权人（竞买人编号，按顺位以逗号分隔，选填）",
    preempt_exercise_label: "优先购买权行使方式", preempt_exercise_during: "竞价期间以同等价格应价",
    preempt_exercise_at_end: "竞价结束后按最终价格行使",
    preempt_window_label: "行使期限（秒，竞价结束后行使时）",
    on_default_label: "竞得人违约后", on_default_host: "届时由主持人决定",
    on_default_runner_up: "可由候补人递补（保留其保证金）", on_default_relist: "重新挂牌",
    questions_title: "竞买人提问与异议", questions_none: "暂无",
    question_kind_question: "提问", question_kind_objection: "异议",
    answer_placeholder: "答复", answer_public: "公开答复（不显示提问人）", answer_send: "答复",
    answered: "已答复：{text}",
  },
  en: {
    proxy_label: "Allow proxy bidding (forward)", session_mode: "Closing",
    session_mode_parallel: "Parallel", session_mode_serial: "Serial (one after another)",
    session_mode_staggered: "Staggered", stagger_label: "Stagger (s)",
    ceiling: "Ceiling", times_in_zone: "Times are in the center's time zone",
    extend_to_time: "New closing time",
    extend_time_not_later: "The new closing time must be later than the current one, {time}",
    confirm_start: "Start the bidding of “{title}”?",
    confirm_start_empty: "Warning: “{title}” has no eligible bidder (deposit received) yet; once started nobody can bid. Start anyway?",
    confirm_cancel: "Cancel “{title}”? This cannot be undone. Reason: {reason}",
    notice_label: "Public notice (shown to every bidder and the public on suspending or terminating)",
    restart_label: "On resuming, restart bidding from the start price (earlier bids void)",
    reserve_entry_label: "Enter the reserve (sealed; a supervisor approves it)",
    enter_reserve: "Enter", reserve_commitment: "commitment {commitment}",
    confirm_restart: "Restart bidding of “{title}” from the start price? Every earlier bid becomes void.",
    announce_label: "Announce to the bidders", announce: "Announce",
    extend_on_label: "Soft close triggered by", extend_on_any: "any bid",
    extend_on_leader_change_opt: "a change of leader", extend_on_rank_1_opt: "a new best bid",
    min_bidders_label: "Minimum bidders (optional)", confirm_above_label: "Confirmation past this many steps (optional)",
    show_counts_label: "Counts of bidders and bids", show_counts_always: "always shown",
    restart_allowed_label: "Allow restarting from the start price after a suspension",
    preempt_holders_label: "Holders of pre-emptive rights (bidder ids, by priority, comma-separated; optional)",
    preempt_exercise_label: "Pre-emptive rights exercised", preempt_exercise_during: "during bidding, matching the best price",
    preempt_exercise_at_end: "once bidding ends, at the final price",
    preempt_window_label: "Window (s, when exercised at the end)",
    on_default_label: "If the winner defaults", on_default_host: "the host decides then",
    on_default_runner_up: "the runner-up may be offered the lot (its deposit held)",
    on_default_relist: "relist the lot",
    questions_title: "Bidders' questions and objections", questions_none: "None",
    question_kind_question: "Question", question_kind_objection: "Objection",
    answer_placeholder: "Answer", answer_public: "Answer publicly (the asker is never shown)", answer_send: "Answer",
    answered: "Answered: {text}",
  },
});

const SELECTED_KEY = "auction.host.selected";
const LOTS_REFRESH_MS = 10_000;

// Errors speak the page's language only (no English developer detail); an error about a
// field is shown next to that field (see showFieldError).
const messages = new MessageBox($("message"));
let token = "";
let sessions = [];
let lots = [];
let selectedId = null;
let conn = null;
let state = null;
let bids = []; // BidAccepted events of the selected lot, in sequence order
let depositPrefill = null;
let extendPrefill = null;

function staffToken() {
  return ($("staff-token").value || token).trim();
}

function linksKey(lotId) {
  return `auction.links.${lotId}`;
}

function storedLinks(lotId) {
  try {
    return JSON.parse(sessionStorage.getItem(linksKey(lotId)) ?? "[]");
  } catch {
    return [];
  }
}

function storeLink(lotId, link) {
  const links = storedLinks(lotId).filter((l) => l.bidder_id !== link.bidder_id);
  links.push(link);
  try {
    sessionStorage.setItem(linksKey(lotId), JSON.stringify(links));
  } catch {
    // Storage full or disabled: the link stays on screen until the page is left.
  }
  return links;
}

// ---------------------------------------------------------------------------- field errors

/** Input ids of the fields of each form, by the name the API gives them in `detail`. */
const FORM_FIELDS = {
  session: { name: "session-name", mode: "session-mode", stagger_s: "session-stagger" },
  lot: {
    session_id: "lot-session", title: "lot-title", format: "lot-format", opens_at: "lot-opens-at",
    direction: "lot-direction", start_price: "lot-start", step: "lot-step", deposit: "lot-deposit",
    duration_s: "lot-duration", reserve: "lot-reserve", ceiling: "lot-ceiling",
    extend_window_s: "lot-extend-window", extend_s: "lot-extend", visibility: "lot-visibility",
    extend_on: "lot-extend-on", min_bidders: "lot-min-bidders", confirm_above_steps: "lot-confirm-above",
    show_counts: "lot-show-counts", restart_allowed: "lot-restart-allowed", on_default: "lot-on-default",
    improve: "lot-improve", proxy: "lot-proxy", max_jump_steps: "lot-max-jump",
    preemption: "lot-preempt-holders", exercise: "lot-preempt-exercise",
    window_s: "lot-preempt-window",
  },
  bidder: { bidder_id: "bidder-id", name: "bidder-name", reason: "bidder-reason" },
  deposit: {
    bidder_id: "deposit-bidder", amount: "deposit-amount", account: "deposit-account",
    reason: "deposit-reason",
  },
  control: { reason: "reason", closes_at: "extend-to" },
};

const fieldErrors = new Map(); // input id -> {code, message, key, vars}

/** The input of `form` an error is about: the field named first in its detail, else the
 * field its code is about, else `fallback`. */
function fieldOf(form, error, fallback) {
  const fields = { ...FORM_FIELDS[form] };
  if (form === "lot") {
    // The fields of the chosen format's form (lp-<param>).
    for (const input of document.querySelectorAll("#lot-format-fields [data-param]")) {
      fields[input.dataset.param] = input.id;
    }
  }
  // "params.start_price: ..." is about start_price.
  const detail = (typeof error.detail === "string" ? error.detail : "").replace(/^params\./, "");
  let best = null;
  for (const [name, id] of Object.entries(fields)) {
    if ($(id)?.closest("[hidden]")) continue; // not on screen (another format's field)
    const at = detail.search(new RegExp(`(^|[^A-Za-z0-9_])${name}([^A-Za-z0-9_]|$)`));
    if (at >= 0 && (best === null || at < best.at)) best = { at, id };
  }
  if (best) return best.id;
  if (error.code === "reason_required" && fields.reason) return fields.reason;
  if (["invalid_amount", "bad_amount"].includes(error.code) && fields.amount) return fields.amount;
  return fallback;
}

/** Show `error` (a server error or `{key, vars}`) next to input `id`, in the page's language. */
function showFieldError(id, error) {
  fieldErrors.set(id, error);
  drawFieldErrors();
  $(id)?.focus();
}

function clearFieldErrors() {
  fieldErrors.clear();
  drawFieldErrors();
}

function drawFieldErrors() {
  for (const el of document.querySelectorAll(".field-error")) {
    if (!fieldErrors.has(el.dataset.for)) {
      document.getElementById(el.dataset.for)?.removeAttribute("aria-invalid");
      el.remove();
    }
  }
  for (const [id, error] of fieldErrors) {
    const input = $(id);
    if (!input) continue;
    const anchor = input.closest("label") ?? input;
    let el = document.querySelector(`.field-error[data-for="${id}"]`);
    if (!el) {
      el = h("p", { class: "field-error", role: "alert", dataset: { for: id }, id: `${id}-error` });
      anchor.after(el);
    }
    el.dataset.code = error.code ?? error.key ?? "";
    el.textContent = error.key ? t(error.key, error.vars) : codeText(error.code, error.message);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", el.id);
  }
}

/**
 * Call the API with the staff token. Returns data or null. A failure is shown next to the
 * field of `form` it is about (or next to input `near`), else in #message.
 */
async function call(path, method = "GET", body, { form = null, near = null } = {}) {
  if (!staffToken()) {
    messages.show({ key: "need_token" });
    return null;
  }
  if (method !== "GET") {
    messages.clear();
    clearFieldErrors();
  }
  const answer = await api(path, { method, body, token: staffToken() });
  if (!answer.ok) {
    const id = form ? fieldOf(form, answer.error, near) : near;
    if (id) showFieldError(id, answer.error);
    else messages.show(answer.error);
    return null;
  }
  return answer.data ?? {};
}

// ---------------------------------------------------------------------------- sessions

async function loadSessions(selectId) {
  const data = await call("/api/sessions");
  if (!data) return;
  sessions = Array.isArray(data) ? data : data.sessions ?? [];
  const select = $("lot-session");
  const keep = selectId ?? select.value;
  select.replaceChildren(...sessions.map((s) => h("option", { value: s.session_id },
    s.name ? `${s.name} (${s.session_id})` : s.session_id)));
  if (keep && sessions.some((s) => s.session_id === keep)) select.value = keep;
  else if (sessions.length) select.value = sessions[sessions.length - 1].session_id;
}

async function createSession() {
  const name = $("session-name").value.trim();
  const body = { name, mode: $("session-mode").value };
  if (body.mode === "staggered") {
    const stagger = readInt("session-stagger");
    if (stagger === undefined || Number.isNaN(stagger)) {
      showFieldError("session-stagger", { code: "invalid_params" });
      return;
    }
    body.stagger_s = stagger;
  }
  const data = await call("/api/sessions", "POST", body, { form: "session", near: "session-name" });
  if (!data) return;
  messages.show({ key: "created_session", vars: { id: data.session_id } }, "ok");
  $("session-name").value = "";
  await loadSessions(data.session_id);
}

// ---------------------------------------------------------------------------- lots

/** The value of a datetime-local input as epoch ms (the center's time zone), or null. */
function readDateTime(id) {
  const text = $(id).value;
  if (!text) return null;
  return zonedToEpoch(text);
}

/** Epoch ms as the value of a datetime-local input (the center's time zone, seconds included). */
function dateTimeValue(ms) {
  return epochToZoned(ms);
}

/** Epoch ms as "YYYY-MM-DD HH:MM:SS". */
function dateTimeText(ms) {
  return dateTimeValue(ms).replace("T", " ");
}

function readInt(id) {
  const text = normalizeInput($(id).value);
  if (text === "") return undefined;
  return /^\d{1,9}$/.test(text) ? Number(text) : NaN;
}

/** The format chosen for a new lot (names in words): english has its own fields, the
 * others a form drawn from their template (lotform.js). */
function drawFormatChoice() {
  const select = $("lot-format");
  if (!select.options.length) {
    select.replaceChildren(...FORMAT_NAMES.map((name) => h("option", { value: name }, name)));
  }
  for (const option of select.options) option.textContent = formatName(option.value);
  const english = select.value === "english";
  $("lot-format-fields").hidden = english;
  for (const el of document.querySelectorAll(".english-only")) el.hidden = !english;
  relabelLotForm($("lot-format-fields"));
}

function chooseFormat() {
  drawFormatChoice();
  const format = $("lot-format").value;
  if (format !== "english") drawLotForm($("lot-format-fields"), format, templateOf(format));
  clearFieldErrors();
}

async function createLot() {
  const sessionId = $("lot-session").value;
  if (!sessionId) {
    messages.show({ key: "no_session" });
    return;
  }
  const format = $("lot-format").value || "english";
  if (format !== "english") {
    const read = readLotForm($("lot-format-fields"));
    if (read.error) {
      showFieldError(read.id, read.error);
      return;
    }
    const body = { session_id: sessionId, title: $("lot-title").value.trim(), format, params: read.params };
    const data = await call("/api/lots", "POST", body, { form: "lot", near: "lot-title" });
    if (!data) return;
    messages.show({ key: "created_lot", vars: { id: data.lot_id } }, "ok");
    await loadLots();
    if (data.lot_id) select(data.lot_id);
    return;
  }
  const params = {
    direction: $("lot-direction").value,
    currency: "CNY",
    start_price: normalizeInput($("lot-start").value),
    step: normalizeInput($("lot-step").value),
    deposit: normalizeInput($("lot-deposit").value),
    visibility: $("lot-visibility").value,
    improve: $("lot-improve").value,
  };
  const ints = {
    duration_s: "lot-duration", extend_window_s: "lot-extend-window", extend_s: "lot-extend",
    max_jump_steps: "lot-max-jump", min_bidders: "lot-min-bidders",
    confirm_above_steps: "lot-confirm-above",
  };
  for (const [key, id] of Object.entries(ints)) {
    const value = readInt(id);
    if (Number.isNaN(value)) {
      showFieldError(id, { code: "invalid_params" });
      return;
    }
    if (value !== undefined) params[key] = value;
  }
  for (const [key, id] of [["reserve", "lot-reserve"], ["ceiling", "lot-ceiling"]]) {
    const value = normalizeInput($(id).value);
    if (value) params[key] = value;
  }
  if (!params.deposit) delete params.deposit;
  const opensAt = readDateTime("lot-opens-at");
  if ($("lot-opens-at").value && opensAt === null) {
    showFieldError("lot-opens-at", { code: "bad_deadline" });
    return;
  }
  if (opensAt !== null) params.opens_at = opensAt;
  if ($("lot-proxy").checked) params.proxy = true;
  if ($("lot-restart-allowed").checked) params.restart_allowed = true;
  // Pre-emptive purchase rights: the holders' bidder ids in order of priority.
  const holders = $("lot-preempt-holders").value.split(/[,，\s]+/).filter(Boolean);
  if (holders.length) {
    params.preemption = { holders, exercise: $("lot-preempt-exercise").value };
    const windowS = readInt("lot-preempt-window");
    if (Number.isNaN(windowS)) {
      showFieldError("lot-preempt-window", { code: "invalid_params" });
      return;
    }
    if (windowS !== undefined) params.preemption.window_s = windowS;
  }
  // Choices sent only when they differ from the rules' defaults.
  if ($("lot-extend-on").value !== "any") params.extend_on = $("lot-extend-on").value;
  if ($("lot-show-counts").value !== "always") params.show_counts = $("lot-show-counts").value;
  if ($("lot-on-default").value) params.on_default = $("lot-on-default").value;
  const body = { session_id: sessionId, title: $("lot-title").value.trim(), format: "english", params };
  const data = await call("/api/lots", "POST", body, { form: "lot", near: "lot-title" });
  if (!data) return;
  messages.show({ key: "created_lot", vars: { id: data.lot_id } }, "ok");
  await loadLots();
  if (data.lot_id) select(data.lot_id);
}

async function loadLots() {
  if (!staffToken()) return;
  const answer = await apiLots({ token: staffToken() });
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  lots = Array.isArray(answer.data) ? answer.data : answer.data?.lots ?? [];
  drawLots();
}

function drawLots() {
  $("lots").replaceChildren(...lots.map((lot) => {
    const live = lot.lot_id === selectedId && state ? state : lot;
    const statusEl = h("span", { class: "status" });
    showStatus(statusEl, live.status);
    return h("li", {
      class: `lot-item${lot.lot_id === selectedId ? " selected" : ""}`,
      dataset: { lotId: lot.lot_id, status: live.status ?? "" },
      tabindex: "0", role: "button",
      onclick: () => select(lot.lot_id),
      onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") select(lot.lot_id); },
    },
    h("span", { class: "lot-title" }, live.title ?? lot.lot_id),
    statusEl,
    h("span", { class: "lot-meta" }, `${lot.lot_id} · ${money(live.best, live.params?.currency)}`));
  }));
}

// ---------------------------------------------------------------------------- selected lot

function select(lotId) {
  if (!lotId) return;
  if (conn) conn.stop();
  selectedId = lotId;
  try {
    sessionStorage.setItem(SELECTED_KEY, lotId);
  } catch {
    // not remembered across reloads; harmless
  }
  state = lots.find((l) => l.lot_id === lotId) ?? null;
  bids = [];
  depositPrefill = null;
  $("deposit-amount").value = "";
  conn = new LotConnection({
    lotId,
    token: staffToken(),
    afterSeq: 0,
    onConnState: (s) => showConn(s),
    onUpdate: (events, snapshot) => {
      for (const e of events) if (e.type === "BidAccepted") bids.push(e);
      if (snapshot) adopt(snapshot);
      render();
      drawLots();
    },
    onError: (frame) => messages.show(frame),
    onReset: () => {
      bids = [];
    },
  });
  conn.start();
  drawLinks();
  render();
  drawLots();
}

/** Take `snapshot` of the selected lot unless what is shown is newer. */
function adopt(snapshot) {
  if (snapshot?.lot_id !== selectedId) return;
  if (state?.lot_id === selectedId && Number.isInteger(state.seq) && snapshot.seq < state.seq) return;
  state = snapshot;
}

/** The bidders' questions and objections (staff view), each with its answer or a form. */
let questionsDrawn = null; // what the list shows: redrawn only when it changes (typed answers stay)

function drawQuestions() {
  const questions = state?.questions ?? [];
  const running = Boolean(state && !ENDED.has(state.status));
  const key = JSON.stringify([selectedId, running, questions, document.documentElement.lang]);
  if (key === questionsDrawn) return;
  questionsDrawn = key;
  $("questions").replaceChildren(...(questions.length ? questions.map((q) => {
    const item = h("li", { dataset: { seq: q.seq } },
      h("strong", {}, t(`question_kind_${q.kind}`)), ` ${q.bidder_no} (${q.bidder_id}): ${q.text}`);
    if (q.answer !== null) {
      item.append(h("div", { class: "sub answer" }, t("answered", { text: q.answer })));
    } else if (running) {
      const text = h("input", { type: "text", maxlength: "500", class: "answer-text",
                                placeholder: t("answer_placeholder") });
      const pub = h("input", { type: "checkbox", class: "answer-public" });
      const send = h("button", { type: "button", class: "answer-send" }, t("answer_send"));
      send.addEventListener("click", () => answerQuestion(q.seq, text.value.trim(), pub.checked));
      item.append(h("div", { class: "row" }, text, h("label", { class: "inline" }, pub, t("answer_public")), send));
    }
    return item;
  }) : [h("li", { class: "empty" }, t("questions_none"))]));
}

async function answerQuestion(seq, text, isPublic) {
  if (!selectedId || !text) return;
  const data = await call(`/api/lots/${encodeURIComponent(selectedId)}/questions/${seq}/answer`,
    "POST", { text, public: isPublic });
  if (data?.state) {
    adopt(data.state);
    render();
  }
}

/** A host enters the lot's reserve (a reverse lot's internal ceiling): sealed at once,
 * the page keeps nothing of it but the commitment the server answers. */
async function enterReserve() {
  const amount = normalizeInput($("reserve-amount").value);
  if (!selectedId || !amount) return;
  const data = await call(`/api/lots/${encodeURIComponent(selectedId)}/reserve`, "POST",
    { amount, reason: $("reason").value.trim() || undefined }, { near: "reserve-amount" });
  $("reserve-amount").value = "";
  if (!data) return;
  messages.show({ key: "done" }, "ok");
  if (data.state) {
    adopt(data.state);
    render();
  }
}

async function announce() {
  const text = $("announce-text").value.trim();
  if (!selectedId || !text) return;
  const data = await call(`/api/lots/${encodeURIComponent(selectedId)}/announce`, "POST", { text },
    { near: "announce-text" });
  if (!data) return;
  $("announce-text").value = "";
  messages.show({ key: "done" }, "ok");
  if (data.state) {
    adopt(data.state);
    render();
  }
}

function registerEntries() {
  return Array.isArray(state?.register) ? state.register : [];
}

function render() {
  const p = state?.params;
  const reverse = p?.direction === "reverse";
  $("selected").dataset.lotId = selectedId ?? "";
  $("selected-title").textContent = selectedId ? state?.title ?? selectedId : t("select_lot");
  $("selected-id").textContent = selectedId ?? "";
  $("report-link").hidden = !selectedId;
  if (selectedId) $("report-link").href = `/report/${encodeURIComponent(selectedId)}`;
  showStatus($("status"), state?.status);
  $("best-label").textContent = t(reverse ? "best_reverse" : "best_forward");
  $("currency").textContent = currencySign(p?.currency ?? "CNY");
  showAmount($("best"), state?.best);
  $("leader").textContent = state?.leader_no ?? "—";
  $("bid-count").textContent = String(state?.bid_count ?? 0);
  $("reserve-label").textContent = t(reverse ? "ceiling" : "reserve");
  $("reserve").textContent = state?.reserve_entry ? reserveText(state)
    : reverse ? money(p?.ceiling, p?.currency, t("none"))
      : money(state?.reserve, p?.currency, t("none"));
  const entry = state?.reserve_entry;
  $("reserve-entry-row").hidden = !entry;
  $("enter-reserve").disabled = !entry || !["waiting", "entered"].includes(entry.status);
  $("reserve-commitment").textContent = entry?.commitment
    ? t("reserve_commitment", { commitment: entry.commitment }) : "";

  const result = resultText(state);
  $("result-card").hidden = !result;
  $("result").textContent = result;

  drawRegister();
  drawDepositChoices();
  drawBids();
  drawCountdown(state, conn ? conn.serverNow() : Date.now());
  drawPlay("host", $("play"), {
    state, you: null, conn, messages, t, money,
    serverNow: () => (conn ? conn.serverNow() : Date.now()), rerender: render,
  });

  const deposit = $("deposit-amount");
  if (p?.deposit && (deposit.value === "" || deposit.value === depositPrefill)) {
    deposit.value = p.deposit;
    depositPrefill = p.deposit;
  }
  const extendTo = $("extend-to");
  if (Number.isFinite(state?.closes_at) && (extendTo.value === "" || extendTo.value === extendPrefill)) {
    extendTo.value = extendPrefill = dateTimeValue(state.closes_at + 120_000);
  }
  const status = state?.status;
  const ended = ENDED.has(status);
  $("schedule").disabled = !selectedId || (status && status !== "draft");
  $("start").disabled = !selectedId || (status && status !== "scheduled");
  $("pause").disabled = !selectedId || (status && status !== "open");
  $("resume").disabled = !selectedId || (status && status !== "paused");
  $("extend").disabled = !selectedId || (status && !["open", "paused"].includes(status));
  drawQuestions();
  // Restarting from the start price only where the lot's rules allow it.
  $("restart").disabled = !state?.params?.restart_allowed || status !== "paused";
  $("cancel").disabled = !selectedId || ended;
  for (const id of ["register", "confirm-deposit"]) $(id).disabled = !selectedId || ended;
}

function drawRegister() {
  const p = state?.params;
  $("register-table").tBodies[0].replaceChildren(...registerEntries().map((b) => h("tr", {
    dataset: { bidderId: b.bidder_id, bidderNo: b.bidder_no },
  },
  h("td", { class: "no" }, b.bidder_no), h("td", {}, b.bidder_id), h("td", {}, b.name),
  h("td", { class: "num" }, money(b.deposit, p?.currency)),
  h("td", { class: b.eligible ? "ok" : "warn" }, t(b.eligible ? "eligible_yes" : "eligible_no")),
  h("td", { class: "num" }, b.bids == null ? "—" : String(b.bids)), // null: sealed
  h("td", { class: "num" }, money(b.last_bid, p?.currency)),
  h("td", {}, h("button", {
    type: "button", class: "small reissue", dataset: { bidderId: b.bidder_id },
    onclick: guard(() => reissue(b)),
  }, t("reissue"))))));
}

/** A new room link for a registered bidder (the host reloaded the page or the old one
 * expired); the old link stays valid until it expires. */
async function reissue(bidder) {
  const path = `/api/lots/${encodeURIComponent(selectedId)}/bidders/${encodeURIComponent(bidder.bidder_id)}/token`;
  const data = await call(path, "POST", {});
  if (!data) return;
  keepLink(bidder.bidder_id, bidder.name, data);
  messages.show({ key: "registered", vars: { no: data.bidder_no } }, "ok");
}

function keepLink(bidderId, name, pass) {
  const roomUrl = pass.room_url
    ?? `/room/${encodeURIComponent(selectedId)}#token=${encodeURIComponent(pass.token)}`;
  storeLink(selectedId, { bidder_id: bidderId, bidder_no: pass.bidder_no, name, room_url: roomUrl });
  drawLinks();
}

function drawDepositChoices() {
  const selectEl = $("deposit-bidder");
  const entries = registerEntries();
  // Bidders registered here but not yet in a snapshot still get an option.
  const known = new Map(entries.map((b) => [b.bidder_id, b]));
  for (const link of storedLinks(selectedId)) if (!known.has(link.bidder_id)) known.set(link.bidder_id, link);
  const keep = selectEl.value;
  const options = [...known.values()].map((b) => h("option", { value: b.bidder_id },
    `${b.bidder_no} · ${b.name || b.bidder_id}${b.eligible ? " ✓" : ""}`));
  selectEl.replaceChildren(...options);
  if (keep && known.has(keep)) {
    selectEl.value = keep;
  } else {
    const firstWithout = [...known.values()].find((b) => !b.eligible);
    if (firstWithout) selectEl.value = firstWithout.bidder_id;
  }
}

function drawBids() {
  const names = new Map(registerEntries().map((b) => [b.bidder_id, b.name]));
  const currency = state?.params?.currency;
  const rows = bids.slice().reverse().map((e) => h("tr", { dataset: { seq: e.seq, amount: e.amount } },
    h("td", { class: "num" }, String(e.seq)),
    h("td", { class: "no" }, e.bidder_no ?? ""),
    h("td", {}, names.get(e.bidder_id) ?? e.bidder_id ?? ""),
    h("td", { class: "num amt" }, money(e.amount, currency)),
    h("td", { class: "time" }, clock(e.at, true))));
  $("bids").tBodies[0].replaceChildren(...rows);
}

function drawLinks() {
  const links = selectedId ? storedLinks(selectedId) : [];
  $("bidder-links").replaceChildren(...links.map((l) => {
    const href = new URL(l.room_url, location.origin).href;
    const copy = h("button", { type: "button", class: "small" }, t("copy"));
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(href);
        copy.textContent = t("copied");
      } catch {
        // Clipboard refused (no https): the link can still be selected by hand.
      }
    });
    return h("li", { dataset: { bidderId: l.bidder_id, bidderNo: l.bidder_no } },
      h("strong", { class: "no" }, l.bidder_no), " ",
      h("span", {}, `${l.name || ""} (${l.bidder_id})`), " ",
      h("a", { class: "room-link", href, target: "_blank", rel: "noopener" }, href), " ",
      copy);
  }));
}

async function registerBidder() {
  if (!selectedId) return;
  const bidderId = $("bidder-id").value.trim();
  const name = $("bidder-name").value.trim();
  const reason = $("bidder-reason").value.trim();
  const body = { bidder_id: bidderId, name };
  if (reason) body.reason = reason; // optional; recorded with the registration
  const data = await call(`/api/lots/${encodeURIComponent(selectedId)}/bidders`, "POST", body,
    { form: "bidder", near: "bidder-id" });
  if (!data) return;
  keepLink(bidderId, name, data);
  messages.show({ key: "registered", vars: { no: data.bidder_no } }, "ok");
  // Cleared only if unchanged: the host may already be typing the next bidder.
  if ($("bidder-id").value.trim() === bidderId) $("bidder-id").value = "";
  if ($("bidder-name").value.trim() === name) $("bidder-name").value = "";
  if ($("bidder-reason").value.trim() === reason) $("bidder-reason").value = "";
  drawDepositChoices();
  if (!$("deposit-bidder").value) $("deposit-bidder").value = bidderId;
}

async function confirmDeposit() {
  if (!selectedId) return;
  const bidderId = $("deposit-bidder").value;
  if (!bidderId) {
    showFieldError("deposit-bidder", { code: "unknown_bidder" });
    return;
  }
  const body = {
    amount: normalizeInput($("deposit-amount").value),
    account: $("deposit-account").value.trim(),
  };
  const reason = $("deposit-reason").value.trim();
  if (reason) body.reason = reason; // optional; recorded with the deposit
  if (!body.account) {
    showFieldError("deposit-account", { key: "account_required" });
    return;
  }
  const path = `/api/lots/${encodeURIComponent(selectedId)}/bidders/${encodeURIComponent(bidderId)}/deposit`;
  const data = await call(path, "POST", body, { form: "deposit", near: "deposit-amount" });
  if (!data) return;
  messages.show({ key: "deposit_confirmed" }, "ok");
  if ($("deposit-account").value.trim() === body.account) $("deposit-account").value = "";
  if (reason && $("deposit-reason").value.trim() === reason) $("deposit-reason").value = "";
}

async function lotAction(action) {
  if (!selectedId) return;
  const reason = $("reason").value.trim();
  const body = {};
  if (reason) body.reason = reason;
  else if (!["schedule", "start"].includes(action)) {
    showFieldError("reason", { code: "reason_required" });
    return;
  }
  if (action === "extend") {
    const closesAt = readDateTime("extend-to");
    if (closesAt === null) {
      showFieldError("extend-to", { code: "bad_deadline" });
      return;
    }
    if (Number.isFinite(state?.closes_at) && closesAt <= state.closes_at) {
      showFieldError("extend-to", { key: "extend_time_not_later", vars: { time: dateTimeText(state.closes_at) } });
      return;
    }
    body.closes_at = closesAt;
  }
  const notice = $("notice").value.trim();
  if (notice && ["pause", "cancel"].includes(action)) body.notice = notice;
  const restart = action === "resume" && $("restart").checked;
  if (restart) body.restart = true;
  const title = state?.title ?? selectedId;
  if (restart && !confirmAction(t("confirm_restart", { title }))) return;
  if (action === "start") {
    const eligible = registerEntries().filter((b) => b.eligible).length;
    if (!confirmAction(t(eligible ? "confirm_start" : "confirm_start_empty", { title }))) return;
  }
  if (action === "cancel" && !confirmAction(t("confirm_cancel", { title, reason }))) return;
  const data = await call(`/api/lots/${encodeURIComponent(selectedId)}/${action}`, "POST", body,
    { form: "control", near: action === "extend" ? "extend-to" : "reason" });
  if (!data) return;
  messages.show({ key: "done" }, "ok");
  const snapshot = data.state ?? data; // {lot_id, seq, events, state}
  if (snapshot.lot_id && Number.isInteger(snapshot.seq)) {
    adopt(snapshot);
    render();
    drawLots();
  }
  if (reason && $("reason").value.trim() === reason) $("reason").value = "";
  if (body.notice) $("notice").value = "";
  $("restart").checked = false;
  loadLots();
}

// ---------------------------------------------------------------------------- start

async function afterToken() {
  messages.clear();
  await Promise.all([loadSessions(), loadLots()]);
  let remembered = null;
  try {
    remembered = sessionStorage.getItem(SELECTED_KEY);
  } catch {
    remembered = null;
  }
  if (remembered && lots.some((l) => l.lot_id === remembered)) select(remembered);
  else if (selectedId) select(selectedId); // reconnect with the new token
}

function main() {
  initI18n();
  onLangChange(() => {
    messages.draw();
    drawFieldErrors();
    drawFormatChoice();
    showConn(conn ? conn.connState : "offline");
    drawLots();
    drawLinks();
    render();
  });
  showConn("offline");
  token = bindStaffToken($("staff-token"), (fresh) => {
    token = fresh;
    afterToken();
  });
  // Every submit is guarded: a double click sends one request.
  const submit = (id, fn) => $(id).addEventListener("click", guard(async () => {
    clearFieldErrors();
    await fn();
  }, $(id)));
  submit("create-session", createSession);
  submit("create-lot", createLot);
  $("lot-format").addEventListener("change", chooseFormat);
  drawFormatChoice();
  $("refresh-lots").addEventListener("click", loadLots);
  submit("register", registerBidder);
  submit("confirm-deposit", confirmDeposit);
  for (const action of ["schedule", "start", "pause", "resume", "extend", "cancel"]) {
    submit(action, () => lotAction(action));
  }
  submit("announce", announce);
  submit("enter-reserve", enterReserve);
  render();
  loadZone().then((tz) => {
    for (const el of document.querySelectorAll('input[type="datetime-local"]')) el.title = tz;
    $("time-zone").textContent = tz;
  });
  if (staffToken()) afterToken();
  mountBank(staffToken);
  setInterval(() => drawCountdown(state, conn ? conn.serverNow() : Date.now()), 200);
  setInterval(() => { if (staffToken()) loadLots(); }, LOTS_REFRESH_MS);
}

main();
