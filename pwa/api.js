// Talking to the server. Only a 2xx answer with a JSON body counts as success: a
// captive portal's "200 OK" login page does not.

import { lang } from "./i18n.js";

/**
 * Answers {kind, status, data, message}:
 *   ok       2xx with JSON
 *   network  no answer at all (offline, timeout, connection cut)
 *   notjson  an answer that is not our API (captive portal, proxy error page)
 *   auth     401: log in again
 *   server   5xx: retry later
 *   client   other 4xx: needs the shopper's attention (message from the server)
 */
export async function call(method, path, { json, body, contentType, timeout = 60000 } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  const headers = { Accept: "application/json", "Accept-Language": lang() };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, credentials: "same-origin",
                                    signal: controller.signal, cache: "no-store" });
  } catch (error) {
    return { kind: "network", status: 0, data: null, message: String(error && error.message) };
  } finally {
    clearTimeout(timer);
  }
  const type = response.headers.get("content-type") || "";
  let data = null;
  if (type.includes("application/json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (data === null) {
    return { kind: response.status >= 500 ? "server" : "notjson", status: response.status, data,
             message: `HTTP ${response.status}` };
  }
  const message = data.error ? data.error.message : "";
  if (response.ok) return { kind: "ok", status: response.status, data, message };
  if (response.status === 401) return { kind: "auth", status: 401, data, message };
  if (response.status >= 500) return { kind: "server", status: response.status, data, message };
  return { kind: "client", status: response.status, data, message, details: data.error.details };
}
