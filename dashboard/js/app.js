// The API Tokens page: the list, +New and the Create Token window, the key window, and each
// token's menu (Edit name, View key, Deactivate or Activate, Roll key, End previous key now,
// History, Delete).

import { completeSignIn, currentSession, forgetSession, groupsOf, signIn } from "./auth.js";
import { client, Problem, SessionEnded } from "./api.js";

const DRAFT = "apitokens.draft";
const $ = (id) => document.getElementById(id);

const state = {
  config: null,
  api: null,
  me: null, // {sub, admin}
  owner: "me",
  items: [],
  nextCursor: null,
};

// ---- start ---------------------------------------------------------------------------------

async function boot() {
  try {
    const resp = await fetch("config.json", { cache: "no-store" });
    if (!resp.ok) throw new Error(`config.json answered ${resp.status}`);
    state.config = await resp.json();
  } catch (err) {
    showSignedOut(`The page is not configured: ${err.message}.`);
    $("signin").disabled = true;
    return;
  }
  state.api = client(state.config);
  $("signin").addEventListener("click", () => startSignIn());
  try {
    await completeSignIn(state.config);
  } catch (err) {
    showSignedOut(err.message);
    return;
  }
  const session = currentSession();
  if (!session) {
    showSignedOut();
    return;
  }
  const groupsClaim = state.config.groupsClaim || "cognito:groups";
  const adminGroup = state.config.adminGroup || "admin";
  state.me = { sub: session.claims.sub, admin: groupsOf(session.claims, groupsClaim).includes(adminGroup) };
  showTokens();
}

async function startSignIn() {
  try {
    await signIn(state.config);
  } catch (err) {
    showSignedOut(`Sign-in could not start: ${err.message}`);
  }
}

function showSignedOut(problem) {
  $("tokens").hidden = true;
  $("account").hidden = true;
  $("signed-out").hidden = false;
  const p = $("signin-problem");
  p.hidden = !problem;
  p.textContent = problem || "";
}

function showTokens() {
  $("signed-out").hidden = true;
  $("tokens").hidden = false;
  $("account").hidden = false;
  $("account-name").textContent = `${state.me.sub}${state.me.admin ? " · admin" : ""}`;
  $("filter").hidden = !state.me.admin;
  if (!state.me.admin) $("create-type-admin")?.remove();
  load().then(restoreDraft);
}

// When the session ends in the middle of something, keep what the person typed, sign in again,
// and put it back afterwards.
function sessionEnded(draft) {
  if (draft) sessionStorage.setItem(DRAFT, JSON.stringify(draft));
  forgetSession();
  announce("Your session has ended. Signing you in again…");
  startSignIn();
}

function restoreDraft() {
  const draft = JSON.parse(sessionStorage.getItem(DRAFT) || "null");
  sessionStorage.removeItem(DRAFT);
  if (!draft) return;
  if (draft.kind === "create") {
    openCreate(draft);
  } else if (draft.kind === "rename") {
    const token = state.items.find((t) => t.id === draft.tokenId);
    if (token) openRename(token, draft.name);
  }
}

// Runs an action; a SessionEnded saves draft() and signs in again, a Problem is shown by show.
async function attempt(action, show, draft) {
  try {
    return await action();
  } catch (err) {
    if (err instanceof SessionEnded) {
      sessionEnded(draft && draft());
    } else if (err instanceof Problem) {
      show(err.detail, err);
    } else {
      show(`Something went wrong: ${err.message}`);
    }
    return undefined;
  }
}

// ---- the list ------------------------------------------------------------------------------

