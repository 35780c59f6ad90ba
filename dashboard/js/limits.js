// How often a token may be used: the Rate limit and Monthly quota fields of the Create and Edit
// windows (a rate limit is N requests per second, minute or hour: windowSeconds 1, 60 or 3600),
// the rate limit fields the Policy window reuses for its default and maximum, and how a limit
// reads ("30 per minute", "40 a month"). The policy's default and maximum are the help text; the
// API decides, and its refusal shows next to the field.

import { $, el, page, setProblem } from "./ui.js";

const units = [[1, "second"], [60, "minute"], [3600, "hour"]];
const count = new Intl.NumberFormat();

/** rateText is a rate limit as people read it: "30 per minute", "5 per 30 seconds". */
export function rateText(r) {
  const unit = units.find(([s]) => s === r.windowSeconds);
  return `${count.format(r.requests)} per ${unit ? unit[1] : `${r.windowSeconds} seconds`}`;
}

/** quotaText is a quota as people read it: "40 a month". */
export function quotaText(q) {
  return `${count.format(q.requestsPerMonth)} a month`;
}

/** limitsText is a token's limits in one line ("30 per minute · 40 a month"), "" for none. */
export function limitsText(token) {
  return [token.rateLimit && rateText(token.rateLimit), token.quota && quotaText(token.quota)].filter(Boolean).join(" · ");
}

// What a new token gets when it asks for no rate limit of its own: the policy's default, or,
// without one, its maximum; null when it sets neither.
function policyDefault(pol) {
  return pol?.defaultRateLimit || pol?.maxRateLimit || null;
}

/**
 * rateField is a rate limit's fields, their ids starting with id: a choice (`${id}`) of the
 * environment's default (offered when def is given), No limit, or At most…, which shows the
 * number of requests (`${id}-requests`) and the window (`${id}-window`); then its help and its
 * problem. value is the limit held (null for none, undefined for the default).
 */
export function rateField(id, label, value, help, def) {
  const choice = value === undefined && def ? "default" : value ? "limit" : "none";
  const option = (v, text) => el("option", { value: v, selected: v === choice }, text);
  const select = el(
    "select",
    { id, "aria-describedby": `${id}-help` },
    def ? option("default", `Your environment's default: ${rateText(def)}`) : "",
    option("none", "No limit"),
    option("limit", "At most…"),
  );
  const windows = units.map(([s, name]) => [s, `per ${name}`]);
  if (value && !units.some(([s]) => s === value.windowSeconds)) windows.push([value.windowSeconds, `per ${value.windowSeconds} seconds`]);
  const win = value?.windowSeconds ?? 60;
  const row = el(
    "div",
    { className: "limit-row", id: `${id}-field`, hidden: choice !== "limit" },
    el("label", { htmlFor: `${id}-requests` }, "Requests"),
    el("input", { id: `${id}-requests`, type: "text", inputMode: "numeric", autocomplete: "off", value: value ? String(value.requests) : "" }),
    el("label", { htmlFor: `${id}-window`, className: "visually-hidden" }, "Window"),
    el("select", { id: `${id}-window` }, ...windows.map(([s, text]) => el("option", { value: String(s), selected: s === win }, text))),
  );
  // Focus stays on the choice (arrowing through it must not move on): Tab reaches the number.
  select.addEventListener("change", () => (row.hidden = select.value !== "limit"));
  return [
    el("label", { htmlFor: id }, label),
    select,
    row,
    el("p", { className: "help", id: `${id}-help` }, help),
    el("p", { className: "problem", id: `${id}-problem`, role: "alert", hidden: true }),
  ];
}

const wholeNumber = "Type a whole number of requests, such as 30.";

/**
 * readRate answers the rate limit chosen in the fields of id: {value} (undefined for the
 * default, null for none, or {requests, windowSeconds}), or {problem} when the number is not one.
 */
export function readRate(id) {
  const choice = $(id).value;
  if (choice === "default") return { value: undefined };
  if (choice === "none") return { value: null };
  const text = $(`${id}-requests`).value.trim();
  if (!/^\d+$/.test(text)) return { problem: wholeNumber };
  return { value: { requests: Number(text), windowSeconds: Number($(`${id}-window`).value) } };
}

/** rateProblem shows detail next to the rate limit fields of id and focuses them. */
export function rateProblem(id, detail) {
  setProblem($(`${id}-problem`), detail);
  const field = $(id).value === "limit" ? $(`${id}-requests`) : $(id);
  field.setAttribute("aria-invalid", "true");
  field.focus();
}

/** clearRateProblem hides what rateProblem showed. */
export function clearRateProblem(id) {
  setProblem($(`${id}-problem`), "");
  $(id).removeAttribute("aria-invalid");
  $(`${id}-requests`).removeAttribute("aria-invalid");
}

