// The API Tokens page starts here: it reads config.json, finishes a sign-in, and shows the
// list. Each view is its own module; this file is where they are registered: the views to
// wire, the items of a token's ⋮ menu, and the windows that put a draft back after the
// session ended and the person signed in again. A new view is a module plus a line here.

import { completeSignIn, currentSession, groupsOf } from "./auth.js";
import { client } from "./api.js";
import { $, onSessionEnded, page } from "./ui.js";
import * as account from "./account.js";
import * as list from "./list.js";
import * as menu from "./menu.js";
import * as create from "./create.js";
import * as key from "./key.js";
import * as edit from "./edit.js";
import * as status from "./status.js";
import * as roll from "./roll.js";
import * as history from "./history.js";
import * as usage from "./usage.js";
import * as remove from "./delete.js";
import * as suspend from "./suspend.js";
import * as transfer from "./transfer.js";
import * as policy from "./policy.js";
import { loadPolicy } from "./access.js";

const views = [account, list, menu, create, key, edit, roll, history, usage, remove, suspend, transfer, policy];

const mine = (token) => token.userId === page.me.sub;
const othersAsAdmin = (token) => page.me.admin && !mine(token);

// The ⋮ menu of a token, top to bottom; `when` leaves an item out where it does not apply.
// The API decides: an item is hidden only where the API would refuse it.
const tokenMenu = [
  { label: "Edit", run: (t) => edit.openEdit(t) },
  { label: "View key", when: mine, run: key.viewKey },
  { label: "Activate", when: (t) => t.status === "inactive", run: (t) => status.setActive(t, true) },
  { label: "Deactivate", when: (t) => t.status !== "inactive", run: (t) => status.setActive(t, false) },
  { label: "Roll key", when: mine, run: roll.openRoll },
  { label: "End previous key now", when: list.graceRuns, run: roll.endPreviousKey },
  { label: "History", run: history.openHistory },
  { label: "Usage", run: usage.openUsage },
  { label: "Transfer…", when: (t) => page.me.admin, run: transfer.openTransfer },
  { label: "Suspend all of this user's tokens…", when: othersAsAdmin, run: suspend.openSuspend },
  { label: "Delete", run: remove.openDelete, className: "danger" },
];

// The windows that keep what was typed when the session ends, by the draft's kind.
const drafts = { create: create.openCreate, edit: edit.restoreEdit };

async function boot() {
  try {
    const resp = await fetch("config.json", { cache: "no-store" });
    if (!resp.ok) throw new Error(`config.json answered ${resp.status}`);
    page.config = await resp.json();
  } catch (err) {
    account.showSignedOut(`The page is not configured: ${err.message}.`);
    $("signin").disabled = true;
    return;
  }
  page.api = client(page.config);
  try {
    await completeSignIn(page.config);
  } catch (err) {
    account.showSignedOut(err.message);
    return;
  }
  const session = currentSession();
  if (!session) {
    account.showSignedOut();
    return;
  }
  const groupsClaim = page.config.groupsClaim || "cognito:groups";
  const adminGroup = page.config.adminGroup || "admin";
  page.me = { sub: session.claims.sub, admin: groupsOf(session.claims, groupsClaim).includes(adminGroup) };
  account.showAccount();
  policy.showPolicyButton();
  loadPolicy();
  await list.showList();
  const draft = account.takeDraft();
  if (draft) drafts[draft.kind]?.(draft);
}

for (const view of views) view.wire();
for (const b of document.querySelectorAll("dialog [data-close]")) {
  b.addEventListener("click", () => b.closest("dialog").close());
}
menu.setMenu(tokenMenu);
onSessionEnded(account.sessionEnded);
boot();
