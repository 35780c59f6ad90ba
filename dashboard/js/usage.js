// The Usage window: a token's calls in the last 24 hours by hour and in the last 30 days by day,
// stacked by outcome, each chart with its figures in a table for screen readers, and the share
// of its monthly quota used, when it has one.

import { $, attempt, openTokenDialog, page, setProblem } from "./ui.js";
import { figuresTable, legend, stackedBars } from "./chart.js";

let shown = null; // the token whose usage the window shows

const hourFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric" });
const hourLong = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
// Days are UTC days: shown in UTC, so that no day is shifted by the reader's zone.
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
const dayLong = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
const number = new Intl.NumberFormat();

const periods = [
  {
    id: "usage-hours",
    granularity: "hour",
    caption: "Calls in the last 24 hours, by hour",
    heading: "Hour starting",
    short: (iso) => hourFormat.format(new Date(iso)),
    long: (iso) => hourLong.format(new Date(iso)),
    labelEvery: 6,
  },
  {
    id: "usage-days",
    granularity: "day",
    caption: "Calls in the last 30 days, by day (UTC)",
    heading: "Day (UTC)",
    short: (iso) => dayFormat.format(new Date(iso)),
    long: (iso) => dayLong.format(new Date(iso)),
    labelEvery: 7,
  },
];

/** openUsage opens the Usage window of token and loads its figures. */
export function openUsage(token) {
  shown = token;
  $("usage-name").textContent = token.name;
  for (const p of periods) $(p.id).replaceChildren();
  $("usage-quota").hidden = true;
  $("usage-dialog").removeAttribute("data-loaded");
  openTokenDialog($("usage-dialog"), token);
  $("usage-dialog").querySelector("[data-close]").focus();
  loadUsage();
}

async function loadUsage() {
  const token = shown;
  $("usage-state").textContent = "Loading usage…";
  setProblem($("usage-problem"), "");
  $("usage-refresh").disabled = true;
  const got = await attempt(
    () => Promise.all(periods.map((p) => page.api.usage(token.id, p.granularity))),
    (detail) => setProblem($("usage-problem"), detail),
  );
  $("usage-refresh").disabled = false;
  if (token !== shown) return; // the window moved on to another token meanwhile
  $("usage-state").textContent = "";
  if (!got) return;
  periods.forEach((p, i) => draw(p, got[i].items));
  showQuota(got[0].quota);
  $("usage-dialog").setAttribute("data-loaded", "true");
}

// draw puts a period's chart, legend and table in its place.
function draw(period, items) {
  $(period.id).replaceChildren(
    legend(items),
    stackedBars(items, period.short, period.labelEvery),
    figuresTable(items, period.caption, period.heading, period.long),
  );
}

// showQuota shows what this month used of the token's monthly quota as a bar, or hides it.
function showQuota(quota) {
  const box = $("usage-quota");
  box.hidden = !quota;
  if (!quota) return;
  const meter = $("usage-quota-meter");
  meter.max = quota.requestsPerMonth;
  meter.value = Math.min(quota.used, quota.requestsPerMonth);
  const share = Math.round((quota.used / quota.requestsPerMonth) * 100);
  $("usage-quota-text").textContent = `${number.format(quota.used)} of ${number.format(quota.requestsPerMonth)} requests (${share}%)`;
}

export function wire() {
  $("usage-refresh").addEventListener("click", () => {
    $("usage-dialog").removeAttribute("data-loaded");
    loadUsage();
  });
  $("usage-dialog").addEventListener("close", () => {
    shown = null;
    $("usage-dialog").removeAttribute("data-loaded");
  });
}