async function load(append = false) {
  const listState = $("list-state");
  setProblem($("list-problem"), "");
  if (!append) {
    state.items = [];
    state.nextCursor = null;
    $("token-table").hidden = true;
    $("more").hidden = true;
    listState.textContent = "Loading tokens…";
  }
  $("token-table").setAttribute("aria-busy", "true");
  const page = await attempt(
    () => state.api.list({ owner: state.owner, cursor: append ? state.nextCursor : undefined }),
    (detail) => {
      listState.textContent = "";
      setProblem($("list-problem"), detail);
      const retry = document.createElement("button");
      retry.type = "button";
      retry.textContent = "Try again";
      retry.addEventListener("click", () => load(append));
      $("list-problem").append(" ", retry);
    },
  );
  $("token-table").removeAttribute("aria-busy");
  if (!page) return;
  state.items = append ? state.items.concat(page.items) : page.items;
  state.nextCursor = page.nextCursor || null;
  render();
}

function render() {
  const rows = $("token-rows");
  rows.replaceChildren(...state.items.map(row));
  const empty = state.items.length === 0;
  $("token-table").hidden = empty;
  $("token-table").classList.toggle("show-owner", state.owner !== "me");
  $("more").hidden = !state.nextCursor;
  $("list-state").textContent = empty
    ? state.owner === "me"
      ? "You have no API tokens yet. Press + New to create one for Zapier or another tool."
      : "No API tokens match."
    : "";
}

