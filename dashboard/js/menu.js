// The ⋮ menu of a token: the items app.js registers with setMenu, in a fixed layer inside the
// page's main landmark, and the keys of the menu-button pattern (shared with the account menu).

import { $, el } from "./ui.js";

// Each entry is {label, run(token), when(token)?, className?}; when leaves it out of the menu of
// a token it does not apply to.
let entries = [];

/** setMenu registers the menu's items, top to bottom. */
export function setMenu(items) {
  entries = items;
}

let openTrigger = null;

/** openMenu opens the menu of token under its ⋮ button, focus on the item at focusIndex. */
export function openMenu(trigger, token, focusIndex = 0) {
  closeMenu(false);
  const menu = $("token-menu");
  menu.setAttribute("aria-label", `Actions for ${token.name}`);
  menu.replaceChildren(
    ...entries
      .filter((item) => !item.when || item.when(token))
      .map(({ label, run, className }) => {
        const b = el("button", { type: "button", role: "menuitem", tabIndex: -1, className: className || "" }, label);
        b.addEventListener("click", () => {
          closeMenu(false);
          run(token);
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
  [...menu.querySelectorAll("button")].at(focusIndex).focus();
}

export function closeMenu(returnFocus = true) {
  const menu = $("token-menu");
  if (menu.hidden) return;
  menu.hidden = true;
  if (openTrigger) {
    openTrigger.setAttribute("aria-expanded", "false");
    if (returnFocus) openTrigger.focus();
  }
  openTrigger = null;
}

/** menuKeys moves focus in a menu with ↑ ↓ Home End; Escape and Tab call onClose(true). */
export function menuKeys(menu, onClose) {
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

export function wire() {
  const menu = $("token-menu");
  menuKeys(menu, closeMenu);
  document.addEventListener("click", (e) => {
    if (!menu.hidden && !menu.contains(e.target) && e.target.closest("button.kebab") !== openTrigger) closeMenu(false);
  });
  window.addEventListener("resize", () => closeMenu(false));
  window.addEventListener("scroll", () => closeMenu(false), { passive: true });
}
