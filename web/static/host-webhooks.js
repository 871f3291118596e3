// The host console's webhooks panel (docs/after-the-auction.md): the delivery log of
// every milestone posted to the center's receiver, and a resend with a reason.

import { addStrings, onLangChange, t } from "./i18n.js";
import { $, MessageBox, api, dateTime, guard, h, replaceChildren } from "./ui.js";

const REFRESH_MS = 10_000;

addStrings({
  zh: {
    webhooks: "推送记录（Webhook）", webhooks_none: "暂无推送", webhook_key: "里程碑",
    webhook_attempts: "次数", webhook_status: "状态", webhook_last: "最近一次",
    webhook_delivered: "已送达", webhook_pending: "待重试", webhook_resend: "重发",
    webhook_reason: "重发理由", webhook_resent: "已安排重发：{key}",
    webhook_need_reason: "请填写重发理由",
  },
  en: {
    webhooks: "Webhook deliveries", webhooks_none: "Nothing posted yet", webhook_key: "Milestone",
    webhook_attempts: "Attempts", webhook_status: "Status", webhook_last: "Last attempt",
    webhook_delivered: "Delivered", webhook_pending: "To retry", webhook_resend: "Resend",
    webhook_reason: "Reason to resend", webhook_resent: "Sent again: {key}",
    webhook_need_reason: "Give a reason to resend",
  },
});

const messages = new MessageBox(null);
let deliveries = [];

function token() {
  return ($("staff-token")?.value || sessionStorage.getItem("auction.staffToken") || "").trim();
}

async function resend(delivery) {
  const reason = $("webhook-reason").value.trim();
  if (!reason) {
    messages.show({ key: "webhook_need_reason" }, "info");
    return;
  }
  const id = delivery.key.replaceAll(":", ".");
  const answer = await api(`/api/webhooks/${encodeURIComponent(id)}/resend`, {
    method: "POST", token: token(), body: { reason },
  });
  if (answer.ok) messages.show({ key: "webhook_resent", vars: { key: delivery.key } }, "info");
  else messages.show(answer.error);
  await refresh();
}

function row(d) {
  const button = h("button", { type: "button", class: "webhook-resend" }, t("webhook_resend"));
  button.addEventListener("click", guard(() => resend(d), button));
  const status = d.delivered_at ? t("webhook_delivered")
    : `${t("webhook_pending")} (${d.last_status || d.last_error || "—"})`;
  return h("tr", { dataset: { key: d.key, delivered: String(Boolean(d.delivered_at)) } },
    h("td", {}, d.key), h("td", { class: "num" }, String(d.attempts)),
    h("td", {}, status), h("td", {}, d.last_at ? dateTime(d.last_at) : "—"),
    h("td", {}, button));
}

function draw() {
  $("webhooks-empty").hidden = deliveries.length > 0;
  replaceChildren($("webhooks").querySelector("tbody"), deliveries.map(row));
  messages.draw();
}

async function refresh() {
  if (!token()) return;
  const answer = await api("/api/webhooks", { token: token() });
  if (answer.ok) deliveries = answer.data.deliveries;
  draw();
}

export function startWebhooks() {
  if (!$("webhooks")) return;
  messages.el = $("webhook-message");
  onLangChange(draw);
  refresh();
  setInterval(refresh, REFRESH_MS);
}

startWebhooks();
