// Date-times in the center's time zone (GET /api/time's `time_zone`, an IANA name),
// whatever the time zone of the computer the page runs on: a datetime-local field's
// "YYYY-MM-DDTHH:MM[:SS]" is read as the center's wall-clock time.

let zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** Ask the server for the center's time zone (kept for the page's life). */
export async function loadZone() {
  try {
    const response = await fetch("/api/time", { headers: { Accept: "application/json" } });
    const data = await response.json();
    if (typeof data?.time_zone === "string" && data.time_zone) {
      new Intl.DateTimeFormat("en-US", { timeZone: data.time_zone }); // throws when unknown
      zone = data.time_zone;
    }
  } catch {
    // Unknown to this browser or no answer: the computer's own zone stays.
  }
  return zone;
}

/** The center's time zone in use. */
export function centerZone() {
  return zone;
}

function wallClock(ms) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(ms));
  const g = Object.fromEntries(parts.map((p) => [p.type, p.value]));
  return { y: +g.year, mo: +g.month, d: +g.day, h: +g.hour, mi: +g.minute, s: +g.second };
}

/** Epoch ms of the center's wall-clock time `text` ("YYYY-MM-DDTHH:MM[:SS]"), or null. */
export function zonedToEpoch(text) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?$/.exec(text ?? "");
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0));
  const wanted = Date.UTC(y, mo - 1, d, h, mi, s);
  const offset = (ms) => {
    const w = wallClock(ms);
    return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - ms;
  };
  let ms = wanted - offset(wanted);
  ms = wanted - offset(ms); // again, across a change of offset
  return Number.isFinite(ms) ? ms : null;
}

const pad = (n) => String(n).padStart(2, "0");

/** Epoch `ms` as the center's wall-clock "YYYY-MM-DDTHH:MM:SS" (`seconds` false: no :SS). */
export function epochToZoned(ms, seconds = true) {
  const w = wallClock(ms);
  const base = `${w.y}-${pad(w.mo)}-${pad(w.d)}T${pad(w.h)}:${pad(w.mi)}`;
  return seconds ? `${base}:${pad(w.s)}` : base;
}
