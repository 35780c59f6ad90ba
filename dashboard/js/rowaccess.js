// What a row of the list says about a token's reach: Full access or Restricted, with its
// permissions, allowed addresses and limits in a tooltip shown on hover and on keyboard focus
// (Escape hides it), its limits in a line beside it, and, for a token outside the environment's
// policy, the rule it breaks. The access badge is no .badge: a row's first .badge is its status.

import { el } from "./ui.js";
import { limitsText, quotaText, rateText } from "./limits.js";

/**
 * accessText is what the tooltip says: the permissions, where the key may be used from, then its
 * limits, if any.
 */
export function accessText(token) {
  const what =
    token.permissions == null
      ? `Full access: everything ${token.type === "admin" ? "an Admin" : "a User"} token may do.`
      : token.permissions.length
        ? `Restricted to ${token.permissions.join(", ")}.`
        : "Restricted: no permissions (GET /v1/me only).";
  const where = token.allowedCidrs?.length ? `Allowed from ${token.allowedCidrs.join(", ")}.` : "Allowed from any IP address.";
  const limits = [token.rateLimit && ` Rate limit: ${rateText(token.rateLimit)}.`, token.quota && ` Quota: ${quotaText(token.quota)}.`];
  return `${what} ${where}${limits.filter(Boolean).join("")}`;
}

/** accessBadge is the Full access or Restricted badge of token, with its tooltip and its limits. */
export function accessBadge(token) {
  const restricted = token.permissions != null;
  const tipId = `access-tip-${token.id}`;
  const badge = el(
    "button",
    { type: "button", className: `access-badge ${restricted ? "access-restricted" : "access-full"}`, "aria-describedby": tipId },
    restricted ? "Restricted" : "Full access",
  );
  const tip = el("span", { className: "tooltip", role: "tooltip", id: tipId }, accessText(token));
  // Escape hides the tooltip without moving focus (WCAG 1.4.13); it shows again on the next focus.
  badge.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !badge.classList.contains("tip-hidden")) {
      badge.classList.add("tip-hidden");
      e.stopPropagation();
    }
  });
  badge.addEventListener("blur", () => badge.classList.remove("tip-hidden"));
  const wrap = el("span", { className: "access-wrap" }, badge, tip);
  const limits = limitsText(token);
  if (!limits) return wrap;
  const note = document.createDocumentFragment();
  note.append(wrap, " ", el("span", { className: "limits-note" }, el("span", { className: "visually-hidden" }, "Limits: "), limits));
  return note;
}

/** policyNote is the outside-policy badge and its reason, or nothing for a token inside it. */
export function policyNote(token) {
  if (!token.policy || token.policy.compliant) return [];
  return [
    " ",
    el("span", { className: "badge badge-outside" }, "outside policy"),
    el("span", { className: "policy-detail" }, `Outside your environment's policy, so its key is refused: ${token.policy.reason || "a rule it breaks"}.`),
  ];
}
