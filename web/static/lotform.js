// The host console's creation form for the formats other than `english`: one labelled
// field per parameter (amounts, whole numbers, choices, date-times in the browser's time
// zone, which is the center's), filled from the format's template, read back into the
// `params` the API takes. Format names in words.

import { addStrings, t } from "./i18n.js";
import { normalizeInput } from "./money.js";
import { h } from "./ui.js";
import { centerZone, epochToZoned, zonedToEpoch } from "./zone.js";

addStrings({
  zh: {
    fmt_english: "增价竞价（英式）", fmt_listing_timed: "挂牌+限时竞价", fmt_sealed: "密封报价",
    fmt_dutch: "降价竞价（荷式）", fmt_japanese: "升价轮次竞价（日式）", fmt_multi_round: "多轮报价",
    p_direction: "竞价方向", p_start_price: "起始价（元）", p_step: "加价/降价幅度（元）",
    p_deposit: "保证金（元）", p_tick_s: "价格变动间隔（秒）", p_floor: "最低价（元）",
    p_tie_rule: "同价处理", p_listing_opens_at: "挂牌开始时间", p_listing_ends_at: "挂牌截止时间",
    p_confirm_s: "确认期（秒）", p_countdown_s: "限时竞价倒计时（秒）", p_cap: "最高限价（元）",
    p_cap_rule: "达到最高限价后", p_cap_confirm_s: "接受最高限价期限（秒）", p_ceiling: "最高限价（元）",
    p_rounds: "轮数", p_turn_s: "每人报价时间（秒）", p_first_pause_s: "首轮前间隔（秒）",
    p_pause_s: "轮间间隔（秒）", p_coefficients: "系数（JSON）", p_duration_s: "报价期（秒）",
    p_revisions: "可修改次数", p_opens_at: "开始时间（选填）", p_reserve: "保留价（元，选填）",
    p_currency: "币种", p_closes_at: "截止时间",
    ch_forward: "正向（价高者得）", ch_reverse: "反向（价低者得）", ch_lottery: "摇号",
    ch_earliest: "先报者优先", ch_secondary: "报第二指标", ch_none: "—",
    time_zone_note: "时间按交易中心时区（{tz}）填写",
  },
  en: {
    fmt_english: "English (ascending)", fmt_listing_timed: "Listing then timed bidding",
    fmt_sealed: "Sealed bids", fmt_dutch: "Dutch (descending clock)",
    fmt_japanese: "Japanese (ascending clock)", fmt_multi_round: "Multi-round",
    p_direction: "Direction", p_start_price: "Start price", p_step: "Step", p_deposit: "Deposit",
    p_tick_s: "Clock tick (s)", p_floor: "Floor price", p_tie_rule: "Ties",
    p_listing_opens_at: "Listing opens", p_listing_ends_at: "Listing ends",
    p_confirm_s: "Confirmation window (s)", p_countdown_s: "Timed countdown (s)",
    p_cap: "Price cap", p_cap_rule: "At the cap", p_cap_confirm_s: "Cap acceptance window (s)",
    p_ceiling: "Ceiling", p_rounds: "Rounds", p_turn_s: "Turn (s)", p_first_pause_s: "Pause before the first round (s)",
    p_pause_s: "Pause between rounds (s)", p_coefficients: "Coefficients (JSON)",
    p_duration_s: "Bidding period (s)", p_revisions: "Revisions allowed",
    p_opens_at: "Start time (optional)", p_reserve: "Reserve (optional)", p_currency: "Currency",
    p_closes_at: "Closing time",
    ch_forward: "Forward (highest wins)", ch_reverse: "Reverse (lowest wins)", ch_lottery: "Lottery",
    ch_earliest: "Earliest wins", ch_secondary: "Second quantity", ch_none: "—",
    time_zone_note: "Times are in the center's time zone ({tz})",
  },
});

/** Choices of the parameters that take one of a few words. */
const CHOICES = {
  direction: ["forward", "reverse"],
  tie_rule: ["lottery", "earliest"],
  cap_rule: ["lottery", "secondary"],
};

