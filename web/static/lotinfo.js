// The description list of a lot's public parameters (room and board).

import { t } from "./i18n.js";
import { h, money } from "./ui.js";

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
  if (p.has_reserve) rows.push([t("reserve"), t("has_reserve")]);
  dl.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}
