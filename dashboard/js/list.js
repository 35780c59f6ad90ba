// The list of tokens: its pages, the owner filter of an administrator, its loading, empty and
// error states, and one row per token with its ⋮ button. Other views change it through
// addItem, replaceItem and removeItem, and show a menu action's problem under its row.

import { $, attempt, dateFormat, el, page, setProblem, time } from "./ui.js";
import { openMenu } from "./menu.js";
import { accessBadge, policyNote } from "./rowaccess.js";

const list = { owner: "me", items: [], nextCursor: null };
const calls = new Intl.NumberFormat();

/** showList shows the tokens section (with the owner filter for an administrator) and loads it. */
export function showList() {
  $("signed-out").hidden = true;
  $("tokens").hidden = false;
  $("filter").hidden = !page.me.admin;
  return load();
}

/** clearList forgets every token shown (on sign-out). */
export function clearList() {
  list.items = [];
  $("token-rows").replaceChildren();
}

export function findItem(tokenId) {
  return list.items.find((t) => t.id === tokenId);
}

/** addItem puts a new token first, when the list shows its owner's tokens. */
export function addItem(token) {
  if (list.owner === "me" || list.owner === "all" || list.owner === page.me.sub) {
    list.items = [token, ...list.items.filter((t) => t.id !== token.id)];
    render();
  }
}

export function replaceItem(token) {
  // Only the list answers callsLast24h: a token changed elsewhere keeps the count it showed.
  list.items = list.items.map((t) => (t.id === token.id ? { callsLast24h: t.callsLast24h, ...token } : t));
  render();
}

/** removeItem drops a token and answers the one now in its place (the next, or the last). */
export function removeItem(tokenId) {
  const index = list.items.findIndex((t) => t.id === tokenId);
  list.items = list.items.filter((t) => t.id !== tokenId);
  render();
  return list.items[Math.min(index, list.items.length - 1)];
}

/** graceRuns tells whether a roll's previous key still works. */
export function graceRuns(token) {
  return Boolean(token.previousKey && Date.parse(token.previousKey.expiresAt) > Date.now());
}

/** rowProblem shows a problem of an action taken from a row's menu under that row. */
export function rowProblem(tokenId, detail) {
  const tr = document.querySelector(`tr[data-id="${CSS.escape(tokenId)}"]`);
  if (!tr) return setProblem($("list-problem"), detail);
  tr.nextElementSibling?.classList.contains("row-problem") && tr.nextElementSibling.remove();
  const cell = el("td", { colSpan: 8 }, el("span", { className: "problem", role: "alert" }, detail));
  tr.after(el("tr", { className: "row-problem" }, cell));
}

/** reload loads the list again from its first page, as the owner filter stands. */
export function reload() {
  return load();
}

async function load(append = false) {
  const listState = $("list-state");
  setProblem($("list-problem"), "");
  if (!append) {
    $("list-note").hidden = true;
    list.items = [];
    list.nextCursor = null;
    $("token-table").hidden = true;
    $("more").hidden = true;
    listState.textContent = "Loading tokens…";
  }
  $("token-table").setAttribute("aria-busy", "true");
  const got = await attempt(
    () => page.api.list({ owner: list.owner, cursor: append ? list.nextCursor : undefined }),
    (detail) => {
      listState.textContent = "";
      setProblem($("list-problem"), detail);
      const retry = el("button", { type: "button" }, "Try again");
      retry.addEventListener("click", () => load(append));
      $("list-problem").append(" ", retry);
    },
  );
  $("token-table").removeAttribute("aria-busy");
  if (!got) return;
  list.items = append ? list.items.concat(got.items) : got.items;
  list.nextCursor = got.nextCursor || null;
  render();
}

function render() {
  $("token-rows").replaceChildren(...list.items.map(row));
  const empty = list.items.length === 0;
  $("token-table").hidden = empty;
  $("token-table").classList.toggle("show-owner", list.owner !== "me");
  $("more").hidden = !list.nextCursor;
  $("list-state").textContent = empty
    ? list.owner === "me"
      ? "You have no API tokens yet. Press + New to create one for Zapier or another tool."
      : "No API tokens match."
    : "";
}

function statusOf(token) {
  if (token.status === "expired" || (token.expiresAt && Date.parse(token.expiresAt) <= Date.now())) return "expired";
  return token.status;
}

function row(token) {
  const status = statusOf(token);
  const name = el("td", { "data-label": "Name", className: "name" }, el("span", { className: "token-name" }, token.name));
  if (token.type === "admin") name.append(" ", el("span", { className: "badge badge-admin" }, "Admin"));
  name.append(" ", accessBadge(token));
  const trigger = el(
    "button",
    { type: "button", className: "kebab", "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": `Actions for ${token.name}`, "data-token": token.id },
    el("span", { "aria-hidden": "true" }, "⋮"),
  );
  trigger.addEventListener("click", () => openMenu(trigger, token));
  trigger.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      openMenu(trigger, token, e.key === "ArrowUp" ? -1 : 0);
    }
  });
  const statusCell = el("td", { "data-label": "Status" }, el("span", { className: `badge badge-${status}` }, status));
  if (token.leak) statusCell.append(" ", ...leakNote(token));
  statusCell.append(...policyNote(token));
  const keyCell = el("td", { "data-label": "Key" }, el("code", { className: "hint" }, token.hint));
  if (graceRuns(token)) {
    keyCell.append(
      el("span", { className: "previous-key" }, "Previous key ", el("code", { className: "previous-hint" }, token.previousKey.hint), " works until ", time(token.previousKey.expiresAt)),
    );
  }
  return el(
    "tr",
    { "data-id": token.id },
    name,
    statusCell,
    keyCell,
    el("td", { "data-label": "Owner", className: "owner-col" }, token.userId),
    el("td", { "data-label": "Created" }, time(token.createdAt)),
    el("td", { "data-label": "Last used" }, time(token.lastUsedAt, "Never")),
    el("td", { "data-label": "Calls, 24 h", className: "calls" }, calls.format(token.callsLast24h ?? 0)),
    el("td", { className: "actions-cell" }, trigger),
  );
}

// leakNote is the leaked badge and the line under it: where the key was found and when.
function leakNote(token) {
  const when = dateFormat.format(new Date(token.leak.reportedAt));
  return [
    el("span", { className: "badge badge-leaked", title: `Reported leaked on ${when}: found at ${token.leak.url}` }, "leaked"),
    el(
      "span",
      { className: "leak-detail" },
      "Found in public at ",
      // Only a web address becomes a link: the report's URL is not the page's to trust.
      /^https?:\/\//i.test(token.leak.url) ? el("a", { href: token.leak.url, rel: "noopener noreferrer", target: "_blank" }, token.leak.url) : token.leak.url,
      ", reported ",
      time(token.leak.reportedAt),
      token.userId === page.me.sub ? ". Roll key to replace it." : ". Its owner can roll the key to replace it.",
    ),
  ];
}

export function wire() {
  $("more").addEventListener("click", () => load(true));
  $("owner-filter").addEventListener("change", () => {
    const v = $("owner-filter").value;
    $("owner-user-field").hidden = v !== "user";
    if (v === "user") {
      $("owner-user").focus();
      return;
    }
    list.owner = v;
    load();
  });
  $("filter").addEventListener("submit", (e) => {
    e.preventDefault();
    const user = $("owner-user").value.trim();
    if (!user) {
      setProblem($("list-problem"), "Type the user id to show the tokens of.");
      $("owner-user").focus();
      return;
    }
    list.owner = user;
    load();
  });
}
