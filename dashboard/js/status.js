// Deactivate and Activate, straight from a token's menu: no window; a refusal shows under the
// token's row.

import { announce, attempt, focusTrigger, page } from "./ui.js";
import { replaceItem, rowProblem } from "./list.js";

/** setActive activates or deactivates token, then returns focus to its ⋮ button. */
export async function setActive(token, active) {
  const updated = await attempt(
    () => (active ? page.api.activate(token.id) : page.api.deactivate(token.id)),
    (d, problem) =>
      rowProblem(token.id, problem?.code === "key_leaked" && token.userId === page.me.sub ? `${d} Use Roll key in the token's menu to give it a new key.` : d),
  );
  if (updated) {
    replaceItem(updated);
    announce(`${updated.name} is ${active ? "active" : "inactive"}.`);
  }
  focusTrigger(token.id);
}
