// The list of lots, each linking to its public board.

import { initI18n, onLangChange, t } from "./i18n.js";
import "./records-i18n.js";
import "./trade-i18n.js";
import { $, ENDED, MessageBox, api, apiLots, h, money, showStatus } from "./ui.js";

const REFRESH_MS = 10_000;
const messages = new MessageBox($("message"));
let lots = null;

function draw() {
  const list = $("lots");
  if (lots === null) return;
  if (!lots.length) {
    list.replaceChildren(h("li", { class: "empty" }, t("lots_empty")));
    return;
  }
  list.replaceChildren(...lots.map((lot) => {
    const status = h("span", { class: "status" });
    showStatus(status, lot.status);
    const href = `/board/${encodeURIComponent(lot.lot_id)}`;
    const reverse = lot.params?.direction === "reverse";
    return h("li", { class: "lot-card", dataset: { lotId: lot.lot_id, status: lot.status ?? "" } },
      h("a", { class: "board-link", href }, h("span", { class: "lot-title" }, lot.title ?? lot.lot_id)),
      status,
      h("div", { class: "lot-meta" },
        `${lot.lot_id} · ${t(reverse ? "best_reverse" : "best_forward")} `,
        h("strong", {}, money(lot.best, lot.params?.currency)),
        ` · ${t("bid_count")} ${lot.bid_count === null ? t("count_hidden") : lot.bid_count ?? 0}`),
      h("a", { class: "button-link small", href }, t("open_board")),
      ENDED.has(lot.status) ? h("a", {
        class: "button-link small result-link", href: `/result/${encodeURIComponent(lot.lot_id)}`,
      }, t("result_link")) : null);
  }));
}

async function load() {
  const answer = await apiLots();
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  messages.clear();
  lots = Array.isArray(answer.data) ? answer.data : answer.data?.lots ?? [];
  draw();
}

initI18n();
onLangChange(() => {
  draw();
  messages.draw();
});
load();
setInterval(load, REFRESH_MS);
