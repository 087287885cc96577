// Node executions on a time axis: one bar each, placed in lanes so that executions
// that overlap in time (parallel branches) sit side by side instead of on top.
import { h } from "../dom.js";

//: Bars drawn at most; a longer run shows its last executions (the count says so).
const MAX_BARS = 2000;

export function timeline(executions) {
  if (!executions.length) return h("p", { class: "muted" }, "No node has run yet.");
  const list = executions.slice(-MAX_BARS);
  const t0 = list[0].start;
  const now = Date.now();
  const t1 = Math.max(...list.map((e) => e.end ?? now), t0 + 1);
  const span = t1 - t0;
  const laneEnds = [];
  const bars = list.map((e) => {
    const end = e.end ?? now;
    let lane = laneEnds.findIndex((t) => t <= e.start);
    if (lane < 0) { lane = laneEnds.length; laneEnds.push(end); } else laneEnds[lane] = end;
    const left = ((e.start - t0) / span) * 100;
    const width = Math.max(((end - e.start) / span) * 100, 0.4);
    const ms = (end - e.start).toFixed(1);
    return h("div", { class: `bar state-${e.state}`, "data-bar-node": e.node, "data-lane": lane,
      style: { left: `${left.toFixed(3)}%`, width: `${width.toFixed(3)}%`, top: `${lane * 22}px` },
      title: `${e.node}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ""}: ${ms} ms` },
    h("span", {}, e.node));
  });
  const lanes = Math.min(laneEnds.length, 400);
  return h("div", {},
    h("p", { class: "muted" }, `${executions.length} node executions over ${span.toFixed(0)} ms` +
      `${executions.length > list.length ? ` (the last ${list.length} drawn)` : ""}; ${laneEnds.length} at most at once`),
    h("div", { class: "timeline", role: "img", "aria-label": "timeline of node executions", style: { height: `${lanes * 22 + 4}px` } }, bars));
}
