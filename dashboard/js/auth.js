// Sign-in with OpenID Connect: the Authorization Code flow with PKCE (RFC 7636, S256) against
// the issuer named in config.json. The session (the ID token) lives in sessionStorage, so it
// ends with the tab; nothing goes to localStorage or a cookie.

const SESSION = "apitokens.session";
const PENDING = "apitokens.signin";
// A session this close to its end counts as ended, so a request does not leave with a token
// that expires on the way.
const SKEW_SECONDS = 30;

/** The session: the ID token and its claims, or null when signed out or expired. */
export function currentSession() {
  const raw = sessionStorage.getItem(SESSION);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw);
    if (!s.idToken || !s.claims || s.claims.exp - SKEW_SECONDS <= Date.now() / 1000) return null;
    return s;
  } catch {
    return null;
  }
}

/** Forgets the session (the tab's copy; the provider's own sign-in is left alone). */
export function forgetSession() {
  sessionStorage.removeItem(SESSION);
}

async function discover(config) {
  const url = config.issuer.replace(/\/$/, "") + "/.well-known/openid-configuration";
  const resp = await fetch(url, { cache: "no-store" });
  if (!resp.ok) throw new Error(`The identity provider's discovery document answered ${resp.status}.`);
  const doc = await resp.json();
  if (!doc.authorization_endpoint || !doc.token_endpoint) {
    throw new Error("The identity provider names no authorization or token endpoint.");
  }
  return doc;
}

function base64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The page's own address without query or fragment: the redirect URI registered with the provider. */
export function redirectURI(config) {
  if (config.redirectUri) return config.redirectUri;
  return location.origin + location.pathname;
}

/** Sends the browser to the provider's sign-in. */
export async function signIn(config) {
  const doc = await discover(config);
  const verifier = randomString();
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const pending = { verifier, state: randomString(), nonce: randomString(), tokenEndpoint: doc.token_endpoint };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const params = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: redirectURI(config),
    scope: config.scopes || "openid",
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(doc.authorization_endpoint + "?" + params);
}

function claimsOf(jwt) {
  const part = jwt.split(".")[1] || "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(decodeURIComponent(Array.from(json, (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join("")));
}

/**
 * Finishes a sign-in when the page is the provider's redirect: checks the state, exchanges the
 * code and the verifier for the ID token, and checks the token's issuer, audience and nonce.
 * The signature is the API's to check (API Gateway's JWT authorizer). Returns true when it
 * signed in, false when the page was not a redirect; throws with a message to show otherwise.
 */
export async function completeSignIn(config) {
  const q = new URLSearchParams(location.search);
  if (!q.has("code") && !q.has("error")) return false;
  // The code must not stay in the address bar or the history.
  history.replaceState(null, "", location.pathname);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  if (q.has("error")) {
    throw new Error(`Sign-in did not complete: ${q.get("error_description") || q.get("error")}.`);
  }
  if (!pending || q.get("state") !== pending.state) {
    throw new Error("Sign-in did not complete: this answer does not belong to a sign-in started here. Sign in again.");
  }
  const resp = await fetch(pending.tokenEndpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: q.get("code"),
      redirect_uri: redirectURI(config),
      client_id: config.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok || !body.id_token) {
    throw new Error(`Sign-in did not complete: ${body.error_description || body.error || "the token endpoint answered " + resp.status}.`);
  }
  const claims = claimsOf(body.id_token);
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== config.issuer.replace(/\/$/, "") || !aud.includes(config.clientId) || claims.nonce !== pending.nonce) {
    throw new Error("Sign-in did not complete: the ID token is not for this page (issuer, audience or nonce differ).");
  }
  sessionStorage.setItem(SESSION, JSON.stringify({ idToken: body.id_token, claims }));
  return true;
}

/** The groups a session's claims list; API Gateway's form "[a b]" is read too. */
export function groupsOf(claims, claimName) {
  const g = claims[claimName];
  if (Array.isArray(g)) return g;
  if (typeof g === "string") return g.replace(/^\[|\]$/g, "").split(/[\s,]+/).filter(Boolean);
  return [];
}
