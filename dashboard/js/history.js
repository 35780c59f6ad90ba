// The History window: a token's audit records, newest first, a page at a time.

import { $, attempt, el, openTokenDialog, page, setProblem, time } from "./ui.js";

let audit = { token: null, cursor: null };

const actionWords = {
  create: "Created",
  rename: "Renamed",
  reveal: "Key viewed",
  deactivate: "Deactivated",
  activate: "Activated",
  delete: "Deleted",
  roll: "Key rolled",
  revoke_previous_key: "Previous key ended",
  leak: "Reported leaked",
};

export function openHistory(token) {
  audit = { token, cursor: null };
  $("history-name").textContent = token.name;
  openTokenDialog($("history-dialog"), token);
  $("history-dialog").querySelector("[data-close]").focus();
  loadHistory(false);
}

async function loadHistory(append) {
  const list = $("history-list");
  if (!append) list.replaceChildren();
  $("history-state").textContent = "Loading history…";
  setProblem($("history-problem"), "");
  const got = await attempt(
    () => page.api.audit(audit.token.id, append ? audit.cursor : undefined),
    (d) => setProblem($("history-problem"), d),
  );
  $("history-state").textContent = "";
  if (!got) return;
  audit.cursor = got.nextCursor || null;
  for (const r of got.items) {
    list.append(
      el(
        "li",
        {},
        el("strong", {}, actionWords[r.action] || r.action),
        " by ",
        el("span", {}, r.actorId),
        el("br"),
        time(r.at),
        el("span", { className: "muted" }, ` · ${r.sourceIp}`),
      ),
    );
  }
  if (list.children.length === 0) $("history-state").textContent = "No history recorded.";
  $("history-more").hidden = !audit.cursor;
}

export function wire() {
  $("history-more").addEventListener("click", () => loadHistory(true));
}
