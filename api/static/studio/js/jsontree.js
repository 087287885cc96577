// JSON as a collapsible tree (<details>, so keyboard and screen readers work natively),
// and the difference between two JSON values as a list of paths.
import { h } from "./dom.js";

function scalar(value) {
  const kind = value === null ? "null" : typeof value;
  return h("span", { class: `json-${kind}` }, kind === "string" ? JSON.stringify(value) : String(value));
}

/** A tree for ``value``; objects and arrays deeper than ``openDepth`` start closed. */
export function jsonTree(value, openDepth = 1, depth = 0, key = null) {
  const label = key === null ? null : h("span", { class: "json-key" }, `${key}: `);
  if (value === null || typeof value !== "object") {
    return h("div", { class: "json-leaf" }, label, scalar(value));
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  const details = h("details", { class: "json-node", open: depth < openDepth },
    h("summary", {}, label, h("span", { class: "json-count" }, summary)));
  // Large arrays (a 1,000-step history) are drawn when opened, not up front.
  const fill = () => {
    if (details.dataset.filled) return;
    details.dataset.filled = "1";
    for (const [k, v] of entries) details.append(jsonTree(v, openDepth, depth + 1, k));
  };
  if (depth < openDepth) fill(); else details.addEventListener("toggle", fill, { once: true });
  return details;
}

/** Every path whose value differs between ``a`` and ``b``: [{path, kind, before, after}]. */
export function jsonDiff(a, b, path = "") {
  const isObj = (v) => v !== null && typeof v === "object";
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const out = [];
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const p = Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      if (!(k in a)) out.push({ path: p, kind: "added", after: b[k] });
      else if (!(k in b)) out.push({ path: p, kind: "removed", before: a[k] });
      else out.push(...jsonDiff(a[k], b[k], p));
    }
    return out;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path: path || "(root)", kind: "changed", before: a, after: b }];
}

/**
 * The diff as a table. The path and the change keep their width, on one line; the
 * values take the rest of the width and wrap anywhere (a long text, a whole dict).
 * In a box that scrolls sideways should a path be wider than the screen.
 */
export function diffTable(changes) {
  if (!changes.length) return h("p", { class: "muted" }, "No difference.");
  const show = (v) => (v === undefined ? "" : JSON.stringify(v));
  return h("div", { class: "diff-wrap" }, h("table", { class: "diff" },
    h("thead", {}, h("tr", {}, h("th", { class: "diff-path" }, "path"), h("th", { class: "diff-kind" }, "change"),
      h("th", { class: "diff-value" }, "before"), h("th", { class: "diff-value" }, "after"))),
    h("tbody", {}, changes.map((c) => h("tr", { class: `diff-${c.kind}` },
      h("td", { class: "diff-path" }, h("code", {}, c.path)), h("td", { class: "diff-kind" }, c.kind),
      h("td", { class: "diff-value" }, h("code", {}, show(c.before))),
      h("td", { class: "diff-value" }, h("code", {}, show(c.after))))))));
}
