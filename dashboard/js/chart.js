// Stacked bars of a token's usage, drawn in plain SVG, and the table of the same figures for
// screen readers: one bar (and one row) per hour or day, stacked by outcome.

import { el } from "./ui.js";

/** outcomes are the stacked parts of a bar, bottom to top, as the API names them. */
const outcomes = [
  { key: "allowed", label: "Allowed" },
  { key: "rateLimited", label: "Rate limited" },
  { key: "quotaExhausted", label: "Quota exhausted" },
  { key: "refused", label: "Refused" },
];

export { outcomes };

const svgNS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs = {}, ...children) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

const total = (item) => outcomes.reduce((n, o) => n + item[o.key], 0);

/** niceMax is the top of the axis: the largest bar rounded up to 1, 2 or 5 times a power of ten. */
function niceMax(largest) {
  if (largest <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(largest));
  return [1, 2, 5, 10].map((m) => m * power).find((v) => v >= largest);
}

const number = new Intl.NumberFormat();

// The drawing's size in its own units; the SVG scales to the window's width.
const width = 640;
const height = 170;
const left = 44;
const bottom = 22;
const top = 8;

/**
 * stackedBars draws items ({start, allowed, rateLimited, quotaExhausted, refused}) as an SVG
 * whose every part carries data-outcome and data-count, labelling bars with label(start) and the
 * axis with every labelEvery-th label. The SVG is hidden from screen readers: the table has it.
 */
export function stackedBars(items, label, labelEvery) {
  const max = niceMax(Math.max(0, ...items.map(total)));
  const plotH = height - top - bottom;
  const step = (width - left) / Math.max(items.length, 1);
  const barW = Math.max(1, step * 0.7);
  const y = (v) => top + plotH - (v / max) * plotH;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", "aria-hidden": "true", focusable: "false" });
  for (const v of [0, max / 2, max]) {
    svg.append(
      svgEl("line", { x1: left, x2: width, y1: y(v), y2: y(v), class: "grid" }),
      svgEl("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, number.format(v)),
    );
  }
  items.forEach((item, i) => {
    const x = left + i * step + (step - barW) / 2;
    const bar = svgEl("g", { class: "bar", "data-start": item.start });
    let base = 0;
    for (const o of outcomes) {
      const n = item[o.key];
      if (n > 0) {
        bar.append(
          svgEl("rect", { x, width: barW, y: y(base + n), height: y(base) - y(base + n), class: `seg seg-${o.key}`, "data-outcome": o.key, "data-count": n },
            svgEl("title", {}, `${label(item.start)}: ${number.format(n)} ${o.label.toLowerCase()}`)),
        );
      }
      base += n;
    }
    svg.append(bar);
    if (i % labelEvery === 0) {
      svg.append(svgEl("text", { x: x + barW / 2, y: height - 6, "text-anchor": "middle", class: "axis" }, label(item.start)));
    }
  });
  return svg;
}

/** legend shows each outcome's colour and its total over items. */
export function legend(items) {
  return el(
    "ul",
    { className: "legend" },
    ...outcomes.map((o) =>
      el(
        "li",
        { "data-outcome": o.key },
        el("span", { className: `swatch seg-${o.key}`, "aria-hidden": "true" }),
        `${o.label} `,
        el("strong", {}, number.format(items.reduce((n, it) => n + it[o.key], 0))),
      ),
    ),
  );
}

/** figuresTable is the chart's figures as a table, for screen readers: a row per bar. */
export function figuresTable(items, caption, heading, label) {
  const head = el("tr", {}, el("th", { scope: "col" }, heading), ...outcomes.map((o) => el("th", { scope: "col" }, o.label)));
  const rows = items.map((item) =>
    el(
      "tr",
      { "data-start": item.start },
      el("th", { scope: "row" }, label(item.start)),
      ...outcomes.map((o) => el("td", { "data-outcome": o.key }, number.format(item[o.key]))),
    ),
  );
  return el("table", { className: "figures visually-hidden" }, el("caption", {}, caption), el("thead", {}, head), el("tbody", {}, ...rows));
}
