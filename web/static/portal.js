// The bidder portal (/portal): register (the TOTP key shown once), log in with the second
// factor or a passkey, add passkeys, and the account's applications: review, deposit,
// documents, the room once eligible.

import { accountApi, addPasskey, keepCsrf, loadAccount, passkeyLogin, passkeysSupported } from "./account.js";
import "./deposit.js"; // its texts of deposit instructions and arrivals
import { codeText, initI18n, onLangChange, t } from "./i18n.js";
import "./records-i18n.js";
import "./trade-i18n.js";
import { $, MessageBox, api, dateTime, guard, h, money } from "./ui.js";

const messages = new MessageBox($("message"));
let account = null;

function depositText(app) {
  return app.deposit !== null ? t("deposit_counted", { amount: money(app.deposit) })
    : t("deposit_due", { amount: money(app.deposit_required), time: dateTime(app.deposit_until) });
}

/** Where and how to pay the deposit (the application's own reference), and what the bank
 * reported: each arrival with its outcome, a flagged one with its reason. */
function depositBlock(app) {
  if (!app.deposit_reference) return [];
  return [
    h("dl", { class: "info deposit-instructions" },
      h("dt", {}, t("deposit_reference")), h("dd", { class: "reference" }, app.deposit_reference),
      h("dt", {}, t("deposit_payer")), h("dd", {}, app.name),
      h("dt", {}, t("deposit_amount_due")), h("dd", { class: "num" }, money(app.deposit_required)),
      h("dt", {}, t("deposit_deadline")), h("dd", {}, dateTime(app.deposit_until))),
    h("ul", { class: "arrivals" }, ...(app.deposit_arrivals ?? []).map((a) => h("li", {
      class: "arrival", dataset: { outcome: a.outcome },
    }, t("deposit_arrival", {
      time: dateTime(a.value_at), amount: a.amount, account: a.payer_account,
      outcome: codeText(a.outcome, a.message),
    })))),
  ];
}

function uploadForm(app) {
  const name = h("input", { class: "doc-name", required: true, maxlength: "200" });
  name.placeholder = t("document_name");
  const file = h("input", { class: "doc-file", type: "file", accept: "application/pdf,image/png,image/jpeg", required: true });
  const button = h("button", { type: "submit", class: "doc-upload" }, t("upload"));
  const form = h("form", { class: "upload" }, name, file, button);
  form.addEventListener("submit", guard(async (event) => {
    event.preventDefault();
    const chosen = file.files[0];
    if (!chosen) return;
    const path = `/api/applications/${encodeURIComponent(app.application_id)}/documents`
      + `?name=${encodeURIComponent(name.value.trim())}`;
    const answer = await accountApi(path, {
      method: "POST", raw: chosen, headers: { "Content-Type": chosen.type || "application/octet-stream" },
    });
    if (!answer.ok) {
      messages.show(answer.error);
      return;
    }
    messages.show({ key: "uploaded" }, "ok");
    await load();
  }, button));
  return form;
}

function drawPasskeys() {
  const passkeys = account.passkeys ?? [];
  $("passkeys").replaceChildren(...(passkeys.length ? passkeys.map((p) => h("li", {
    class: "passkey", dataset: { credentialId: p.credential_id },
  }, `${p.name} · ${t("passkey_added_at")} ${dateTime(p.added_at)}`
    + (p.last_used_at ? ` · ${t("passkey_last_used")} ${dateTime(p.last_used_at)}` : "")))
    : [h("li", { class: "empty" }, t("passkeys_empty"))]));
}

function draw() {
  $("signed-out").hidden = account !== null;
  $("signed-in").hidden = account === null;
  $("logout").hidden = account === null;
  $("passkey-login").hidden = !passkeysSupported();
  $("add-passkey").hidden = !passkeysSupported();
  if (account === null) return;
  $("account-name").textContent = account.name;
  $("account-code").textContent = `${t(`party_${account.party}`)} · ${account.code}`;
  drawPasskeys();
  if (!account.applications.length) {
    $("applications").replaceChildren(h("li", { class: "empty" }, t("applications_empty")));
    return;
  }
  $("applications").replaceChildren(...account.applications.map((app) => h("li", {
    class: "lot-card application", dataset: { applicationId: app.application_id, lotId: app.lot_id, status: app.status },
  },
  h("a", { class: "board-link", href: `/notice/${encodeURIComponent(app.notice_id)}` },
    h("span", { class: "lot-title" }, app.lot_id)),
  h("span", { class: "status app-status" }, t(`app_${app.status}`)),
  app.reason ? h("div", { class: "reason" }, app.reason) : null,
  app.result ? h("div", { class: "result" }, t(`tr_result_${app.result}`),
    " · ", h("a", { href: `/result/${encodeURIComponent(app.lot_id)}` }, t("result_link"))) : null,
  h("div", { class: "lot-meta deposit" }, `${t("tr_deposit_status")}: ${depositText(app)}`),
  ...(app.deposit === null ? depositBlock(app) : []),
  h("ul", { class: "documents" }, ...app.documents.map((d) => h("li", {},
    `${d.name} · ${d.size} B · ${dateTime(d.at)} · SHA-256 ${d.sha256.slice(0, 12)}…`))),
  app.status === "submitted" || app.status === "approved" ? uploadForm(app) : null,
  app.room_url ? h("a", { class: "button-link room-link", href: app.room_url }, t("enter_room"))
    : h("p", { class: "note" }, t("not_eligible_room")))));
}

async function load() {
  account = await loadAccount();
  draw();
}

initI18n();
onLangChange(() => {
  draw();
  messages.draw();
});

$("login-form").addEventListener("submit", guard(async (event) => {
  event.preventDefault();
  const answer = await api("/api/account/login", {
    method: "POST",
    body: { code: $("login-code").value.trim().toUpperCase(), password: $("login-password").value, otp: $("login-otp").value.trim() },
  });
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  keepCsrf(answer.data.csrf);
  messages.clear();
  $("login-password").value = "";
  await load();
}, $("login")));

$("passkey-login").addEventListener("click", guard(async () => {
  const answer = await passkeyLogin();
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  messages.clear();
  await load();
}, $("passkey-login")));

$("add-passkey").addEventListener("click", guard(async () => {
  const answer = await addPasskey(t("passkey_default_name"));
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  messages.show({ key: "passkey_added" }, "ok");
  await load();
}, $("add-passkey")));

$("register-form").addEventListener("submit", guard(async (event) => {
  event.preventDefault();
  const answer = await api("/api/accounts", {
    method: "POST",
    body: {
      party: $("reg-party").value, name: $("reg-name").value.trim(),
      code: $("reg-code").value.trim().toUpperCase(), contact_person: $("reg-contact").value.trim(),
      phone: $("reg-phone").value.trim(), email: $("reg-email").value.trim(), password: $("reg-password").value,
    },
  });
  if (!answer.ok) {
    messages.show(answer.error);
    return;
  }
  $("totp").hidden = false;
  $("totp-secret").textContent = answer.data.totp_secret;
  $("login-code").value = $("reg-code").value.trim().toUpperCase();
  messages.show({ key: "tr_registered" }, "ok");
}, $("register")));

$("logout").addEventListener("click", guard(async () => {
  await accountApi("/api/account/logout", { method: "POST", body: {} });
  keepCsrf("");
  account = null;
  draw();
}));

load();
