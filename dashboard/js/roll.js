// The Roll key window: a new key, the previous one working for the grace chosen (none for a
// leaked key); and End previous key now, which ends that grace from the menu.

import { $, announce, attempt, busy, focusTrigger, openTokenDialog, page, setProblem } from "./ui.js";
import { replaceItem, rowProblem } from "./list.js";
import { showKey } from "./key.js";

// One Idempotency-Key per opening of the window, so pressing Roll key again after a lost
// answer rolls once.
let rolling = null;

function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "roll-" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function openRoll(token) {
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
  openTokenDialog($("roll-dialog"), token);
  $("roll-form").querySelector("input[name=grace]:checked").focus();
}

async function submitRoll(e) {
  e.preventDefault();
  const { token, idempotencyKey } = rolling;
  const grace = Number($("roll-form").elements.grace.value || 0);
  busy($("roll-form"), true);
  const rolled = await attempt(
    () => page.api.roll(token.id, grace, idempotencyKey),
    (d) => setProblem($("roll-problem"), d),
  );
  busy($("roll-form"), false);
  if (!rolled) return;
  const { key, ...updated } = rolled;
  replaceItem(updated);
  $("roll-dialog").close();
  showKey(updated, key, "rolled");
}

/** endPreviousKey (End previous key now) ends the grace of a roll at once. */
export async function endPreviousKey(token) {
  const updated = await attempt(() => page.api.revokePreviousKey(token.id), (d) => rowProblem(token.id, d));
  if (updated) {
    replaceItem(updated);
    announce(`The previous key of ${updated.name} no longer works.`);
  }
  focusTrigger(token.id);
}

export function wire() {
  $("roll-form").addEventListener("submit", submitRoll);
}
