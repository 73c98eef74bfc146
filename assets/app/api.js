// The JSON API: access token in memory only; the refresh token lives in an
// HttpOnly cookie the browser sends to /api/v1/auth, never seen by scripts.

let accessToken = null;
let currentUser = null;
let refreshing = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.errors = problem?.errors || [];
  }
}

export const session = {
  get user() { return currentUser; },
  get token() { return accessToken; },
  get staff() { return currentUser && currentUser.role !== "customer"; },
  onChange(fn) { listeners.add(fn); },
};

function setSession(pair) {
  accessToken = pair ? pair.access_token : null;
  currentUser = pair ? pair.user : null;
  for (const fn of listeners) fn(currentUser);
}

async function raw(method, path, body, token) {
  const headers = { "X-Helpline-Session": "cookie" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** Gets a fresh access token from the refresh cookie; false when signed out. */
export async function refresh() {
  if (!document.cookie.split("; ").includes("helpline_signed_in=1")) {
    if (currentUser) setSession(null);
    return false;
  }
  if (!refreshing) {
    const attempt = () => raw("POST", "/api/v1/auth/refresh", { refresh_token: "" })
      .then((pair) => { setSession(pair); return true; })
      .catch((e) => {
        // Only a refused session signs out; a busy server is tried again later.
        if (e.status === 401 || e.status === 422) setSession(null);
        return false;
      });
    // Tabs share the cookie: one refresh at a time, so none presents a token
    // another tab has just spent (which would end the session everywhere).
    const locked = navigator.locks
      ? navigator.locks.request("helpline-refresh", attempt)
      : attempt();
    refreshing = locked.finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** Calls the API as the signed-in user, refreshing the token once on 401. */
export async function api(method, path, body) {
  try {
    return await raw(method, path, body, accessToken);
  } catch (e) {
    if (e.status === 401 && accessToken && (await refresh())) {
      return raw(method, path, body, accessToken);
    }
    throw e;
  }
}

/** Calls an endpoint that answers a token pair (sign-in, setup, invite) and keeps the session. */
export async function signIn(path, body) {
  const pair = await raw("POST", path, body);
  setSession(pair);
  return pair.user;
}

/** Registers; the user when signed in at once, null when a confirmation link was mailed. */
export async function register(body) {
  const answer = await raw("POST", "/api/v1/auth/register", body);
  if (!answer || !answer.access_token) return null;
  setSession(answer);
  return answer.user;
}

export async function signOut() {
  try { await raw("POST", "/api/v1/auth/logout", { refresh_token: "" }, accessToken); } catch { /* signed out anyway */ }
  setSession(null);
}

/** Unauthenticated call (portal links, public settings, password reset). */
export const anon = (method, path, body) => raw(method, path, body);

/** Seconds until the access token expires (for live connections). */
export function tokenLifetime() {
  if (!accessToken) return 0;
  try {
    const claims = JSON.parse(atob(accessToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return Math.max(0, claims.exp - Date.now() / 1000);
  } catch { return 0; }
}
