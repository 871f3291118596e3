// The description list of a lot's public parameters (room and board).

import { addStrings, t } from "./i18n.js";
import { ENDED, dateTime, h, money } from "./ui.js";

addStrings({
  zh: {
    preempt: "优先购买权",
    preempt_during: "{n} 名优先购买权人，竞价期间可以同等价格（当前最高价）应价，同价时优先购买权人优先",
    preempt_at_end: "{n} 名优先购买权人，竞价结束后 {s} 秒内可以最终价格（同等价格）购买",
    preempt_matched: "优先购买权人 {no} 已以同等价格应价",
    preempt_window: "优先购买期：优先购买权人可在 {time} 前以最终价格 {amount} 购买",
  },
  en: {
    preempt: "Pre-emptive rights",
    preempt_during: "{n} holders of pre-emptive rights may match the best price while bidding runs; at an equal price a holder wins",
    preempt_at_end: "{n} holders of pre-emptive rights may buy at the final price within {s} s after bidding ends",
    preempt_matched: "Holder of a pre-emptive right {no} matched the price",
    preempt_window: "Pre-emptive rights: holders may buy at the final price {amount} until {time}",
  },
});

/** The public notice of a suspension (paused) or termination (cancelled), or nothing. */
export function drawLotNotice(el, state) {
  if (!el) return;
  const notice = state?.notice;
  el.hidden = !notice;
  el.dataset.status = state?.status ?? "";
  el.textContent = notice
    ? t(state.status === "cancelled" ? "lot_notice_cancelled" : "lot_notice_paused", { notice })
    : "";
}

/** What a page says of the lot's reserve (a reverse lot's internal ceiling): none, set
 * (its amount sealed), awaiting entry or a supervisor's approval (a reserve entered late),
 * or the amount revealed at the close; null for a reverse lot without one. */
export function reserveText(state) {
  const p = state?.params ?? {};
  const entry = state?.reserve_entry;
  if (entry) {
    return t(`reserve_entry_${entry.status}`,
      { amount: entry.amount ? money(entry.amount, p.currency) : "" });
  }
  if (p.has_reserve) return t("has_reserve");
  return p.direction === "reverse" ? null : t("no_reserve");
}

/** The public note of pre-emptive rights (auction/preemption.py): the open window, or
 * the holder who leads by matching the price; hidden otherwise. */
export function drawPreemptNote(el, state) {
  if (!el) return;
  const pre = state?.preemption;
  const cur = state?.params?.currency;
  const text = !pre || ENDED.has(state.status) ? ""
    : pre.window ? t("preempt_window", { time: dateTime(pre.window.closes_at), amount: money(pre.window.price, cur) })
      : pre.matched_no ? t("preempt_matched", { no: pre.matched_no }) : "";
  el.hidden = !text;
  el.textContent = text;
}

/** Fill `dl` with the rules a bidder needs: direction, start, steps, deposit, soft close. */
export function drawLotInfo(dl, state) {
  if (!dl || !state?.params) return;
  const p = state.params;
  const reverse = p.direction === "reverse";
  // Tier i holds from its `from` up to the next tier's `from` (the first also below).
  const tiers = p.steps ?? [];
  const steps = tiers.map((s, i) => {
    // A percentage step: that share of the price improved on, rounded as the lot says.
    const step = s.percent ? t("step_percent_text", { percent: s.percent,
                                                      round: t(`step_round_${p.step_round}`) })
      : money(s.step, p.currency);
    if (tiers.length === 1) return step;
    if (i === 0) return `< ${money(tiers[1].from, p.currency)}: ${step}`;
    return `≥ ${money(s.from, p.currency)}: ${step}`;
  }).join("；");
  const rows = [
    [t("direction"), t(reverse ? "direction_reverse" : "direction_forward")],
    [t("start_price"), money(p.start_price, p.currency)],
    [t(reverse ? "step_reverse" : "step"), steps],
    [t("deposit"), money(p.deposit, p.currency)],
    [t("visibility"), t(`visibility_${p.visibility}`)],
    [t(reverse ? "improve_reverse" : "improve"), t(`improve_${p.improve}`)],
    [t("soft_close"), p.extend_window_s
      ? t("soft_close_text", { window: p.extend_window_s, extend: p.extend_s })
        + (p.extend_on ? t(`extend_on_${p.extend_on}`) : "")
      : t("soft_close_none")],
  ];
  if (p.min_bidders) {
    rows.push([t("min_bidders"), t("min_bidders_text", { n: p.min_bidders })
      + (p.below_min === "award_single" ? t("below_min_award_single") : "")]);
  }
  if (p.units) { // a multi-unit lot (docs/protocol.md, Multi-unit lots)
    rows.push([t("units_lot"), t("units_lot_text", {
      n: p.units, pricing: t(`pricing_${p.pricing}`), most: p.max_units_per_bidder })]);
  }
  if (p.show_counts) rows.push([t("show_counts"), t(`show_counts_${p.show_counts}`)]);
  if (reverse && p.ceiling) rows.push([t("ceiling"), money(p.ceiling, p.currency)]);
  const reserve = reserveText(state);
  if (reserve) rows.push([t(reverse ? "internal_ceiling" : "reserve"), reserve]);
  const pre = p.preemption;
  if (pre) {
    rows.push([t("preempt"), t(pre.exercise === "at_end" ? "preempt_at_end" : "preempt_during",
      { n: pre.holders, s: pre.window_s })]);
  }
  dl.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}
