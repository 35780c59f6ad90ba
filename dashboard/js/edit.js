// The Edit window: a token's name, permissions, allowed IP addresses, rate limit and monthly
// quota, saved with PATCH /v1/tokens/{id} sending only what changed (a name or a quota alone is
// not held to the policy). What was typed outlives an ended session: restoreEdit opens the
// window with it again after signing in.

import { $, announce, attempt, busy, focusTrigger, openTokenDialog, page, setProblem } from "./ui.js";
import { findItem, replaceItem } from "./list.js";
import { clearAccessProblems, placeProblem, policyReady, readAccess, renderAccess, sameList } from "./access.js";
import { clearLimitsProblems, limitsDraft, placeLimitsProblem, readLimits, renderLimits, restoreLimits, sameLimit } from "./limits.js";

let editing = null;

/** openEdit opens the window for token, with its fields or those of a draft. */
export async function openEdit(token, draft) {
  editing = token;
  await policyReady();
  setProblem($("edit-problem"), "");
  $("edit-restored").hidden = !draft;
  $("edit-token-name").textContent = token.name;
  $("edit-name").value = draft?.name ?? token.name;
  renderAccess("edit", draft ? draft.permissions : token.permissions ?? null, draft ? draft.cidrs : token.allowedCidrs ?? null);
  renderLimits("edit", token.rateLimit ?? null, token.quota ?? null);
  restoreLimits("edit", draft?.limits);
  openTokenDialog($("edit-dialog"), token);
  $("edit-name").select();
}

/** restoreEdit reopens the window of a draft kept when the session ended, if the token is listed. */
export function restoreEdit(draft) {
  const token = findItem(draft.tokenId);
  if (token) openEdit(token, draft);
}

async function submitEdit(e) {
  e.preventDefault();
  const token = editing;
  const name = $("edit-name").value;
  const access = readAccess("edit");
  const fields = {};
  if (name !== token.name) fields.name = name;
  if (!sameList(access.permissions, token.permissions ?? null)) fields.permissions = access.permissions;
  if (!sameList(access.allowedCidrs, token.allowedCidrs ?? null)) fields.allowedCidrs = access.allowedCidrs;
  setProblem($("edit-problem"), "");
  clearAccessProblems("edit");
  clearLimitsProblems("edit");
  const limits = readLimits("edit");
  if (limits.problem) {
    placeLimitsProblem("edit", limits.problem);
    return;
  }
  if (!sameLimit(limits.rateLimit, token.rateLimit ?? null)) fields.rateLimit = limits.rateLimit;
  if (!sameLimit(limits.quota, token.quota ?? null)) fields.quota = limits.quota;
  if (Object.keys(fields).length === 0) {
    $("edit-dialog").close();
    announce("Nothing changed.");
    return;
  }
  busy($("edit-form"), true);
  const updated = await attempt(
    () => page.api.edit(token.id, fields),
    (d, problem) => placeProblem("edit", problem) || placeLimitsProblem("edit", problem) || setProblem($("edit-problem"), d),
    () => ({ kind: "edit", tokenId: token.id, name, permissions: access.permissions, cidrs: access.cidrsText, limits: limitsDraft("edit") }),
  );
  busy($("edit-form"), false);
  if (!updated) return;
  $("edit-dialog").close();
  replaceItem(updated);
  announce(`Saved ${updated.name}.`);
  focusTrigger(updated.id);
}

export function wire() {
  $("edit-form").addEventListener("submit", submitEdit);
}
