// Exact money in the browser: decimal strings outside, BigInt minor units inside.
// No amount is ever turned into a JS number: "1250000.00" with 2 decimals is 125000000n.

const CURRENCY_DECIMALS = { CNY: 2, USD: 2, EUR: 2, HKD: 2, JPY: 0 };
const CURRENCY_SIGNS = { CNY: "¥", USD: "$", EUR: "€", HKD: "HK$", JPY: "¥" };
// The money maximum (auction/money.py MAX_WHOLE_DIGITS): at most 15 digits before the point.
const MAX_WHOLE_DIGITS = 15;
const PLAIN_DECIMAL = new RegExp(`^(0|[1-9][0-9]{0,${MAX_WHOLE_DIGITS - 1}})(?:\\.([0-9]+))?$`);

/** The largest amount, in BigInt minor units of a currency with `decimals` decimals. */
export function maxMinor(decimals) {
  return 10n ** BigInt(MAX_WHOLE_DIGITS + decimals) - 1n;
}

/** Minor-unit digits of `currency`; `sample` (an amount string of the lot) decides for
 * currencies this table does not know. */
export function decimalsOf(currency, sample) {
  if (currency in CURRENCY_DECIMALS) return CURRENCY_DECIMALS[currency];
  const dot = typeof sample === "string" ? sample.indexOf(".") : -1;
  return dot < 0 ? 0 : sample.length - dot - 1;
}

export function currencySign(currency) {
  return CURRENCY_SIGNS[currency] ?? (currency ? currency + " " : "");
}

/** What a person typed, made plain: full-width digits and point (Chinese input methods),
 * spaces and thousands separators removed. The result may still be invalid. */
export function normalizeInput(text) {
  return String(text ?? "")
    .replace(/[\uFF10-\uFF19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xFF10 + 48))
    .replace(/[\uFF0E\u3002]/g, ".")
    .replace(/[\s,\uFF0C]/g, "");
}

/** `text` as BigInt minor units, or null unless it is a plain positive decimal with at most
 * `decimals` fraction digits (the server's own rule; it stays the judge). Zero only with
 * `allowZero`. */
export function parseAmount(text, decimals, allowZero = false) {
  if (typeof text !== "string") return null;
  const m = PLAIN_DECIMAL.exec(text);
  if (!m) return null;
  const frac = m[2] ?? "";
  if (frac.length > decimals) return null;
  const value = BigInt(m[1]) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, "0") || "0");
  return value > 0n || allowZero ? value : null;
}

/** BigInt minor units as a decimal string with exactly `decimals` places. */
export function formatAmount(minor, decimals) {
  const sign = minor < 0n ? "-" : "";
  const abs = minor < 0n ? -minor : minor;
  if (decimals === 0) return sign + abs.toString();
  const unit = 10n ** BigInt(decimals);
  return `${sign}${abs / unit}.${(abs % unit).toString().padStart(decimals, "0")}`;
}

