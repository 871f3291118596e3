// What the record pages share: date-times, deposit statuses and collusion flags.

import "./records-i18n.js";
import { t } from "./i18n.js";
import { clock, h } from "./ui.js";
import { detailsText } from "./report-words.js";

const pad = (n) => String(n).padStart(2, "0");

/** Server time `ms` as local YYYY-MM-DD HH:MM:SS (with .mmm when `millis`). */
export function dateTime(ms, millis = false) {
  if (!Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(ms, millis)}`;
}

/** A deposit status code in words. */
export function depositText(status) {
  return t(`dep_${status}`);
}

/** The name of a collusion check. */
export function checkName(check) {
  return t(`check_${check}`);
}

/** `flags` (from the API) as list items: check, level, message, evidence in words. */
export function flagItems(flags, lang) {
  if (!flags.length) return [h("li", { class: "empty" }, t("no_flags"))];
  return flags.map((f) => h("li", { dataset: { check: f.check, level: f.level, lots: f.lots.join(" ") } },
    h("div", { class: "flag-head" },
      h("span", { class: "flag-check" }, checkName(f.check)),
      h("span", { class: "flag-level" }, t(`level_${f.level}`)),
      h("code", { class: "flag-lots" }, f.lots.join(" ")),
      h("span", { class: "flag-message" }, f.message?.[lang] ?? f.message?.en ?? "")),
    h("details", {}, h("summary", {}, t("evidence")),
      h("p", { class: "evidence" }, detailsText({ lots: f.lots, bidders: f.bidders })),
      ...Object.entries(f.evidence ?? {}).map(([k, v]) => h("p", { class: "evidence" },
        detailsText({ [k]: v }))))));
}

/** Fetch `path` with the staff `token` and save the answer as `filename`. */
export async function download(path, token, filename) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) {
    let error = {};
    try {
      error = (await response.json()).error ?? {};
    } catch {
      error = {};
    }
    return { ok: false, error: { code: error.code ?? "server_error", message: error.message } };
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { ok: true };
}
