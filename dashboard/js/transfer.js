// The Transfer window (administrators): hand a token, its key and its history to another user of
// the environment with POST /v1/tokens/{id}/transfer; the key does not change.

import { $, announce, attempt, busy, focusTrigger, openTokenDialog, page, setProblem } from "./ui.js";
import { reload } from "./list.js";

let transferring = null;

/** openTransfer asks to whom token goes. */
export function openTransfer(token) {
  transferring = token;
  $("transfer-name").textContent = token.name;
  $("transfer-user").value = "";
  setProblem($("transfer-problem"), "");
  openTokenDialog($("transfer-dialog"), token);
  $("transfer-user").focus();
}

async function submitTransfer(e) {
  e.preventDefault();
  const token = transferring;
  const userId = $("transfer-user").value.trim();
  if (!userId) {
    setProblem($("transfer-problem"), "Type the user id of the new owner.");
    $("transfer-user").focus();
    return;
  }
  busy($("transfer-form"), true);
  const updated = await attempt(() => page.api.transfer(token.id, userId), (d) => setProblem($("transfer-problem"), d));
  busy($("transfer-form"), false);
  if (!updated) return;
  $("transfer-dialog").close();
  announce(`${updated.name} now belongs to ${updated.userId}.`);
  await reload();
  focusTrigger(token.id);
}

export function wire() {
  $("transfer-form").addEventListener("submit", submitTransfer);
}
