// The price history of a lot as an inline SVG chart: no library. Amounts stay decimal
// strings everywhere else; here they become numbers only to place points on the screen.

import { clock, money } from "./ui.js";
import { decimalsOf, parseAmount } from "./money.js";

const NS = "http://www.w3.org/2000/svg";
const W = 800;
const H = 300;
const PAD = { left: 110, right: 24, top: 18, bottom: 42 };

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A round tick step near `raw`: 1, 2 or 5 times a power of ten, at least a minor unit. */
function niceStep(raw, unit) {
  const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1 / unit)));
  const factor = [1, 2, 5, 10].find((f) => f * power >= raw) ?? 10;
  return Math.max(factor * power, 1 / unit);
}

/**
 * Draw `history` ([{seq, at, bidder_no, amount}], in sequence order) into `svg`: one dot
 * per bid joined by a line, the winning bid (`winnerSeq`) marked, price ticks on the left
 * and the times of the first and last bid below. `emptyText` is shown when there is no bid.
 */
export function drawPriceChart(svg, history, { currency, winnerSeq, emptyText }) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.dataset.points = String(history.length);
  if (!history.length) {
    svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" },
      emptyText ?? ""));
    return;
  }
  const d = decimalsOf(currency, history[0].amount);
  const unit = 10 ** d;
  const values = history.map((b) => Number(parseAmount(b.amount, d) ?? 0n) / unit);
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (high === low) {
    high += Math.max(1, high * 0.01);
    low -= Math.max(1, low * 0.01);
  }
  const margin = (high - low) * 0.08;
  low -= margin;
  high += margin;
  const t0 = history[0].at;
  const t1 = history[history.length - 1].at;
  const x = (at) => (t1 === t0 ? (PAD.left + W - PAD.right) / 2
    : PAD.left + ((at - t0) / (t1 - t0)) * (W - PAD.left - PAD.right));
  const y = (v) => H - PAD.bottom - ((v - low) / (high - low)) * (H - PAD.top - PAD.bottom);

  const grid = el("g", { class: "chart-grid" });
  const step = niceStep((high - low) / 4, unit);
  for (let v = Math.ceil(low / step) * step; v <= high; v += step) {
    const yy = y(v);
    grid.append(el("line", { x1: PAD.left, x2: W - PAD.right, y1: yy, y2: yy }));
    const label = money((Math.round(v * unit) / unit).toFixed(d), currency);
    grid.append(el("text", { x: PAD.left - 8, y: yy + 4, "text-anchor": "end" }, label));
  }
  grid.append(el("text", { x: PAD.left, y: H - 14, "text-anchor": "start" }, clock(t0)));
  if (t1 !== t0) grid.append(el("text", { x: W - PAD.right, y: H - 14, "text-anchor": "end" }, clock(t1)));
  svg.append(grid);

  const points = history.map((b, i) => `${x(b.at).toFixed(1)},${y(values[i]).toFixed(1)}`);
  svg.append(el("polyline", { class: "chart-line", points: points.join(" "), fill: "none" }));
  const dots = el("g", { class: "chart-dots" });
  history.forEach((b, i) => {
    const winning = b.seq === winnerSeq;
    const dot = el("circle", {
      cx: x(b.at).toFixed(1), cy: y(values[i]).toFixed(1), r: winning ? 7 : 4,
      class: winning ? "chart-dot winning" : "chart-dot",
      "data-seq": b.seq, "data-amount": b.amount, "data-bidder-no": b.bidder_no,
    });
    dot.append(el("title", {}, `#${b.seq} ${clock(b.at, true)} ${b.bidder_no} ${money(b.amount, currency)}`));
    dots.append(dot);
  });
  svg.append(dots);
}
