// The API's management routes (docs/api.md), called with the session in Authorization: Bearer.
// Every refusal becomes a Problem whose detail the page shows where the action was taken.

import { currentSession } from "./auth.js";

/** Problem is an answer of the API that is not a success: RFC 9457 problem details. */
export class Problem extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/** SessionEnded is thrown when the session is missing, expired or refused (401). */
export class SessionEnded extends Error {}

export function client(config) {
  const base = config.apiBaseUrl.replace(/\/$/, "");

  async function call(method, path, body, extraHeaders = {}) {
    const session = currentSession();
    if (!session) throw new SessionEnded("Your session has ended.");
    const headers = { ...extraHeaders, Authorization: "Bearer " + session.idToken };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let resp;
    try {
      resp = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch {
      throw new Problem(0, "network", "The API could not be reached. Check your connection and try again.");
    }
    if (resp.status === 401) throw new SessionEnded("Your session has ended.");
    if (resp.status === 204) return null;
    const text = await resp.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: a proxy's page; the status says enough.
    }
    if (!resp.ok) {
      const detail = json && (json.detail || json.title || json.message);
      throw new Problem(resp.status, (json && json.code) || "http_" + resp.status, detail || `The API answered ${resp.status}.`);
    }
    return json;
  }

  const id = (tokenId) => encodeURIComponent(tokenId);
  return {
    list: ({ owner = "me", cursor, limit = 20 } = {}) => {
      const q = new URLSearchParams({ owner, limit: String(limit) });
      if (cursor) q.set("cursor", cursor);
      return call("GET", "/v1/tokens?" + q);
    },
    create: (fields) => call("POST", "/v1/tokens", fields),
    // edit changes any of name, permissions and allowedCidrs: only the fields given.
    edit: (tokenId, fields) => call("PATCH", `/v1/tokens/${id(tokenId)}`, fields),
    reveal: (tokenId) => call("POST", `/v1/tokens/${id(tokenId)}/reveal`),
    deactivate: (tokenId) => call("POST", `/v1/tokens/${id(tokenId)}/deactivate`),
    activate: (tokenId) => call("POST", `/v1/tokens/${id(tokenId)}/activate`),
    // roll gives the token a new key; idempotencyKey makes a repeat of the same roll safe.
    roll: (tokenId, gracePeriodSeconds, idempotencyKey) =>
      call("POST", `/v1/tokens/${id(tokenId)}/roll`, { gracePeriodSeconds }, { "Idempotency-Key": idempotencyKey }),
    revokePreviousKey: (tokenId) => call("POST", `/v1/tokens/${id(tokenId)}/previous-key/revoke`),
    remove: (tokenId) => call("DELETE", `/v1/tokens/${id(tokenId)}`),
    transfer: (tokenId, userId) => call("POST", `/v1/tokens/${id(tokenId)}/transfer`, { userId }),
    deactivateUser: (userId) => call("POST", `/v1/users/${encodeURIComponent(userId)}/tokens/deactivate`),
    // policy answers the environment's policy and the permission catalogue.
    policy: () => call("GET", "/v1/policy"),
    putPolicy: (policy) => call("PUT", "/v1/policy", policy),
    // usage answers the token's calls by hour (the last 24) or by day (the last 30).
    usage: (tokenId, granularity) =>
      call("GET", `/v1/tokens/${id(tokenId)}/usage?` + new URLSearchParams({ granularity })),
    audit: (tokenId, cursor) => {
      const q = new URLSearchParams({ limit: "20" });
      if (cursor) q.set("cursor", cursor);
      return call("GET", `/v1/tokens/${id(tokenId)}/audit?` + q);
    },
  };
}
