// What a token may do and from where: the Permissions (Full access, or Restricted with None /
// Read / Write per resource) and Allowed IP addresses fields of the Create and Edit windows,
// built from the catalogue GET /v1/policy answers, never from a list of the page's own. The
// Policy window reuses the None / Read / Write choices for what agents may grant.

import { $, attempt, el, page, setProblem } from "./ui.js";

let loading = null;

/** loadPolicy reads the environment's policy and catalogue into page.policy (null if refused). */
export function loadPolicy() {
  loading = attempt(() => page.api.policy(), () => null).then((got) => (page.policy = got || null));
  return loading;
}

/** policyReady answers page.policy once the read started at sign-in has settled. */
export function policyReady() {
  return loading || loadPolicy();
}

/** resources groups a catalogue by resource, in its order: [{resource, read, write}]. */
export function resources(catalogue) {
  const byName = new Map();
  for (const { name, description } of catalogue || []) {
    const [resource, level] = name.split(":");
    if (!byName.has(resource)) byName.set(resource, { resource });
    byName.get(resource)[level] = description;
  }
  return [...byName.values()];
}

const capital = (s) => s.charAt(0).toUpperCase() + s.slice(1);

// levelOf is the level held of resource in perms: "write", "read" or "".
function levelOf(perms, resource) {
  if (perms?.includes(`${resource}:write`)) return "write";
  return perms?.includes(`${resource}:read`) ? "read" : "";
}

/**
 * levelChoices is one fieldset per resource of the catalogue, with the levels it lists (None,
 * Read, Write) as radios named `${prefix}-${resource}`, held checked; allowed(permission) says
 * which may be chosen (the others are disabled).
 */
export function levelChoices(prefix, catalogue, held, allowed = () => true) {
  return resources(catalogue).map((r) => {
    const name = `${prefix}-${r.resource}`;
    const current = levelOf(held, r.resource);
    const radio = (level, label) => {
      const value = level && `${r.resource}:${level}`;
      const input = el("input", { type: "radio", name, value, checked: current === level, disabled: Boolean(value) && !allowed(value) });
      return el("label", {}, input, " ", label);
    };
    const help = [r.read && `Read: ${r.read}`, r.write && `Write: ${r.write}`].filter(Boolean).join(" ");
    return el(
      "fieldset",
      { className: "resource", "aria-describedby": `${name}-help` },
      el("legend", {}, capital(r.resource)),
      el("div", { className: "levels" }, radio("", "None"), r.read ? radio("read", "Read") : "", r.write ? radio("write", "Write") : ""),
      el("p", { className: "help", id: `${name}-help` }, help),
    );
  });
}

/** chosenLevels answers the permissions checked in the level choices inside container. */
export function chosenLevels(container) {
  return [...container.querySelectorAll("fieldset.resource input:checked")].map((i) => i.value).filter(Boolean).sort();
}

// What an agent may grant under the policy; an administrator may grant anything.
function agentLimits() {
  const pol = page.policy;
  if (page.me.admin || !pol) return { full: true, allowed: () => true, note: "" };
  const may = pol.agentPermissions || [];
  const allowed = (p) => may.includes(p) || (p.endsWith(":read") && may.includes(p.replace(/:read$/, ":write")));
  const notes = [];
  if (!pol.agentFullAccess) notes.push("agents may not make full-access tokens");
  if (resources(pol.catalogue).some((r) => (r.read && !allowed(`${r.resource}:read`)) || (r.write && !allowed(`${r.resource}:write`)))) {
    notes.push(`agents may grant only ${may.length ? may.join(", ") : "no permissions"}`);
  }
  return { full: pol.agentFullAccess, allowed, note: notes.length ? `Your environment's policy: ${notes.join("; ")}.` : "" };
}

/**
 * renderAccess builds the fields into #${prefix}-access for a token holding permissions (null:
 * full access; undefined: a new token) and allowedCidrs (null: anywhere, or the field's text).
 */
