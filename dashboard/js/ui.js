// What every view shares: the page's context (configuration, API client, who is signed in),
// building elements, showing a refusal's problem detail, modal windows and announcements.

import { Problem, SessionEnded } from "./api.js";

/** The page's context, set once at start: config.json, the API client, and me: {sub, admin}. */
export const page = { config: null, api: null, me: null };

export const $ = (id) => document.getElementById(id);

/** el builds an element: props are properties, except data-* and aria-* attributes. */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith("data-") || k.startsWith("aria-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

export const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** time shows an ISO time in the reader's format, or none (muted) when there is no time. */
export function time(iso, none) {
  if (!iso) return el("span", { className: "muted" }, none ?? "");
  return el("time", { dateTime: iso }, dateFormat.format(new Date(iso)));
}

/** setProblem shows a problem's detail in p, or hides p when detail is empty. */
export function setProblem(p, detail) {
  p.hidden = !detail;
  p.textContent = detail || "";
}

/** busy disables a form's buttons while its request runs. */
export function busy(form, on) {
  for (const b of form.querySelectorAll("button")) b.disabled = on;
}

/** announce says text through the page's live region. */
export function announce(text) {
  $("announce").textContent = text;
}

/** kebab is the ⋮ button of a token's row, or null when the row is not shown. */
export function kebab(tokenId) {
  return document.querySelector(`button.kebab[data-token="${CSS.escape(tokenId)}"]`);
}

/** focusTrigger puts focus on the token's ⋮ button, or on +New when its row is gone. */
export function focusTrigger(tokenId) {
  (kebab(tokenId) || $("new-token")).focus();
}

// openDialog shows a modal dialog and, when it closes, returns focus to returnTo (an element,
// or a function finding one), or to where it was. The close event comes a task later: by then
// the browser may have put focus back itself, or the person may have moved on, and neither is
// undone.
export function openDialog(dialog, returnTo) {
  const back = returnTo || document.activeElement;
  dialog.addEventListener(
    "close",
    () => {
      const now = document.activeElement;
      if (now && now !== document.body && !dialog.contains(now) && now.isConnected && !now.closest("[hidden]")) return;
      const target = typeof back === "function" ? back() : back;
      if (target && target.isConnected) target.focus();
      else $("new-token").focus();
    },
    { once: true },
  );
  dialog.showModal();
}

/** openTokenDialog opens a window about one token; it closes back to the token's ⋮ button. */
export function openTokenDialog(dialog, token) {
  openDialog(dialog, () => kebab(token.id));
}

let sessionEnded = () => {};

/** onSessionEnded names what attempt does when the session ends: sign in again, keeping draft. */
export function onSessionEnded(handle) {
  sessionEnded = handle;
}

// attempt runs an action and answers its result, or undefined when it failed: a SessionEnded
// hands draft() (what was typed, to put back after signing in again) to onSessionEnded's
// handler; a Problem's detail, or any other error's message, goes to show(detail, problem).
export async function attempt(action, show, draft) {
  try {
    return await action();
  } catch (err) {
    if (err instanceof SessionEnded) {
      sessionEnded(draft && draft());
    } else if (err instanceof Problem) {
      show(err.detail, err);
    } else {
      show(`Something went wrong: ${err.message}`);
    }
    return undefined;
  }
}
