// The key window: a key after create or roll (shown this once) or by View key, with Copy and
// Close. Closing it forgets the key.

import { $, attempt, dateFormat, focusTrigger, kebab, openDialog, page } from "./ui.js";
import { graceRuns, rowProblem } from "./list.js";

// showKey opens the window with token's key. how is "created", "rolled" or "viewed"; a rolled
// key's window says until when the previous key works.
export function showKey(token, key, how) {
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
  openDialog($("key-dialog"), how === "created" ? $("new-token") : () => kebab(token.id));
  $("key-copy").focus();
}

/** viewKey (the menu's View key) shows the key of one of the person's own tokens again. */
export async function viewKey(token) {
  const shown = await attempt(() => page.api.reveal(token.id), (d) => rowProblem(token.id, d));
  if (shown) showKey(token, shown.key, "viewed");
  else focusTrigger(token.id);
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

export function wire() {
  $("key-copy").addEventListener("click", copyKey);
  // Close (or Escape) forgets the key: the window never shows it again.
  const forgetKey = () => {
    $("key-value").value = "";
    $("key-status").textContent = "";
  };
  $("key-close").addEventListener("click", forgetKey);
  $("key-dialog").addEventListener("close", forgetKey);
}
