// The Edit name window. What was typed outlives an ended session: restoreRename opens the
// window with it again after signing in.

import { $, announce, attempt, busy, focusTrigger, openTokenDialog, page, setProblem } from "./ui.js";
import { findItem, replaceItem } from "./list.js";

let renaming = null;

/** openRename opens the window for token, with its name or draftName. */
export function openRename(token, draftName) {
  renaming = token;
  setProblem($("rename-problem"), "");
  $("rename-name").value = draftName ?? token.name;
  openTokenDialog($("rename-dialog"), token);
  $("rename-name").select();
}

/** restoreRename reopens the window of a draft kept when the session ended, if the token is listed. */
export function restoreRename(draft) {
  const token = findItem(draft.tokenId);
  if (token) openRename(token, draft.name);
}

async function submitRename(e) {
  e.preventDefault();
  const token = renaming;
  const name = $("rename-name").value;
  busy($("rename-form"), true);
  const updated = await attempt(
    () => page.api.rename(token.id, name),
    (d) => setProblem($("rename-problem"), d),
    () => ({ kind: "rename", tokenId: token.id, name }),
  );
  busy($("rename-form"), false);
  if (!updated) return;
  $("rename-dialog").close();
  replaceItem(updated);
  announce(`Renamed to ${updated.name}.`);
  focusTrigger(updated.id);
}

export function wire() {
  $("rename-form").addEventListener("submit", submitRename);
}
