// Suspend all of one user's tokens (administrators, from the ⋮ menu of any token of another
// user): a confirmation naming the user, then POST /v1/users/{userId}/tokens/deactivate; the
// count it answers is shown above the list, which loads again.

import { $, announce, attempt, busy, focusTrigger, openTokenDialog, page, setProblem } from "./ui.js";
import { reload } from "./list.js";

let suspending = null;

/** openSuspend asks whether to suspend every token of token's owner. */
export function openSuspend(token) {
  suspending = token;
  $("suspend-user").textContent = token.userId;
  setProblem($("suspend-problem"), "");
  openTokenDialog($("suspend-dialog"), token);
  $("suspend-form").querySelector("[data-close]").focus();
}

async function submitSuspend(e) {
  e.preventDefault();
  const token = suspending;
  busy($("suspend-form"), true);
  const got = await attempt(() => page.api.deactivateUser(token.userId), (d) => setProblem($("suspend-problem"), d));
  busy($("suspend-form"), false);
  if (!got) return;
  $("suspend-dialog").close();
  const n = got.deactivated;
  await reload();
  const note = $("list-note");
  note.textContent = `Suspended ${n} ${n === 1 ? "token" : "tokens"} of ${token.userId}.${n ? " Activate any of them again from its ⋮ menu." : " None was active."}`;
  note.hidden = false;
  announce(note.textContent);
  focusTrigger(token.id);
}

export function wire() {
  $("suspend-form").addEventListener("submit", submitSuspend);
}
