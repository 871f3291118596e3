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
  const answer = await api("/api/account");
  if (!answer.ok) return null;
  keepCsrf(answer.data.csrf);
  return answer.data;
}