/**
 * renderLimits builds the Limits section into #${prefix}-limits for a token holding rateLimit
 * and quota (undefined: a new token, which is offered the policy's default).
 */
export function renderLimits(prefix, rateLimit, quota) {
  const pol = page.policy;
  const def = rateLimit === undefined ? policyDefault(pol) : null;
  const notes = [];
  if (def) notes.push(`Left at the default, the token gets ${rateText(def)}.`);
  if (pol?.maxRateLimit) notes.push(`Your environment's policy allows at most ${rateText(pol.maxRateLimit)}, so a token needs a rate limit.`);
  const help = ["How many calls the key may make; more are answered 429.", ...notes].join(" ");
  $(`${prefix}-limits`).replaceChildren(
    el("h3", { className: "section" }, "Limits"),
    ...rateField(`${prefix}-rate`, "Rate limit", rateLimit, help, def),
    el("label", { htmlFor: `${prefix}-quota` }, "Monthly quota"),
    el("input", { id: `${prefix}-quota`, type: "text", inputMode: "numeric", autocomplete: "off", "aria-describedby": `${prefix}-quota-help`, value: quota ? String(quota.requestsPerMonth) : "" }),
    el("p", { className: "help", id: `${prefix}-quota-help` }, "Requests per calendar month (UTC). Empty: no quota."),
    el("p", { className: "problem", id: `${prefix}-quota-problem`, role: "alert", hidden: true }),
  );
}

/**
 * readLimits answers the Limits as the API takes them: {rateLimit, quota} (rateLimit undefined
 * for the policy's default, null for none), or {problem: [field, detail]} for a number that is
 * not one.
 */
export function readLimits(prefix) {
  const rate = readRate(`${prefix}-rate`);
  if (rate.problem) return { problem: [`${prefix}-rate`, rate.problem] };
  const text = $(`${prefix}-quota`).value.trim();
  if (text && !/^\d+$/.test(text)) return { problem: [`${prefix}-quota`, "Type a whole number of requests a month, or leave it empty for no quota."] };
  return { rateLimit: rate.value, quota: text ? { requestsPerMonth: Number(text) } : null };
}

/** limitsDraft is what was typed in the Limits, to put back with restoreLimits. */
export function limitsDraft(prefix) {
  return { rate: $(`${prefix}-rate`).value, requests: $(`${prefix}-rate-requests`).value, window: $(`${prefix}-rate-window`).value, quota: $(`${prefix}-quota`).value };
}

/** restoreLimits puts a draft's Limits back. */
export function restoreLimits(prefix, draft) {
  if (!draft) return;
  if ([...$(`${prefix}-rate`).options].some((o) => o.value === draft.rate)) $(`${prefix}-rate`).value = draft.rate;
  $(`${prefix}-rate-field`).hidden = $(`${prefix}-rate`).value !== "limit";
  $(`${prefix}-rate-requests`).value = draft.requests;
  $(`${prefix}-rate-window`).value = draft.window;
  $(`${prefix}-quota`).value = draft.quota;
}

/** clearLimitsProblems hides the problems shown next to the Limits. */
export function clearLimitsProblems(prefix) {
  clearRateProblem(`${prefix}-rate`);
  setProblem($(`${prefix}-quota-problem`), "");
  $(`${prefix}-quota`).removeAttribute("aria-invalid");
}

/**
 * placeLimitsProblem shows a problem about the Limits next to its field: [field, detail] found by
 * readLimits, or a refusal of the API (invalid_rate_limit, a policy_violation of maxRateLimit,
 * invalid_quota) with its detail; it answers false for any other refusal.
 */
export function placeLimitsProblem(prefix, problem) {
  if (Array.isArray(problem)) {
    const [field, detail] = problem;
    if (field.endsWith("-rate")) rateProblem(field, detail);
    else quotaProblem(prefix, detail);
    return true;
  }
  const code = problem?.code;
  const detail = problem?.detail || "";
  if (code === "invalid_rate_limit" || (code === "policy_violation" && detail.startsWith("maxRateLimit"))) {
    rateProblem(`${prefix}-rate`, detail);
    return true;
  }
  if (code === "invalid_quota") {
    quotaProblem(prefix, detail);
    return true;
  }
  return false;
}

function quotaProblem(prefix, detail) {
  setProblem($(`${prefix}-quota-problem`), detail);
  $(`${prefix}-quota`).setAttribute("aria-invalid", "true");
  $(`${prefix}-quota`).focus();
}

/** sameLimit tells whether two limits (null for none) are the same. */
export function sameLimit(a, b) {
  const key = (l) => (l ? JSON.stringify(Object.entries(l).sort()) : "null");
  return key(a) === key(b);
}
