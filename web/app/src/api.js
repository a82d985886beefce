// Talking to the sdgcube server the app is served from (its root is the folder above /app/).
export const ROOT = new URL("..", window.location.href).href.replace(/\/$/, "");

let csrf = null;

/** Remember the session's CSRF token: POST and DELETE carry it when signed in by cookie. */
export function setCsrf(token) {
  csrf = token || null;
}

export function url(path, params = {}) {
  const target = new URL(ROOT + path);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") target.searchParams.set(k, v);
  }
  return target.href;
}

async function failure(response) {
  let text = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    text = body.description || body.detail || text;
  } catch {
    /* not JSON */
  }
  const error = new Error(text);
  error.status = response.status;
  return error;
}

export async function getJson(path, params = {}) {
  const response = await fetch(url(path, { f: "json", ...params }), { credentials: "same-origin" });
  if (!response.ok) throw await failure(response);
  return response.json();
}

export async function send(method, path, body, headers = {}) {
  const all = { ...headers };
  if (body !== undefined) all["Content-Type"] = "application/json";
  if (csrf) all["X-CSRF-Token"] = csrf;
  const response = await fetch(url(path), {
    method,
    headers: all,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response;
}
