// The bidder's account in the browser: the session is an HttpOnly cookie the page never
// sees; the CSRF token the login answered is kept in sessionStorage and sent with every
// account action.

import { api } from "./ui.js";

const CSRF_KEY = "auction.csrf";

export function csrf() {
  try {
    return sessionStorage.getItem(CSRF_KEY) ?? "";
  } catch {
    return "";
  }
}

export function keepCsrf(value) {
  try {
    if (value) sessionStorage.setItem(CSRF_KEY, value);
    else sessionStorage.removeItem(CSRF_KEY);
  } catch {
    // private mode: this page only
  }
}

/** `api()` with the account's CSRF header. */
export function accountApi(path, options = {}) {
  return api(path, { ...options, headers: { "X-CSRF-Token": csrf(), ...(options.headers ?? {}) } });
}

/** The account's page, or null when not logged in (keeps the CSRF token it answers). */
export async function loadAccount() {
  // Only a 401 means signed out: a failure of the server or the network is asked again
  // (twice, after 0.5 and 1 s) before the page shows the login form.
  for (let attempt = 0; ; attempt += 1) {
    const answer = await api("/api/account");
    if (answer.ok) {
      keepCsrf(answer.data.csrf);
      return answer.data;
    }
    if (answer.error.code === "unauthorized" || attempt >= 2) return null;
    await new Promise((resolve) => setTimeout(resolve, 500 * (attempt + 1)));
  }
}

// Passkeys (WebAuthn): the server's options are WebAuthn JSON (base64url byte fields); the
// browser's answer goes back as PublicKeyCredential.toJSON() gives it.

function fromB64url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bytes = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bytes, (c) => c.charCodeAt(0)).buffer;
}

function toB64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function credentialJson(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const r = credential.response;
  const response = { clientDataJSON: toB64url(r.clientDataJSON) };
  if (r.attestationObject) response.attestationObject = toB64url(r.attestationObject);
  if (r.authenticatorData) response.authenticatorData = toB64url(r.authenticatorData);
  if (r.signature) response.signature = toB64url(r.signature);
  if (r.userHandle) response.userHandle = toB64url(r.userHandle);
  return { id: credential.id, rawId: toB64url(credential.rawId), type: credential.type, response };
}

export function passkeysSupported() {
  return typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
}

const CANCELLED = { ok: false, error: { code: "passkey_cancelled" } };

/** Add a passkey to the signed-in account: `{ok, data | error}` as api() answers. */
export async function addPasskey(name) {
  const options = await accountApi("/api/account/passkeys/options", { method: "POST", body: {} });
  if (!options.ok) return options;
  const o = options.data;
  const publicKey = {
    ...o, challenge: fromB64url(o.challenge), user: { ...o.user, id: fromB64url(o.user.id) },
    excludeCredentials: (o.excludeCredentials ?? []).map((c) => ({ ...c, id: fromB64url(c.id) })),
  };
  let credential;
  try {
    credential = await navigator.credentials.create({ publicKey });
  } catch {
    return CANCELLED;
  }
  if (!credential) return CANCELLED;
  return accountApi("/api/account/passkeys", { method: "POST", body: { ...credentialJson(credential), name } });
}

/** Log in with a passkey: `{ok, data | error}`; keeps the CSRF token on success. */
export async function passkeyLogin() {
  const options = await api("/api/account/passkey-login/options", { method: "POST", body: {} });
  if (!options.ok) return options;
  const o = options.data;
  const publicKey = {
    ...o, challenge: fromB64url(o.challenge),
    allowCredentials: (o.allowCredentials ?? []).map((c) => ({ ...c, id: fromB64url(c.id) })),
  };
  let credential;
  try {
    credential = await navigator.credentials.get({ publicKey });
  } catch {
    return CANCELLED;
  }
  if (!credential) return CANCELLED;
  const answer = await api("/api/account/passkey-login", { method: "POST", body: credentialJson(credential) });
  if (answer.ok) keepCsrf(answer.data.csrf);
  return answer;
}
