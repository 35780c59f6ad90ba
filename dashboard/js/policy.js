// The Policy window (administrators, the Policy button): the environment's token policy, read
// with GET /v1/policy and saved whole with PUT /v1/policy. The fields it does not edit (the rate
// limits, set through the API) are sent back as they were read.

import { $, announce, attempt, busy, openDialog, page, setProblem } from "./ui.js";
import { chosenLevels, levelChoices } from "./access.js";
import { reload } from "./list.js";

// read is the policy as the window was filled from it, the catalogue aside.
let read = null;

function problems(detail = "") {
  for (const id of ["policy-problem", "policy-lifetime-problem", "policy-permissions-problem"]) setProblem($(id), "");
  $("policy-lifetime").removeAttribute("aria-invalid");
  return detail;
}

function fill(pol) {
  const { catalogue, ...fields } = pol;
  read = fields;
  $("policy-lifetime").value = pol.maxLifetimeDays ?? "";
  $("policy-full").checked = Boolean(pol.agentFullAccess);
  $("policy-cidrs").checked = Boolean(pol.requireAllowedCidrs);
  $("policy-levels").replaceChildren(...levelChoices("policy", catalogue, pol.agentPermissions || []));
  const rate = (r) => (r ? `${r.requests} requests per ${r.windowSeconds} s` : "none");
  const limits = pol.defaultRateLimit || pol.maxRateLimit;
  $("policy-rate").hidden = !limits;
  $("policy-rate").textContent = limits ? `Rate limits (set through the API, kept as they are): default ${rate(pol.defaultRateLimit)}, maximum ${rate(pol.maxRateLimit)}.` : "";
}

/** openPolicy reads the policy and opens the window with it. */
export async function openPolicy() {
  problems();
  $("policy-state").textContent = "Loading the policy…";
  busy($("policy-form"), true);
  $("policy-form").querySelector("[data-close]").disabled = false;
  openDialog($("policy-dialog"), $("policy-open"));
  const got = await attempt(() => page.api.policy(), (d) => setProblem($("policy-problem"), d));
  $("policy-state").textContent = "";
  if (!got) return;
  page.policy = got;
  fill(got);
  busy($("policy-form"), false);
  $("policy-lifetime").focus();
}

async function submitPolicy(e) {
  e.preventDefault();
  problems();
  const text = $("policy-lifetime").value.trim();
  if (text && !/^\d+$/.test(text)) {
    setProblem($("policy-lifetime-problem"), "Type a whole number of days, or leave it empty for no maximum.");
    $("policy-lifetime").setAttribute("aria-invalid", "true");
    $("policy-lifetime").focus();
    return;
  }
  const body = {
    ...read,
    maxLifetimeDays: text ? Number(text) : null,
    agentFullAccess: $("policy-full").checked,
    agentPermissions: chosenLevels($("policy-levels")),
    requireAllowedCidrs: $("policy-cidrs").checked,
  };
  busy($("policy-form"), true);
  const saved = await attempt(
    () => page.api.putPolicy(body),
    (d, problem) => {
      if (problem?.code === "invalid_policy") {
        setProblem($("policy-lifetime-problem"), d);
        $("policy-lifetime").setAttribute("aria-invalid", "true");
        $("policy-lifetime").focus();
      } else if (problem?.code === "invalid_permission") {
        setProblem($("policy-permissions-problem"), d);
      } else {
        setProblem($("policy-problem"), d);
      }
    },
  );
  busy($("policy-form"), false);
  if (!saved) return;
  page.policy = saved;
  $("policy-dialog").close();
  await reload();
  const note = $("list-note");
  note.textContent = "Policy saved. Tokens it leaves outside show it in the list.";
  note.hidden = false;
  announce("Policy saved.");
}

/** showPolicyButton offers the Policy window to an administrator. */
export function showPolicyButton() {
  $("policy-open").hidden = !page.me.admin;
}

export function wire() {
  $("policy-open").addEventListener("click", openPolicy);
  $("policy-form").addEventListener("submit", submitPolicy);
}
