// Who is signed in: the signed-out view and Sign in, the account menu (API Tokens, Sign out),
// and signing in again when the session ends, keeping what was typed as a draft.

import { forgetSession, signIn } from "./auth.js";
import { $, announce, page } from "./ui.js";
import { clearList } from "./list.js";
import { menuKeys } from "./menu.js";

const DRAFT = "apitokens.draft";

/** showSignedOut shows the Sign in view, with problem when there is one. */
export function showSignedOut(problem) {
  $("tokens").hidden = true;
  $("account").hidden = true;
  $("signed-out").hidden = false;
  const p = $("signin-problem");
  p.hidden = !problem;
  p.textContent = problem || "";
}

/** showAccount shows who is signed in, in the top bar. */
export function showAccount() {
  $("account").hidden = false;
  $("account-name").textContent = `${page.me.sub}${page.me.admin ? " · admin" : ""}`;
}

export async function startSignIn() {
  try {
    await signIn(page.config);
  } catch (err) {
    showSignedOut(`Sign-in could not start: ${err.message}`);
  }
}

// sessionEnded keeps draft (what the person typed), signs in again, and takeDraft puts it back
// afterwards.
export function sessionEnded(draft) {
  if (draft) sessionStorage.setItem(DRAFT, JSON.stringify(draft));
  forgetSession();
  announce("Your session has ended. Signing you in again…");
  startSignIn();
}

/** takeDraft answers the draft kept when the session ended, once: {kind, …} or null. */
export function takeDraft() {
  const draft = JSON.parse(sessionStorage.getItem(DRAFT) || "null");
  sessionStorage.removeItem(DRAFT);
  return draft;
}

function toggleAccountMenu(open) {
  const menu = $("account-menu");
  menu.hidden = !open;
  $("account-button").setAttribute("aria-expanded", String(open));
  if (open) menu.querySelector("button").focus();
}

function signOut() {
  forgetSession();
  sessionStorage.removeItem(DRAFT);
  clearList();
  if (page.config.logoutUrl) {
    location.assign(page.config.logoutUrl);
    return;
  }
  showSignedOut();
  announce("Signed out.");
  $("signin").focus();
}

export function wire() {
  $("signin").addEventListener("click", () => startSignIn());
  $("account-button").addEventListener("click", () => toggleAccountMenu($("account-menu").hidden));
  menuKeys($("account-menu"), (focus) => {
    toggleAccountMenu(false);
    if (focus) $("account-button").focus();
  });
  $("account-menu").addEventListener("click", (e) => {
    const action = e.target.closest("button")?.dataset.action;
    if (!action) return;
    toggleAccountMenu(false);
    if (action === "signout") signOut();
    else $("tokens-title").focus();
  });
  document.addEventListener("click", (e) => {
    if (!$("account-menu").hidden && !$("account").contains(e.target)) toggleAccountMenu(false);
  });
  $("tokens-title").tabIndex = -1;
}
