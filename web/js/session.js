// Who is using the page: the viewer session kept in localStorage, and token claims.

const KEY = "live.session";

/** A token's claims {r, u, n, room, exp}, read without checking the signature. */
export function claimsOf(token) {
  try {
    const body = token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(body + "=".repeat((4 - (body.length % 4)) % 4)));
  } catch {
    return null;
  }
}

/** True when the token's own expiry has passed (the server has the last word). */
export function expired(token) {
  const claims = claimsOf(token);
  return !claims || (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now());
}

/** The stored viewer session {token, user_id, name}, or null. */
export function loadSession() {
  try {
    const s = JSON.parse(localStorage.getItem(KEY) || "null");
    if (s && s.token && !expired(s.token)) return s;
  } catch {
    /* storage blocked or garbled: start over */
  }
  return null;
}

export function saveSession(session) {
  try {
    localStorage.setItem(KEY, JSON.stringify(session));
  } catch {
    /* private mode: the session lasts as long as the page */
  }
}

export function forgetSession() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    /* nothing stored */
  }
}

/** The host token from the page's fragment (#token=...), which never reaches the server. */
export function tokenFromFragment() {
  // The host token leaves the address bar as soon as it is read (a screen share or a
  // shoulder would show it); this tab keeps it in sessionStorage, so a reload still works.
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const key = `live.token:${location.pathname}`;
  const token = params.get("token");
  if (token) {
    try { sessionStorage.setItem(key, token); } catch { /* storage off: keep it in memory */ }
    history.replaceState(null, "", location.pathname + location.search);
    return token;
  }
  try { return sessionStorage.getItem(key); } catch { return null; }
}