function statusOf(token) {
  if (token.status === "expired" || (token.expiresAt && Date.parse(token.expiresAt) <= Date.now())) return "expired";
  return token.status;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function time(iso, none) {
  if (!iso) {
    const span = document.createElement("span");
    span.className = "muted";
    span.textContent = none;
    return span;
  }
  const t = document.createElement("time");
  t.dateTime = iso;
  t.textContent = dateFormat.format(new Date(iso));
  return t;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith("data-") || k.startsWith("aria-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

function row(token) {
  const status = statusOf(token);
  const name = el("td", { "data-label": "Name", className: "name" }, el("span", { className: "token-name" }, token.name));
  if (token.type === "admin") name.append(" ", el("span", { className: "badge badge-admin" }, "Admin"));
  const trigger = el(
    "button",
    {
      type: "button",
      className: "kebab",
      "aria-haspopup": "menu",
      "aria-expanded": "false",
      "aria-label": `Actions for ${token.name}`,
      "data-token": token.id,
    },
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
  if (token.leak) {
    const when = dateFormat.format(new Date(token.leak.reportedAt));
    statusCell.append(
      " ",
      el("span", { className: "badge badge-leaked", title: `Reported leaked on ${when}: found at ${token.leak.url}` }, "leaked"),
      el(
        "span",
        { className: "leak-detail" },
        "Found in public at ",
        // Only a web address becomes a link: the report's URL is not the page's to trust.
        /^https?:\/\//i.test(token.leak.url)
          ? el("a", { href: token.leak.url, rel: "noopener noreferrer", target: "_blank" }, token.leak.url)
          : token.leak.url,
        ", reported ",
        time(token.leak.reportedAt),
        token.userId === state.me.sub ? ". Roll key to replace it." : ". Its owner can roll the key to replace it.",
      ),
    );
  }
  const keyCell = el("td", { "data-label": "Key" }, el("code", { className: "hint" }, token.hint));
  if (graceRuns(token)) {
    keyCell.append(
      el(
        "span",
        { className: "previous-key" },
        "Previous key ",
        el("code", { className: "previous-hint" }, token.previousKey.hint),
        " works until ",
        time(token.previousKey.expiresAt),
      ),
    );
  }
  const tr = el(
    "tr",
    { "data-id": token.id },
    name,
    statusCell,
    keyCell,
    el("td", { "data-label": "Owner", className: "owner-col" }, token.userId),
    el("td", { "data-label": "Created" }, time(token.createdAt)),
    el("td", { "data-label": "Last used" }, time(token.lastUsedAt, "Never")),
    el("td", { className: "actions-cell" }, trigger),
  );
  return tr;
}

// graceRuns tells whether a roll's previous key still works.
function graceRuns(token) {
  return Boolean(token.previousKey && Date.parse(token.previousKey.expiresAt) > Date.now());
}

function replaceItem(token) {
  state.items = state.items.map((t) => (t.id === token.id ? token : t));
  render();
}

function focusTrigger(tokenId) {
  const b = document.querySelector(`button.kebab[data-token="${CSS.escape(tokenId)}"]`);
  (b || $("new-token")).focus();
}

// A problem of an action taken from a row's menu is shown under that row.
function rowProblem(tokenId, detail) {
  const tr = document.querySelector(`tr[data-id="${CSS.escape(tokenId)}"]`);
  if (!tr) return setProblem($("list-problem"), detail);
  tr.nextElementSibling?.classList.contains("row-problem") && tr.nextElementSibling.remove();
  const cell = el("td", { colSpan: 7 }, el("span", { className: "problem", role: "alert" }, detail));
  tr.after(el("tr", { className: "row-problem" }, cell));
}

// ---- the menu of a token -------------------------------------------------------------------

let openTrigger = null;

function menuItems(token) {
  const mine = token.userId === state.me.sub;
  const items = [["Edit name", () => openRename(token)]];
  if (mine) items.push(["View key", () => viewKey(token)]);
  if (token.status === "inactive") items.push(["Activate", () => setActive(token, true)]);
  else items.push(["Deactivate", () => setActive(token, false)]);
  if (mine) items.push(["Roll key", () => openRoll(token)]);
  if (graceRuns(token)) items.push(["End previous key now", () => endPreviousKey(token)]);
  items.push(["History", () => openHistory(token)]);
  items.push(["Delete", () => openDelete(token), "danger"]);
  return items;
}

function openMenu(trigger, token, focusIndex = 0) {
  closeMenu(false);
  const menu = $("token-menu");
  menu.setAttribute("aria-label", `Actions for ${token.name}`);
  menu.replaceChildren(
    ...menuItems(token).map(([label, run, cls]) => {
      const b = el("button", { type: "button", role: "menuitem", tabIndex: -1, className: cls || "" }, label);
      b.addEventListener("click", () => {
        closeMenu(false);
        run();
      });
      return el("li", { role: "none" }, b);
    }),
  );
  menu.hidden = false;
  const r = trigger.getBoundingClientRect();
  const width = menu.offsetWidth;
  menu.style.top = `${Math.min(r.bottom + 4, window.innerHeight - menu.offsetHeight - 8)}px`;
  menu.style.left = `${Math.max(8, Math.min(r.right - width, window.innerWidth - width - 8))}px`;
  trigger.setAttribute("aria-expanded", "true");
  openTrigger = trigger;
  const buttons = [...menu.querySelectorAll("button")];
  buttons.at(focusIndex).focus();
}

function closeMenu(returnFocus = true) {
  const menu = $("token-menu");
  if (menu.hidden) return;
  menu.hidden = true;
  if (openTrigger) {
    openTrigger.setAttribute("aria-expanded", "false");
    if (returnFocus) openTrigger.focus();
  }
  openTrigger = null;
}

function menuKeys(menu, onClose) {
  menu.addEventListener("keydown", (e) => {
    const buttons = [...menu.querySelectorAll("button")];
    const i = buttons.indexOf(document.activeElement);
    const go = (j) => buttons[(j + buttons.length) % buttons.length].focus();
    switch (e.key) {
      case "ArrowDown": go(i + 1); break;
      case "ArrowUp": go(i - 1); break;
      case "Home": go(0); break;
      case "End": go(buttons.length - 1); break;
      case "Escape": onClose(true); break;
      case "Tab": onClose(true); break;
      default: return;
    }
    e.preventDefault();
  });
}

// ---- dialogs -------------------------------------------------------------------------------

// openDialog shows a modal dialog and, when it closes, returns focus to where it was. The close
// event comes a task later: by then the browser may have put focus back itself, or the person
// may have moved on, and neither is undone.
function openDialog(dialog, returnTo) {
  const back = returnTo || document.activeElement;
  dialog.addEventListener(
    "close",
    () => {
      const now = document.activeElement;
      if (now && now !== document.body && !dialog.contains(now) && now.isConnected && !now.closest("[hidden]")) return;
      const target = typeof back === "function" ? back() : back;
      if (target && target.isConnected) target.focus();
      else $("new-token").focus();
    },
    { once: true },
  );
  dialog.showModal();
}

function setProblem(p, detail) {
  p.hidden = !detail;
  p.textContent = detail || "";
}

function busy(form, on) {
  for (const b of form.querySelectorAll("button")) b.disabled = on;
}

function announce(text) {
  $("announce").textContent = text;
}

// Create Token

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

function openCreate(draft) {
  const form = $("create-form");
  form.reset();
  setProblem($("create-problem"), "");
  $("create-restored").hidden = !draft;
  if (draft) {
    $("create-name").value = draft.name || "";
    if (draft.type === "admin" && state.me.admin) $("create-type").value = "admin";
    $("create-expiry").value = draft.expiry || "";
    $("create-date").value = draft.date || "";
  }
  $("create-date-field").hidden = $("create-expiry").value !== "date";
  updateTypeHelp();
  openDialog($("create-dialog"), $("new-token"));
  $("create-name").focus();
}

async function submitCreate(e) {
  e.preventDefault();
  const form = $("create-form");
  const name = $("create-name").value;
  const fields = { name, type: $("create-type").value };
  const draft = () => ({ kind: "create", name, type: fields.type, expiry: $("create-expiry").value, date: $("create-date").value });
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
  if (expiresAt) fields.expiresAt = expiresAt;
  busy(form, true);
  const created = await attempt(() => state.api.create(fields), (d) => setProblem($("create-problem"), d), draft);
  busy(form, false);
  if (!created) return;
  const { key, ...token } = created;
  if (state.owner === "me" || state.owner === "all" || state.owner === state.me.sub) {
    state.items = [token, ...state.items.filter((t) => t.id !== token.id)];
    render();
  }
  $("create-dialog").close();
  showKey(token, key, "created");
}

// The key window: the key once, Copy, Close.

// how is "created", "rolled" or "viewed"; a rolled key's window says until when the previous
// key works.
function showKey(token, key, how) {
  const isNew = how !== "viewed";
  $("key-title").textContent = isNew ? "Your new API key" : "API key";
  $("key-note").textContent = isNew
    ? "Copy it now and keep it somewhere safe: this window will not show it again."
    : "Keep it secret: anyone with this key acts as you.";
  const previous = $("key-previous");
  previous.hidden = how !== "rolled";
  if (how === "rolled") {
    previous.textContent = graceRuns(token)
      ? `The previous key keeps working until ${dateFormat.format(new Date(token.previousKey.expiresAt))}: give your tools the new key before then.`
      : "The previous key has stopped working: give your tools the new key now.";
    if (token.status === "inactive") previous.textContent += " The token is inactive: Activate it from its menu for the new key to work.";
  }
  $("key-token-name").textContent = token.name;
  $("key-value").value = key;
  $("key-status").textContent = "";
  openDialog($("key-dialog"), how === "created" ? $("new-token") : () => document.querySelector(`button.kebab[data-token="${CSS.escape(token.id)}"]`));
  $("key-copy").focus();
}

async function copyKey() {
  const input = $("key-value");
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch {
    input.select();
    copied = document.execCommand && document.execCommand("copy");
  }
  $("key-status").textContent = copied ? "Copied to the clipboard." : "Copy did not work here: select the key and press Ctrl+C.";
}

// Edit name

let renaming = null;

function openRename(token, draftName) {
  renaming = token;
  setProblem($("rename-problem"), "");
  $("rename-name").value = draftName ?? token.name;
  openDialog($("rename-dialog"), () => document.querySelector(`button.kebab[data-token="${CSS.escape(token.id)}"]`));
  $("rename-name").select();
}

async function submitRename(e) {
  e.preventDefault();
  const token = renaming;
  const name = $("rename-name").value;
  busy($("rename-form"), true);
  const updated = await attempt(
    () => state.api.rename(token.id, name),
    (d) => setProblem($("rename-problem"), d),
    () => ({ kind: "rename", tokenId: token.id, name }),
  );
  busy($("rename-form"), false);
  if (!updated) return;
  $("rename-dialog").close();
  replaceItem(updated);
  announce(`Renamed to ${updated.name}.`);
  focusTrigger(updated.id);
}

// View key

async function viewKey(token) {
  const shown = await attempt(() => state.api.reveal(token.id), (d) => rowProblem(token.id, d));
  if (shown) showKey(token, shown.key, "viewed");
  else focusTrigger(token.id);
}

// Deactivate / Activate

async function setActive(token, active) {
  const updated = await attempt(
    () => (active ? state.api.activate(token.id) : state.api.deactivate(token.id)),
    (d, problem) =>
      rowProblem(token.id, problem?.code === "key_leaked" && token.userId === state.me.sub ? `${d} Use Roll key in the token's menu to give it a new key.` : d),
  );
  if (updated) {
    replaceItem(updated);
    announce(`${updated.name} is ${active ? "active" : "inactive"}.`);
  }
  focusTrigger(token.id);
}

// Roll key: a new key, the previous one working for the grace chosen. One Idempotency-Key per
// opening of the window, so pressing Roll key again after a lost answer rolls once.

let rolling = null;

function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "roll-" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function openRoll(token) {
  rolling = { token, idempotencyKey: idempotencyKey() };
  $("roll-name").textContent = token.name;
  setProblem($("roll-problem"), "");
  const leaked = Boolean(token.leak);
  $("roll-leaked").hidden = !leaked;
  for (const radio of $("roll-form").elements.grace) {
    const now = radio.value === "0";
    radio.closest("label").hidden = leaked && !now;
    radio.disabled = leaked && !now;
    radio.checked = leaked ? now : radio.value === "3600";
  }
  openDialog($("roll-dialog"), () => document.querySelector(`button.kebab[data-token="${CSS.escape(token.id)}"]`));
  $("roll-form").querySelector("input[name=grace]:checked").focus();
}

async function submitRoll(e) {
  e.preventDefault();
  const { token, idempotencyKey } = rolling;
  const grace = Number($("roll-form").elements.grace.value || 0);
  busy($("roll-form"), true);
  const rolled = await attempt(
    () => state.api.roll(token.id, grace, idempotencyKey),
    (d) => setProblem($("roll-problem"), d),
  );
  busy($("roll-form"), false);
  if (!rolled) return;
  const { key, ...updated } = rolled;
  replaceItem(updated);
  $("roll-dialog").close();
  showKey(updated, key, "rolled");
}

// End previous key now: the grace of a roll ends at once.

async function endPreviousKey(token) {
  const updated = await attempt(() => state.api.revokePreviousKey(token.id), (d) => rowProblem(token.id, d));
  if (updated) {
    replaceItem(updated);
    announce(`The previous key of ${updated.name} no longer works.`);
  }
  focusTrigger(token.id);
}

// Delete

let deleting = null;

function openDelete(token) {
  deleting = token;
  $("delete-name").textContent = token.name;
  setProblem($("delete-problem"), "");
  openDialog($("delete-dialog"), () => document.querySelector(`button.kebab[data-token="${CSS.escape(token.id)}"]`));
  $("delete-dialog").querySelector("[data-close]").focus();
}

async function submitDelete(e) {
  e.preventDefault();
  const token = deleting;
  busy($("delete-form"), true);
  const done = await attempt(
    () => state.api.remove(token.id).then(() => true),
    (d) => setProblem($("delete-problem"), d),
  );
  busy($("delete-form"), false);
  if (!done) return;
  const index = state.items.findIndex((t) => t.id === token.id);
  state.items = state.items.filter((t) => t.id !== token.id);
  render();
  $("delete-dialog").close();
  announce(`Deleted ${token.name}.`);
  const next = state.items[Math.min(index, state.items.length - 1)];
  if (next) focusTrigger(next.id);
  else $("new-token").focus();
}

// History

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

async function loadHistory(append) {
  const list = $("history-list");
  if (!append) list.replaceChildren();
  $("history-state").textContent = "Loading history…";
  setProblem($("history-problem"), "");
  const page = await attempt(() => state.api.audit(audit.token.id, append ? audit.cursor : undefined), (d) =>
    setProblem($("history-problem"), d),
  );
  $("history-state").textContent = "";
  if (!page) return;
  audit.cursor = page.nextCursor || null;
  for (const r of page.items) {
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

function openHistory(token) {
  audit = { token, cursor: null };
  $("history-name").textContent = token.name;
  openDialog($("history-dialog"), () => document.querySelector(`button.kebab[data-token="${CSS.escape(token.id)}"]`));
  $("history-dialog").querySelector("[data-close]").focus();
  loadHistory(false);
}

// ---- the account menu ----------------------------------------------------------------------

function toggleAccountMenu(open) {
  const menu = $("account-menu");
  const button = $("account-button");
  menu.hidden = !open;
  button.setAttribute("aria-expanded", String(open));
  if (open) menu.querySelector("button").focus();
}

function signOut() {
  forgetSession();
  sessionStorage.removeItem(DRAFT);
  state.items = [];
  $("token-rows").replaceChildren();
  if (state.config.logoutUrl) {
    location.assign(state.config.logoutUrl);
    return;
  }
  showSignedOut();
  announce("Signed out.");
  $("signin").focus();
}

// ---- wiring --------------------------------------------------------------------------------

function wire() {
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
  $("key-copy").addEventListener("click", copyKey);
  // Close (or Escape) forgets the key: the window never shows it again.
  const forgetKey = () => {
    $("key-value").value = "";
    $("key-status").textContent = "";
  };
  $("key-close").addEventListener("click", forgetKey);
  $("key-dialog").addEventListener("close", forgetKey);
  $("rename-form").addEventListener("submit", submitRename);
  $("roll-form").addEventListener("submit", submitRoll);
  $("delete-form").addEventListener("submit", submitDelete);
  $("history-more").addEventListener("click", () => loadHistory(true));
  $("more").addEventListener("click", () => load(true));
  for (const b of document.querySelectorAll("dialog [data-close]")) {
    b.addEventListener("click", () => b.closest("dialog").close());
  }

  const menu = $("token-menu");
  menuKeys(menu, closeMenu);
  document.addEventListener("click", (e) => {
    if (!menu.hidden && !menu.contains(e.target) && e.target.closest("button.kebab") !== openTrigger) closeMenu(false);
    if (!$("account-menu").hidden && !$("account").contains(e.target)) toggleAccountMenu(false);
  });
  window.addEventListener("resize", () => closeMenu(false));
  window.addEventListener("scroll", () => closeMenu(false), { passive: true });

  $("account-button").addEventListener("click", () => toggleAccountMenu($("account-menu").hidden));
  menuKeys($("account-menu"), (focus) => {
    toggleAccountMenu(false);
    if (focus) $("account-button").focus();
  });
  $("account-menu").addEventListener("click", (e) => {
    const action = e.target.closest("button")?.dataset.action;
    if (!action) return;
    toggleAccountMenu(false);
    if (action === "signout") signOut();
    else $("tokens-title").focus();
  });
  $("tokens-title").tabIndex = -1;

  $("owner-filter").addEventListener("change", () => {
    const v = $("owner-filter").value;
    $("owner-user-field").hidden = v !== "user";
    if (v === "user") {
      $("owner-user").focus();
      return;
    }
    state.owner = v;
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
    state.owner = user;
    load();
  });
}

wire();
boot();
