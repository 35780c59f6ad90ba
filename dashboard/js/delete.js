// The Delete window: asks first, naming the token; Delete removes it and its key stops working.

import { $, announce, attempt, busy, focusTrigger, openTokenDialog, page, setProblem } from "./ui.js";
import { removeItem } from "./list.js";

let deleting = null;

export function openDelete(token) {
  deleting = token;
  $("delete-name").textContent = token.name;
  setProblem($("delete-problem"), "");
  openTokenDialog($("delete-dialog"), token);
  $("delete-dialog").querySelector("[data-close]").focus();
}

async function submitDelete(e) {
  e.preventDefault();
  const token = deleting;
  busy($("delete-form"), true);
  const done = await attempt(
    () => page.api.remove(token.id).then(() => true),
    (d) => setProblem($("delete-problem"), d),
  );
  busy($("delete-form"), false);
  if (!done) return;
  const next = removeItem(token.id);
  $("delete-dialog").close();
  announce(`Deleted ${token.name}.`);
  if (next) focusTrigger(next.id);
  else $("new-token").focus();
}

export function wire() {
  $("delete-form").addEventListener("submit", submitDelete);
}
