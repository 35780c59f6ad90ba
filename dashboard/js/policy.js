// The Policy window (administrators, the Policy button): the environment's token policy, read
// with GET /v1/policy and saved whole with PUT /v1/policy. Any field it does not edit is sent
// back as it was read.

import { $, announce, attempt, busy, openDialog, page, setProblem } from "./ui.js";
import { chosenLevels, levelChoices } from "./access.js";
import { clearRateProblem, rateField, rateProblem, readRate } from "./limits.js";
import { reload } from "./list.js";

// read is the policy as the window was filled from it, the catalogue aside.
let read = null;

function problems(detail = "") {
  for (const id of ["policy-problem", "policy-lifetime-problem", "policy-permissions-problem"]) setProblem($(id), "");
  $("policy-lifetime").removeAttribute("aria-invalid");
  if ($("policy-default-rate")) for (const id of ["policy-default-rate", "policy-max-rate"]) clearRateProblem(id);
  return detail;
}

function fill(pol) {
  const { catalogue, ...fields } = pol;
  read = fields;
  $("policy-lifetime").value = pol.maxLifetimeDays ?? "";
  $("policy-full").checked = Boolean(pol.agentFullAccess);
  $("policy-cidrs").checked = Boolean(pol.requireAllowedCidrs);
  $("policy-levels").replaceChildren(...levelChoices("policy", catalogue, pol.agentPermissions || []));
  $("policy-limits").replaceChildren(
    ...rateField("policy-default-rate", "Default rate limit", pol.defaultRateLimit ?? null,
      "What a token gets when it is made without a rate limit of its own (without a default, the maximum)."),
    ...rateField("policy-max-rate", "Maximum rate limit", pol.maxRateLimit ?? null,
      "The most any token may be allowed, compared as requests per second; with a maximum, every token needs a rate limit. Tokens above it show as outside the policy."),
  );
}

// readRates answers the default and maximum rate limits chosen, or undefined when a number is
// not one (shown next to its field).
function readRates() {
  const out = {};
  for (const [id, field] of [["policy-default-rate", "defaultRateLimit"], ["policy-max-rate", "maxRateLimit"]]) {
    const rate = readRate(id);
    if (rate.problem) return rateProblem(id, rate.problem);
    out[field] = rate.value;
  }
  return out;
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

// refusedRate names the rate limit fields an invalid_rate_limit is about: one whose requests are
// out of range, or else the default (above the maximum).
function refusedRate({ defaultRateLimit: def, maxRateLimit: max }) {
  const outside = (l) => l && (l.requests < 1 || l.requests > 1e9);
  return outside(max) && !outside(def) ? "policy-max-rate" : "policy-default-rate";
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
  const rates = readRates();
  if (!rates) return;
  const body = {
    ...read,
    ...rates,
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
      } else if (problem?.code === "invalid_rate_limit") {
        rateProblem(refusedRate(rates), d);
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
