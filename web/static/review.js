// The reviewer queue (/review, host token): applications with their documents; approve,
// reject with a reason, or confirm a deposit by hand with a reason. Admission to the lot
// follows by itself once an application is eligible. Each lot of the queue says how many
// applicants qualify against its minimum number of bidders.

import { initI18n, onLangChange, t } from "./i18n.js";
import "./trade-i18n.js";
import { qualifiedLine } from "./lotcount.js";
import { $, MessageBox, api, bindStaffToken, dateTime, guard, h, money } from "./ui.js";

const messages = new MessageBox($("message"), { details: true });
let token = "";
let apps = [];
let lots = [];

async function act(app, path, body) {
  const answer = await api(`/api/applications/${encodeURIComponent(app.application_id)}/${path}`, {
    method: "POST", body, token,
  });
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  messages.clear();
  await load();
}

async function download(app, doc) {
  const response = await fetch(`/api/applications/${encodeURIComponent(app.application_id)}/documents/${doc.sha256}`,
    { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) return;
  const url = URL.createObjectURL(await response.blob());
  window.open(url, "_blank", "noopener");
}

function card(app) {
  const reason = h("input", { class: "reason-input", maxlength: "500" });
  reason.placeholder = t("reject_reason");
  const amount = h("input", { class: "deposit-amount", value: app.deposit_required ?? "" });
  const payer = h("input", { class: "deposit-account", maxlength: "100" });
  payer.placeholder = t("payer_account");
  const depositReason = h("input", { class: "deposit-reason", maxlength: "500" });
  depositReason.placeholder = t("deposit_reason");
  const approve = h("button", { type: "button", class: "approve" }, t("approve"));
  const reject = h("button", { type: "button", class: "reject danger" }, t("reject"));
  const confirm = h("button", { type: "button", class: "confirm-deposit" }, t("tr_confirm_deposit"));
  approve.addEventListener("click", guard(() => act(app, "review", { approve: true }), approve));
  reject.addEventListener("click", guard(() => act(app, "review", { approve: false, reason: reason.value.trim() || undefined }), reject));
  confirm.addEventListener("click", guard(() => act(app, "deposit", {
    amount: amount.value.trim(), account: payer.value.trim(), reason: depositReason.value.trim(),
  }), confirm));
  return h("li", { class: "lot-card application", dataset: { applicationId: app.application_id, status: app.status } },
    h("span", { class: "lot-title" }, `${app.name} → ${app.lot_id}`),
    h("span", { class: "status" }, t(`app_${app.status}`)),
    h("div", { class: "lot-meta" }, `${app.account_id} · ${app.contact.phone ?? ""} · ${app.contact.email ?? ""}`
      + (app.consortium.length ? ` · ${app.consortium.join(", ")}` : "")),
    h("div", { class: "lot-meta" }, `${t("tr_deposit_status")}: `
      + (app.deposit !== null ? `${money(app.deposit)} (${app.deposit_source} ${app.deposit_account})` : `— / ${money(app.deposit_required)}`)
      + (app.eligible ? ` · ${t("tr_eligible")} ${app.bidder_no}` : "")),
    app.barred ? h("div", { class: "reason barred" }, t("tr_barred_now")) : null,
    app.barred_at_award ? h("div", { class: "reason barred barred-at-award" },
      t("tr_barred_at_award") + t(`tr_step_${app.barred_at_award}`), h("br"), t("tr_barred_next")) : null,
    app.reason ? h("div", { class: "reason" }, app.reason) : null,
    h("ul", { class: "documents" }, ...app.documents.map((d) => h("li", {},
      h("a", { href: "#", onclick: (e) => { e.preventDefault(); download(app, d); } }, d.name),
      ` · ${d.content_type} · ${d.size} B · ${dateTime(d.at)} · ${d.sha256.slice(0, 16)}…`))),
    app.status === "submitted" && app.prequalification
      ? h("div", { class: "actions" }, approve, reason, reject) : null,
    app.deposit === null && (app.status === "submitted" || app.status === "approved")
      ? h("div", { class: "actions" }, amount, payer, depositReason, confirm) : null);
}

function draw() {
  $("lot-counts").replaceChildren(...lots.map((lot) => qualifiedLine(lot, "li")));
  $("queue").replaceChildren(...(apps.length ? apps.map(card)
    : [h("li", { class: "empty" }, t("applications_empty"))]));
}

async function load() {
  if (!token) {
    messages.show({ key: "need_token" });
    return;
  }
  const status = $("status").value;
  const answer = await api(`/api/applications${status ? `?status=${status}` : ""}`, { token });
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  apps = answer.data.applications;
  lots = answer.data.lots ?? [];
  draw();
}

initI18n();
onLangChange(() => {
  draw();
  messages.draw();
});
token = bindStaffToken($("staff-token"), (fresh) => {
  token = fresh;
  load();
});
$("status").addEventListener("change", load);
$("refresh").addEventListener("click", load);
load();
