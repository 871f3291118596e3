// What the pages share: DOM shortcuts, display of money, times and countdowns, results,
// the HTTP API client and the token taken from the URL fragment.

import { codeText, reasonText, statusName, t } from "./i18n.js";
import { currencySign, groupDigits } from "./money.js";

export const $ = (id) => document.getElementById(id);

export const ENDED = new Set(["closed", "awarded", "failed", "cancelled"]);

/** The last path segment, e.g. "L1" of /room/L1. */
export function lotIdFromPath() {
  const parts = location.pathname.split("/").filter(Boolean);
  return parts.length >= 2 ? decodeURIComponent(parts[parts.length - 1]) : null;
}

/** The token a `#token=...` link brings (null: none). */
function linkToken() {
  return new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
}

/**
 * The token of `#token=...` when the URL has one (then kept in sessionStorage under
 * `storageKey` and removed from the address bar), else the one kept before.
 */
export function takeToken(storageKey) {
  const fromUrl = linkToken();
  try {
    if (fromUrl) {
      sessionStorage.setItem(storageKey, fromUrl);
      history.replaceState(null, "", location.pathname + location.search);
      return fromUrl;
    }
    return sessionStorage.getItem(storageKey);
  } catch {
    return fromUrl;
  }
}

/**
 * The staff token of the host console, report, review and supervisor pages: from a
 * `#token=...` link (also one opened later in a tab already on the page), else what the
 * person typed before this script ran (a slow page), else the tab's session storage; shown
 * in `input`. `changed(token)` is called whenever the person or a link changes it later;
 * returns the token the page starts with.
 */
export function bindStaffToken(input, changed) {
  const key = "auction.staffToken";
  const store = (value) => {
    try {
      sessionStorage.setItem(key, value);
    } catch {
      // kept in memory only
    }
  };
  const typed = input.value.trim();
  const fromLink = Boolean(linkToken());
  let token = takeToken(key) ?? "";
  if (typed && !fromLink) {
    token = typed;
    store(token);
  }
  input.value = token;
  const set = (value) => {
    token = value;
    store(value);
    changed(token);
  };
  input.addEventListener("change", () => set(input.value.trim()));
  window.addEventListener("hashchange", () => {
    const fresh = takeToken(key);
    if (!fresh || fresh === token) return;
    input.value = fresh;
    set(fresh);
  });
  return token;
}

/** `amount` (decimal string) for display: "¥1,250,000.00", or `empty` when null. */
export function money(amount, currency, empty = "—") {
  if (amount === null || amount === undefined) return empty;
  return currencySign(currency) + groupDigits(amount);
}

/** Show `amount` grouped (no currency sign) in `el`; data-amount keeps the exact string. */
export function showAmount(el, amount, empty = "—") {
  if (!el) return;
  const missing = amount === null || amount === undefined;
  const text = missing ? empty : groupDigits(amount);
  el.dataset.amount = amount ?? "";
  el.classList.toggle("placeholder", missing);
  const sign = el.closest(".price")?.querySelector(".currency");
  if (sign) sign.hidden = missing;
  if (el.textContent === text) return;
  el.textContent = text;
  fitToWidth(el);
}

/** Shrink the font of a big `.price .amount` until it fits its card on one line. */
export function fitToWidth(el) {
  const box = el.closest(".price");
  if (!box) return;
  el.style.fontSize = "";
  let others = 0;
  for (const sibling of box.children) if (sibling !== el) others += sibling.offsetWidth;
  const available = box.clientWidth - others - 8;
  if (available > 0 && el.scrollWidth > available) {
    const size = parseFloat(getComputedStyle(el).fontSize);
    el.style.fontSize = `${Math.max(12, Math.floor((size * available) / el.scrollWidth))}px`;
  }
}

window.addEventListener("resize", () => {
  for (const el of document.querySelectorAll(".price .amount")) fitToWidth(el);
});

const pad = (n, w = 2) => String(n).padStart(w, "0");

