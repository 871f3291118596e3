// One notice (/notice/ID): schedule, terms, lots (when each opens, its status, qualified
// bidders against its minimum) with their application buttons, public Q&A (askers never
// named). A logged-in bidder applies and asks from here.

import { accountApi, loadAccount } from "./account.js";
import { initI18n, onLangChange, statusName, t } from "./i18n.js";
import "./trade-i18n.js";
import { qualifiedLine } from "./lotcount.js";
import { $, MessageBox, api, dateTime, guard, h, lotIdFromPath, money } from "./ui.js";

const noticeId = lotIdFromPath();
const messages = new MessageBox($("message"));
let notice = null;
let account = null;

function applied(lotId) {
  return account?.applications.find((a) => a.lot_id === lotId) ?? null;
}

function drawLots() {
  $("login-hint").hidden = account !== null;
  $("lots").replaceChildren(...notice.lots.map((lot) => {
    const mine = applied(lot.lot_id);
    const accept = h("input", { type: "checkbox", class: "accept-terms" });
    const button = h("button", { type: "button", class: "apply" }, t("tr_apply"));
    button.addEventListener("click", guard(async () => {
      const answer = await accountApi(`/api/lots/${encodeURIComponent(lot.lot_id)}/applications`, {
        method: "POST", body: { accept_terms: accept.checked },
      });
      if (!answer.ok) {
        messages.show(answer.error);
        return;
      }
      messages.show({ key: "applied" }, "ok");
      account = await loadAccount();
      drawLots();
    }, button));
    const action = mine ? h("a", { class: "button-link small", href: "/portal" }, t(`app_${mine.status}`))
      : account && notice.phase === "applying"
        ? h("span", { class: "apply-box" }, h("label", {}, accept, ` ${t("accept_terms")}`), button)
        : null;
    return h("li", { class: "lot-card", dataset: { lotId: lot.lot_id } },
      h("a", { class: "board-link", href: `/board/${encodeURIComponent(lot.lot_id)}` },
        h("span", { class: "lot-title" }, lot.title)),
      h("div", { class: "lot-meta" }, `${lot.lot_id} · ${t("deposit")} ${money(lot.deposit, lot.currency)}`
        + (lot.opens_at ? ` · ${t("lot_opens_at")} ${dateTime(lot.opens_at)}` : "")
        + ` · ${statusName(lot.status)}`),
      qualifiedLine({ ...lot, title: "" }),
      action);
  }));
}

function draw() {
  if (notice === null) return;
  $("title").textContent = notice.title;
  $("facts").textContent = [t(`kind_${notice.kind}`), t(`phase_${notice.phase}`),
    t(notice.prequalification ? "prequalification_yes" : "prequalification_no"),
    t(notice.consortium ? "consortium_yes" : "consortium_no")].join(" · ");
  const rows = [["published_at", dateTime(notice.published_at)],
    ["apply_window", `${dateTime(notice.apply_from)} – ${dateTime(notice.apply_until)}`],
    ["deposit_until", dateTime(notice.deposit_until)], ["bidding_at", dateTime(notice.bidding_at)]];
  $("schedule").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]));
  $("amended").hidden = !notice.amendments;
  $("amended").textContent = t("amendments", { n: notice.amendments, time: dateTime(notice.periods_from) });
  const years = notice.flags.filter((f) => f.startsWith("unknown_year:")).map((f) => f.split(":")[1]);
  $("flags").hidden = !years.length;
  $("flags").textContent = t("flags_unknown_year", { years: years.join(", ") });
  $("terms").textContent = notice.terms;
  $("documents").replaceChildren(...notice.documents.map((d) => h("li", {}, d)));
  $("questions").replaceChildren(...(notice.questions.length ? notice.questions.map((q) =>
    h("li", { class: "question" }, h("p", { class: "q" }, q.text),
      h("p", { class: "a" }, q.answered_at ? q.answer : t("qa_pending"))))
    : [h("li", { class: "empty" }, t("qa_empty"))]));
  $("ask-form").hidden = account === null || notice.phase !== "applying";
  drawLots();
}

async function load() {
  const [answer, mine] = await Promise.all([
    api(`/api/notices/${encodeURIComponent(noticeId)}`), loadAccount()]);
  account = mine;
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  notice = answer.data;
  draw();
}

initI18n();
onLangChange(() => {
  draw();
  messages.draw();
});
$("ask-form").addEventListener("submit", guard(async (event) => {
  event.preventDefault();
  const answer = await accountApi(`/api/notices/${encodeURIComponent(noticeId)}/questions`, {
    method: "POST", body: { text: $("question").value },
  });
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  $("question").value = "";
  notice = answer.data;
  draw();
}, $("ask")));
load();
