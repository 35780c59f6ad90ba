// The Create Token window (+New): name, type (Admin for an administrator only), expiry,
// permissions and allowed IP addresses (access.js), rate limit and monthly quota (limits.js);
// Save creates the token, adds it to the list and opens the key window with its key.

import { $, attempt, busy, openDialog, page, setProblem } from "./ui.js";
import { addItem } from "./list.js";
import { showKey } from "./key.js";
import { clearAccessProblems, placeProblem, policyReady, readAccess, renderAccess } from "./access.js";
import { clearLimitsProblems, limitsDraft, placeLimitsProblem, readLimits, renderLimits, restoreLimits } from "./limits.js";

/** openCreate opens the window, empty, or filled with a draft kept when the session ended. */
export async function openCreate(draft) {
  await policyReady();
  const form = $("create-form");
  form.reset();
  if (!page.me.admin) $("create-type-admin")?.remove();
  setProblem($("create-problem"), "");
  $("create-restored").hidden = !draft;
  if (draft) {
    $("create-name").value = draft.name || "";
    if (draft.type === "admin" && page.me.admin) $("create-type").value = "admin";
    $("create-expiry").value = draft.expiry || "";
    $("create-date").value = draft.date || "";
  }
  $("create-date-field").hidden = $("create-expiry").value !== "date";
  const days = page.policy?.maxLifetimeDays;
  $("create-expiry-help").textContent = days ? `Your environment's policy: a token needs an expiry, at most ${days} days away.` : "";
  renderAccess("create", draft ? draft.permissions : undefined, draft?.cidrs ?? null);
  renderLimits("create", undefined, null);
  restoreLimits("create", draft?.limits);
  updateTypeHelp();
  openDialog($("create-dialog"), $("new-token"));
  $("create-name").focus();
}

// expiryFrom is the expiresAt of the expiry chosen: undefined for never, "" for a date not yet
// picked.
function expiryFrom(choice, date) {
  if (!choice) return undefined;
  if (choice === "date") return date ? new Date(`${date}T23:59:59`).toISOString() : "";
  return new Date(Date.now() + Number(choice) * 86400e3).toISOString();
}

function updateTypeHelp() {
  $("create-type-help").textContent =
    $("create-type").value === "admin"
      ? "Admin: reaches the data of every user in your environment."
      : "User: acts as you, on your data only.";
}

async function submitCreate(e) {
  e.preventDefault();
  const form = $("create-form");
  const name = $("create-name").value;
  const fields = { name, type: $("create-type").value };
  const access = readAccess("create");
  const draft = () => ({
    kind: "create", name, type: fields.type, expiry: $("create-expiry").value, date: $("create-date").value,
    permissions: access.permissions, cidrs: access.cidrsText, limits: limitsDraft("create"),
  });
  clearAccessProblems("create");
  clearLimitsProblems("create");
  if (!name.trim()) {
    setProblem($("create-problem"), "Give the token a name.");
    $("create-name").focus();
    return;
  }
  const expiresAt = expiryFrom($("create-expiry").value, $("create-date").value);
  if (expiresAt === "") {
    setProblem($("create-problem"), "Pick the expiry date.");
    $("create-date").focus();
    return;
  }
  const limits = readLimits("create");
  if (limits.problem) {
    setProblem($("create-problem"), "");
    placeLimitsProblem("create", limits.problem);
    return;
  }
  if (expiresAt) fields.expiresAt = expiresAt;
  // Full access is the API's default: a token made with it carries no permissions field.
  if (access.permissions) fields.permissions = access.permissions;
  if (access.allowedCidrs) fields.allowedCidrs = access.allowedCidrs;
  // Left out, the rate limit is the policy's default; null asks for none.
  if (limits.rateLimit !== undefined) fields.rateLimit = limits.rateLimit;
  if (limits.quota) fields.quota = limits.quota;
  setProblem($("create-problem"), "");
  busy(form, true);
  const created = await attempt(
    () => page.api.create(fields),
    (d, problem) => placeProblem("create", problem) || placeLimitsProblem("create", problem) || setProblem($("create-problem"), d),
    draft,
  );
  busy(form, false);
  if (!created) return;
  const { key, ...token } = created;
  addItem(token);
  $("create-dialog").close();
  showKey(token, key, "created");
}

export function wire() {
  $("new-token").addEventListener("click", () => openCreate());
  $("create-form").addEventListener("submit", submitCreate);
  $("create-type").addEventListener("change", updateTypeHelp);
  $("create-expiry").addEventListener("change", () => {
    $("create-date-field").hidden = $("create-expiry").value !== "date";
    if (!$("create-date-field").hidden) {
      $("create-date").min = new Date(Date.now() + 86400e3).toISOString().slice(0, 10);
      $("create-date").focus();
    }
  });
}