/** Server time `ms` as local HH:MM:SS (with .mmm when `millis`). */
export function clock(ms, millis = false) {
  if (!Number.isFinite(ms)) return "";
  const d = new Date(ms);
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return millis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** Server time `ms` as local date and time, YYYY-MM-DD HH:MM:SS. */
export function dateTime(ms) {
  if (!Number.isFinite(ms)) return "";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(ms)}`;
}

/** A duration as mm:ss, h:mm:ss from one hour on, "N 天 hh:mm:ss" from one day on;
 * partial seconds round up. */
export function duration(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  if (total >= 86_400) {
    const rest = total % 86_400;
    const hms = `${pad(Math.floor(rest / 3600))}:${pad(Math.floor((rest % 3600) / 60))}:${pad(rest % 60)}`;
    return t("duration_days", { d: Math.floor(total / 86_400), hms });
  }
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

/**
 * What the countdown of `state` shows at server time `now`: `{label, text, phase, ms}`.
 * Open: closes_at - now. Paused: frozen at closes_at - paused_at. Scheduled with a
 * planned opening: time to it.
 */
export function countdown(state, now) {
  if (!state) return { label: t("countdown"), text: "--:--", phase: "none", ms: null };
  const { status, closes_at: closesAt, paused_at: pausedAt, opens_at: opensAt } = state;
  if (status === "open" && Number.isFinite(closesAt)) {
    const ms = closesAt - now;
    return {
      label: ms > 0 ? t("closes_in") : t("ending"), text: duration(ms),
      phase: ms <= 60_000 ? "urgent" : "running", ms,
    };
  }
  if (status === "paused" && Number.isFinite(closesAt)) {
    const ms = closesAt - (Number.isFinite(pausedAt) ? pausedAt : now);
    return { label: t("paused_countdown"), text: duration(ms), phase: "paused", ms };
  }
  if (status === "scheduled" && Number.isFinite(opensAt) && opensAt > now) {
    return { label: t("opens_in"), text: duration(opensAt - now), phase: "waiting", ms: null };
  }
  if (ENDED.has(status)) return { label: t("ended"), text: "00:00", phase: "ended", ms: 0 };
  return { label: t("not_started"), text: "--:--", phase: "waiting", ms: null };
}

/** Draw `countdown(state, now)` into #countdown (data-ms, data-phase) and #countdown-label. */
export function drawCountdown(state, now) {
  const c = countdown(state, now);
  const el = $("countdown");
  if (el) {
    if (el.textContent !== c.text) el.textContent = c.text;
    el.dataset.phase = c.phase;
    el.dataset.long = String(c.text.length > 8); // days: a smaller font keeps it in its card
    el.dataset.ms = c.ms === null ? "" : String(Math.max(0, Math.round(c.ms)));
  }
  const label = $("countdown-label");
  if (label && label.textContent !== c.label) label.textContent = c.label;
}

/** The localized status in `el`; data-status keeps the code. */
export function showStatus(el, status) {
  if (!el) return;
  el.textContent = status ? statusName(status) : "—";
  el.dataset.status = status ?? "";
}

/** The result line of an ended lot, or "" while it runs. */
export function resultText(state) {
  if (!state || !ENDED.has(state.status)) return "";
  const o = state.outcome;
  const currency = state.params?.currency;
  if (o?.awards?.length) { // a multi-unit lot: every winner, best first
    const list = o.awards.map((a) => t("award_item", {
      no: a.bidder_no, units: a.units, amount: money(a.amount, currency) })).join("；");
    return t("result_awarded_units", {
      units: o.awards.reduce((n, a) => n + a.units, 0), list });
  }
  if (o?.status === "awarded" || state.status === "awarded") {
    return t("result_awarded", { no: o?.bidder_no ?? "—", amount: money(o?.amount, currency) });
  }
  if (o?.status === "failed" || state.status === "failed") {
    return t("result_failed", { reason: reasonText(o?.reason) || t("reason_no_bids") });
  }
  if (o?.status === "cancelled" || state.status === "cancelled") {
    return t("result_cancelled", { reason: reasonText(o?.reason) });
  }
  return t("result_closed");
}

/**
 * A multi-unit lot's units line in `el` (hidden for a lot of one unit): the cut-off price
 * (data-amount) and how many units are allotted.
 */
export function drawUnits(el, state) {
  const units = state?.units;
  el.hidden = !units || ENDED.has(state.status);
  if (!units) return;
  const cut = el.querySelector("[data-cut-off]");
  cut.textContent = units.cut_off ? money(units.cut_off, state.params?.currency) : "—";
  cut.dataset.amount = units.cut_off ?? "";
  el.querySelector("[data-allotted]").textContent = units.cut_off
    ? t("units_allotted", { allotted: units.allotted, total: units.total })
    : `${t("units_allotted", { allotted: units.allotted, total: units.total })} · ${t("units_open")}`;
}

/** Draw the connection badge #conn: 在线 / 连接中 / 离线 (data-state keeps the code). */
export function showConn(state) {
  const el = $("conn");
  if (!el) return;
  el.dataset.state = state ?? "connecting";
  el.textContent = t(`conn_${state ?? "connecting"}`);
}

/**
 * A message in #message: `{code, message}` (an error, translated when the language
 * changes) or `{key, vars}` (our own text). `kind`: "error" | "ok" | "info".
 */
export class MessageBox {
  /** `details`: append the server's technical `detail` (English) to errors (staff pages). */
  constructor(el, { details = false } = {}) {
    this.el = el;
    this.details = details;
    this.current = null;
  }

  show(content, kind = "error") {
    this.current = { ...content, kind };
    this.draw();
  }

  clear() {
    this.current = null;
    this.draw();
  }

  draw() {
    if (!this.el) return;
    const c = this.current;
    if (!c) {
      this.el.textContent = "";
      this.el.dataset.kind = "";
      this.el.dataset.code = "";
      this.el.hidden = true;
      return;
    }
    let text = c.key ? t(c.key, c.vars) : codeText(c.code, c.message);
    if (this.details && c.detail && typeof c.detail === "string" && c.kind === "error") {
      text += ` (${c.detail})`;
    }
    this.el.textContent = text;
    this.el.dataset.kind = c.kind;
    this.el.dataset.code = c.code ?? "";
    this.el.hidden = false;
  }
}

/**
 * Call the HTTP API (`headers`: more headers; `raw`: a body sent as it is, e.g. a file).
 * Resolves `{ok: true, data}` or `{ok: false, error: {code, message,
 * detail}}` (network failures too); never rejects.
 */
export async function api(path, { method = "GET", body, token, headers: extra = {}, raw } = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: raw !== undefined ? raw : body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, error: { code: "network" } };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.ok) return { ok: true, data };
  const error = data?.error && typeof data.error === "object" ? data.error : {};
  const fallback = response.status === 401 ? "unauthorized"
    : response.status === 403 ? "forbidden"
      : response.status === 404 ? "not_found"
        : response.status >= 500 ? "server_error" : "bad_request";
  return { ok: false, error: { code: error.code ?? fallback, message: error.message, detail: error.detail } };
}

/**
 * Every lot of `GET /api/lots`, following its pages (`next`): resolves as `api` does,
 * with `data.lots` holding the lots of every page.
 */
export async function apiLots(options = {}) {
  const lots = [];
  let after = null;
  for (;;) {
    const query = after === null ? "" : `?after=${encodeURIComponent(after)}`;
    const answer = await api(`/api/lots${query}`, options);
    if (!answer.ok) return answer;
    lots.push(...(answer.data?.lots ?? []));
    after = answer.data?.next ?? null;
    if (after === null) return { ok: true, data: { lots } };
  }
}

/** The last click anywhere on the page (what a form's submit event came from). */
let lastClick = { target: null, detail: 0 };
if (typeof document !== "undefined") {
  document.addEventListener("click", (e) => { lastClick = { target: e.target, detail: e.detail }; },
    true);
}

/**
 * `fn` guarded against a second submit: a double click, Enter pressed twice or a click
 * during the request does nothing. A double click is one submit however fast the answer:
 * its second click (a click whose `detail` counts 2 or more), or a form's submit event
 * that such a click on its submit button made, is ignored even when the first request
 * has already been answered. `button` (when given) is disabled and marked aria-busy
 * meanwhile.
 */
export function guard(fn, button = null) {
  let running = false;
  return async (...args) => {
    const event = args[0];
    const repeated = event instanceof MouseEvent ? event.detail > 1
      : event instanceof SubmitEvent && event.submitter != null && lastClick.detail > 1
        && lastClick.target instanceof Node && event.submitter.contains(lastClick.target);
    if (running || repeated) return undefined;
    running = true;
    const wasDisabled = button?.disabled;
    if (button) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    }
    try {
      return await fn(...args);
    } finally {
      running = false;
      if (button) {
        button.removeAttribute("aria-busy");
        button.disabled = Boolean(wasDisabled);
      }
    }
  };
}

/** Ask before a destructive or irreversible action; true when the person confirms. */
export function confirmAction(text) {
  return window.confirm(text);
}

/** Remove every child of `el` and append `children`. */
export function replaceChildren(el, children) {
  // As with h(): null, undefined and false stand for "nothing here", never the text "null".
  if (el) el.replaceChildren(...children.filter((c) => c !== null && c !== undefined && c !== false));
}

/** document.createElement with text and attributes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}