/** Optional parameters every format (but listing_timed) takes: a planned start time. */
const EXTRA = { listing_timed: [], multi_round: ["opens_at"], sealed: ["opens_at"],
  dutch: ["opens_at"], japanese: ["opens_at"] };

/** The name of `format` in words. */
export function formatName(format) {
  const key = `fmt_${format}`;
  const text = t(key);
  return text === key ? format : text;
}

function kindOf(key, value) {
  if (key in CHOICES) return "choice";
  if (key.endsWith("_at")) return "time";
  if (typeof value === "number") return "int";
  if (typeof value === "boolean") return "bool";
  if (value !== null && typeof value === "object") return "json";
  return "amount";
}


/** Draw the fields of `format` (from its `template`) into `el`. */
export function drawLotForm(el, format, template) {
  const fields = Object.entries(template ?? {}).filter(([k]) => k !== "currency");
  for (const key of EXTRA[format] ?? []) if (!(key in (template ?? {}))) fields.push([key, null]);
  const tz = centerZone();
  el.replaceChildren(...fields.map(([key, value]) => {
    const kind = key.endsWith("_at") ? "time" : kindOf(key, value);
    let input;
    if (kind === "choice") {
      input = h("select", {}, ...CHOICES[key].map((c) => h("option", { value: c }, t(`ch_${c}`))));
      input.value = value ?? CHOICES[key][0];
    } else if (kind === "time") {
      input = h("input", { type: "datetime-local", title: t("time_zone_note", { tz }) });
      if (Number.isFinite(value)) input.value = epochToZoned(value, false);
    } else if (kind === "json") {
      input = h("textarea", { rows: 2, spellcheck: "false" });
      input.value = JSON.stringify(value);
    } else if (kind === "bool") {
      input = h("input", { type: "checkbox" });
      input.checked = Boolean(value);
    } else {
      input = h("input", { type: "text", inputmode: kind === "int" ? "numeric" : "decimal" });
      input.value = value === null || value === undefined ? "" : String(value);
    }
    input.id = `lp-${key}`;
    input.dataset.param = key;
    input.dataset.kind = kind;
    return h("label", {}, h("span", {}, t(`p_${key}`) === `p_${key}` ? key : t(`p_${key}`)), input);
  }));
  el.dataset.format = format;
}

/** Redraw the labels of the fields in `el` in the current language (values kept). */
export function relabelLotForm(el) {
  for (const input of el.querySelectorAll("[data-param]")) {
    const key = input.dataset.param;
    const span = input.previousElementSibling;
    if (span) span.textContent = t(`p_${key}`) === `p_${key}` ? key : t(`p_${key}`);
    if (input.tagName === "SELECT") {
      for (const option of input.options) option.textContent = t(`ch_${option.value}`);
    }
  }
}

/**
 * The `params` the fields of `el` say: `{params}`, or `{error: {code}, id}` naming the
 * input that is not valid. Empty optional fields are left out.
 */
export function readLotForm(el) {
  const params = {};
  for (const input of el.querySelectorAll("[data-param]")) {
    const key = input.dataset.param;
    const kind = input.dataset.kind;
    if (kind === "bool") {
      params[key] = input.checked;
      continue;
    }
    const text = kind === "choice" ? input.value : normalizeInput(input.value);
    if (text === "") continue;
    if (kind === "int") {
      if (!/^\d{1,9}$/.test(text)) return { error: { code: "invalid_params" }, id: input.id };
      params[key] = Number(text);
    } else if (kind === "time") {
      const ms = zonedToEpoch(input.value);
      if (ms === null) return { error: { code: "bad_deadline" }, id: input.id };
      params[key] = ms;
    } else if (kind === "json") {
      try {
        params[key] = JSON.parse(input.value);
      } catch {
        return { error: { code: "invalid_params" }, id: input.id };
      }
    } else {
      params[key] = text;
    }
  }
  return { params };
}