/** "1250000.00" → "1,250,000.00" (display only; never send this back). */
export function groupDigits(amount) {
  if (amount === null || amount === undefined) return "";
  const [whole, frac] = String(amount).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

/** A percentage string ("1.5", at most four decimals) in millionths, as a BigInt. */
function percentPpm(percent) {
  const [whole, frac = ""] = String(percent).split(".");
  return BigInt(whole) * 10000n + BigInt(frac.padEnd(4, "0").slice(0, 4));
}

/** The step in force when improving on `reference` (minor units): the tier with the largest
 * `from` not above it, the first tier below every `from` (auction/params.py step_at). A
 * percentage tier's step is that share of `reference` rounded to the minor unit as `round`
 * (the lot's `step_round`: up, down, half_up) says, at least one minor unit. */
export function stepAt(steps, reference, decimals, round = "up") {
  let chosen = steps[0];
  for (const tier of steps) {
    const from = parseAmount(tier.from, decimals, true);
    if (from !== null && from <= reference) chosen = tier;
  }
  if (chosen.percent === undefined) return parseAmount(chosen.step, decimals);
  const product = BigInt(reference) * percentPpm(chosen.percent);
  let whole = product / 1000000n;
  const rest = product % 1000000n;
  if (round === "up" && rest > 0n) whole += 1n;
  if (round === "half_up" && 2n * rest >= 1000000n) whole += 1n;
  return whole > 0n ? whole : 1n;
}

/**
 * The amount of the quick button "n steps": the least acceptable bid moved n-1 further
 * steps (n = 1 is the minimum next bid itself). `nextMin` and `reference` are decimal
 * strings or null; `params` is the snapshot's params. Returns a decimal string or null.
 */
export function quickBid(params, nextMin, reference, n) {
  const d = decimalsOf(params.currency, params.start_price);
  const start = parseAmount(params.start_price, d);
  const ref = reference ? parseAmount(reference, d) : null;
  const step = stepAt(params.steps, ref ?? start, d, params.step_round);
  const sign = params.direction === "reverse" ? -1n : 1n;
  let base = nextMin ? parseAmount(nextMin, d) : null;
  if (base === null) base = ref === null ? start : ref + sign * step;
  const value = base + sign * BigInt(n - 1) * step;
  return value > 0n && value <= maxMinor(d) ? formatAmount(value, d) : null;
}

const CN_DIGITS = "零壹贰叁肆伍陆柒捌玖";
const CN_UNITS = ["", "拾", "佰", "仟"];

/** 1..9999 in capital numerals, zeros inside folded into one 零, none at the end. */
function capitalUnder10k(n) {
  const digits = String(n).padStart(4, "0");
  let out = "";
  let zero = false;
  for (let i = 0; i < 4; i += 1) {
    const d = Number(digits[i]);
    if (d === 0) {
      zero = out !== "";
    } else {
      if (zero) out += "零";
      out += CN_DIGITS[d] + CN_UNITS[3 - i];
      zero = false;
    }
  }
  return out;
}

/** A whole BigInt (1 ≤ n < 10^16) in capital numerals: 万 every 4 digits, 亿 every 8. */
function capitalWhole(n) {
  for (const [size, unit] of [[10n ** 8n, "亿"], [10n ** 4n, "万"]]) {
    if (n >= size) {
      const hi = n / size;
      const lo = n % size;
      let out = capitalWhole(hi) + unit;
      if (lo === 0n) return out;
      if (lo < size / 10n) out += "零";
      return out + capitalWhole(lo);
    }
  }
  return capitalUnder10k(Number(n));
}

/**
 * `amount` (a decimal string) in Chinese capital numerals as written on cheques and bid
 * forms (大写): "1030.05" → "壹仟零叁拾元零伍分", "45000000.00" → "肆仟伍佰万元整".
 * Null unless it is a plain non-negative amount of 0 to 2 decimals.
 */
export function capitalAmount(amount) {
  const m = /^([0-9]{1,16})(?:\.([0-9]{1,2}))?$/.exec(String(amount ?? ""));
  if (!m) return null;
  const whole = BigInt(m[1]);
  const frac = (m[2] ?? "").padEnd(2, "0");
  const jiao = Number(frac[0]);
  const fen = Number(frac[1]);
  let out = whole > 0n ? `${capitalWhole(whole)}元` : "";
  if (jiao === 0 && fen === 0) return `${out || "零元"}整`;
  if (jiao > 0) out += `${CN_DIGITS[jiao]}角`;
  else if (whole > 0n) out += "零";
  if (fen > 0) out += `${CN_DIGITS[fen]}分`;
  else out += "整";
  return out;
}

/** `amount` (a decimal string of `decimals` places) in 万 (ten thousands), exact, grouped,
 * without trailing zeros: "1030.00" → "0.103", "45000000.00" → "4,500". */
export function inWan(amount, decimals) {
  const minor = parseAmount(String(amount ?? ""), decimals, true);
  if (minor === null) return null;
  const text = formatAmount(minor, decimals + 4);
  return groupDigits(text.replace(/0+$/, "").replace(/\.$/, ""));
}

/** How many steps `amount` lies beyond `nextMin` counting the minimum itself as the first
 * (1 = the least acceptable bid), in the lot's direction; null when not computable. */
export function stepsOver(params, nextMin, reference, amount) {
  const d = decimalsOf(params.currency, params.start_price);
  const value = parseAmount(amount, d);
  const base = nextMin ? parseAmount(nextMin, d) : null;
  if (value === null || base === null || !params.steps?.length) return null;
  const ref = reference ? parseAmount(reference, d) : null;
  const step = stepAt(params.steps, ref ?? parseAmount(params.start_price, d), d,
    params.step_round);
  if (!step) return null;
  const beyond = params.direction === "reverse" ? base - value : value - base;
  if (beyond < 0n) return 0;
  return Number(beyond / step) + 1;
}
