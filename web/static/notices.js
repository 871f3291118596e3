// The public list of notices (/notices): by date, kind of trade and phase.

import { initI18n, onLangChange, t } from "./i18n.js";
import "./trade-i18n.js";
import { $, MessageBox, api, dateTime, h } from "./ui.js";

export const KINDS = ["land", "mining", "state_property", "procurement", "other"];
export const PHASES = ["announced", "applying", "closed", "bidding", "withdrawn"];
const messages = new MessageBox($("message"));
let notices = null;

function options(select, prefix, values) {
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "" }, t("all")),
    ...values.map((v) => h("option", { value: v }, t(`${prefix}_${v}`))));
  select.value = chosen;
}

function draw() {
  options($("kind"), "kind", KINDS);
  options($("phase"), "phase", PHASES);
  if (notices === null) return;
  if (!notices.length) {
    $("notices").replaceChildren(h("li", { class: "empty" }, t("notices_empty")));
    return;
  }
  $("notices").replaceChildren(...notices.map((n) => {
    const href = `/notice/${encodeURIComponent(n.notice_id)}`;
    return h("li", { class: "lot-card notice-card", dataset: { noticeId: n.notice_id, phase: n.phase } },
      h("a", { class: "board-link", href }, h("span", { class: "lot-title" }, n.title)),
      h("span", { class: "status" }, t(`phase_${n.phase}`)),
      h("div", { class: "lot-meta" },
        `${t(`kind_${n.kind}`)} · ${t("published_at")} ${dateTime(n.published_at)} · `
        + `${t("bidding_at")} ${dateTime(n.bidding_at)}`));
  }));
}

async function load() {
  const query = new URLSearchParams();
  if ($("kind").value) query.set("kind", $("kind").value);
  if ($("phase").value) query.set("phase", $("phase").value);
  const answer = await api(`/api/notices?${query}`);
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  messages.clear();
  notices = answer.data.notices;
  draw();
}

initI18n();
onLangChange(() => {
  draw();
  messages.draw();
});
draw();
$("kind").addEventListener("change", load);
$("phase").addEventListener("change", load);
load();
