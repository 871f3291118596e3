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

/** The step in force when improving on `reference` (minor units): the tier with the largest
 * `from` not above it, the first tier below every `from` (auction/params.py step_at). */
export function stepAt(steps, reference, decimals) {
  let chosen = parseAmount(steps[0].step, decimals);
  for (const tier of steps) {
    const from = parseAmount(tier.from, decimals, true);
    if (from !== null && from <= reference) chosen = parseAmount(tier.step, decimals);
  }
  return chosen;
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
  const step = stepAt(params.steps, ref ?? start, d);
  const sign = params.direction === "reverse" ? -1n : 1n;
  let base = nextMin ? parseAmount(nextMin, d) : null;
  if (base === null) base = ref === null ? start : ref + sign * step;
  const value = base + sign * BigInt(n - 1) * step;
  return value > 0n && value <= maxMinor(d) ? formatAmount(value, d) : null;
}
