// A lot's qualified bidders against its minimum (min_bidders), as the notice page and the
// reviewer queue show it: "3 qualified bidders, at least 2 needed", flagged when short.

import { t } from "./i18n.js";
import { h } from "./ui.js";

export function qualifiedLine(lot, tag = "div") {
  const short = lot.qualified < lot.min_bidders;
  return h(tag, {
    class: `lot-meta qualified${short ? " short" : ""}`,
    dataset: { lotId: lot.lot_id, qualified: String(lot.qualified), minBidders: String(lot.min_bidders) },
  }, `${lot.title ? `${lot.title} · ` : ""}${t("lot_qualified", { n: lot.qualified, min: lot.min_bidders })}`
    + (short && !lot.outcome ? ` · ${t("lot_qualified_short")}` : ""));
}