export function renderAccess(prefix, permissions, allowedCidrs) {
  const limits = agentLimits();
  const catalogue = page.policy?.catalogue || [];
  // A new token (permissions undefined) starts with full access where the person may grant it.
  const full = permissions === undefined ? limits.full || !catalogue.length : permissions === null;
  const mode = (value, label, disabled) =>
    el("label", {}, el("input", { type: "radio", name: `${prefix}-mode`, value, id: `${prefix}-${value}`, checked: (value === "full") === full, disabled }), " ", label);
  const choices = el("div", { className: "resources", id: `${prefix}-resources`, hidden: full }, ...levelChoices(prefix, catalogue, permissions, limits.allowed));
  const cidrs = el("textarea", {
    id: `${prefix}-cidrs`, rows: 3, spellcheck: false, autocomplete: "off", "aria-describedby": `${prefix}-cidrs-help`,
    value: Array.isArray(allowedCidrs) ? allowedCidrs.join("\n") : allowedCidrs || "",
  });
  const required = page.policy?.requireAllowedCidrs ? " Your environment's policy requires at least one." : "";
  $(`${prefix}-access`).replaceChildren(
    el(
      "fieldset",
      { className: "access", "aria-describedby": `${prefix}-permissions-help` },
      el("legend", {}, "Permissions"),
      mode("full", "Full access", !limits.full && !full),
      mode("restricted", "Restricted", !catalogue.length),
      el("p", { className: "help", id: `${prefix}-permissions-help` },
        catalogue.length ? "Full access: everything the token's type allows. Restricted: only what you choose below." : "The permissions could not be loaded: reload the page to restrict a token."),
      limits.note ? el("p", { className: "help policy-note" }, limits.note) : "",
      choices,
      el("p", { className: "problem", id: `${prefix}-permissions-problem`, role: "alert", hidden: true }),
    ),
    el("label", { htmlFor: `${prefix}-cidrs` }, "Allowed IP addresses"),
    cidrs,
    el("p", { className: "help", id: `${prefix}-cidrs-help` }, `One address or range per line, such as 203.0.113.0/24 (at most 20). Empty: from anywhere.${required}`),
    el("p", { className: "problem", id: `${prefix}-cidrs-problem`, role: "alert", hidden: true }),
  );
  for (const radio of $(`${prefix}-access`).querySelectorAll(`input[name="${prefix}-mode"]`)) {
    radio.addEventListener("change", () => (choices.hidden = $(`${prefix}-full`).checked));
  }
}

/** readAccess answers the fields as the API takes them: {permissions, allowedCidrs}, null for none. */
export function readAccess(prefix) {
  const permissions = $(`${prefix}-full`).checked ? null : chosenLevels($(`${prefix}-resources`));
  const lines = $(`${prefix}-cidrs`).value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
  return { permissions, allowedCidrs: lines.length ? lines : null, cidrsText: $(`${prefix}-cidrs`).value };
}

/** clearAccessProblems hides the problems shown next to the fields. */
export function clearAccessProblems(prefix) {
  for (const field of ["permissions", "cidrs"]) setProblem($(`${prefix}-${field}-problem`), "");
  $(`${prefix}-cidrs`).removeAttribute("aria-invalid");
}

/**
 * placeProblem shows a refusal about the permissions or the addresses next to its field, with the
 * API's detail, focusing the field; it answers false for any other refusal.
 */
export function placeProblem(prefix, problem) {
  const code = problem?.code;
  const detail = problem?.detail || "";
  const permissions = code === "invalid_permission" || code === "permission_not_allowed";
  const cidrs = code === "invalid_cidr" || (code === "policy_violation" && detail.startsWith("requireAllowedCidrs"));
  if (permissions) {
    setProblem($(`${prefix}-permissions-problem`), detail);
    $(`${prefix}-access`).querySelector(`input[name="${prefix}-mode"]:checked`)?.focus();
  } else if (cidrs) {
    setProblem($(`${prefix}-cidrs-problem`), detail);
    $(`${prefix}-cidrs`).setAttribute("aria-invalid", "true");
    $(`${prefix}-cidrs`).focus();
  }
  return permissions || cidrs;
}

/** sameList tells whether two lists (null for none) hold the same items, in any order. */
export function sameList(a, b) {
  if (a === null || b === null || a === undefined || b === undefined) return (a ?? null) === (b ?? null);
  return a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
}
