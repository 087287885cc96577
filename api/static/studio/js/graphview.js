// Draws a graph model (graphmodel.js) as SVG, laid out by dagre. Nodes are focusable
// buttons; their state (pending, running, done...) is a class the caller sets.
import dagre from "../vendor/dagre/dagre.esm.js";
import { h, s } from "./dom.js";

let counter = 0;
const CHAR = 7.4;   // average glyph width of the 13px UI font, for node and label sizes

// START and END: small rounded terminals, not nodes one can select.
const terminal = (n) => n.kind === "end" || n.kind === "start";

function nodeSize(n) {
  const text = Math.max(n.label.length, (n.sub || "").length + 2);
  return { width: Math.max(terminal(n) ? 60 : 96, text * CHAR + 28), height: terminal(n) ? 32 : 46 };
}

function layout(model) {
  const g = new dagre.graphlib.Graph({ multigraph: true, compound: true });
  g.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 46, edgesep: 16, marginx: 12, marginy: 18 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of model.nodes) g.setNode(n.id, nodeSize(n));
  for (const n of model.nodes) if (n.parent && g.hasNode(n.parent)) g.setParent(n.id, n.parent);
  model.edges.forEach((e, i) => {
    if (e.from === e.to) return;   // self-loops are drawn beside their node (selfLoop)
    const label = e.label ? { width: Math.min(e.label.length, 40) * CHAR + 10, height: 18, labelpos: "c" } : {};
    g.setEdge(e.from, e.to, { ...label, minlen: 1 }, `e${i}`);
  });
  dagre.layout(g);
  return g;
}

// A loop from a node back to itself: an arc on its right side, label beyond it.
function selfLoop(n) {
  const x = n.x + n.width / 2;
  const top = n.y - n.height / 4;
  const bottom = n.y + n.height / 4;
  return { d: `M${x},${top} C${x + 40},${top - 18} ${x + 40},${bottom + 18} ${x + 1},${bottom}`,
    x: x + 36, y: n.y, loop: true };
}

function pathOf(points) {
  return points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
}

/**
 * Draw ``model``; options: onSelect({node} | {edge}), editable (adds a connect handle
 * per node), onConnect(from, to). Returns {el, node(id), setState(id, state, badge),
 * markProblems(problems), select(kind, key)}.
 */
export function drawGraph(model, options = {}) {
  const id = `g${++counter}`;
  const g = layout(model);
  const graph = g.graph();
  // Room on the right for self-loops and their labels, which dagre does not place.
  let right = graph.width || 0;
  for (const e of model.edges) {
    if (e.from !== e.to) continue;
    const n = g.node(e.from);
    right = Math.max(right, n.x + n.width / 2 + 34 + (e.label ? Math.min(e.label.length, 40) * CHAR + 14 : 0));
  }
  const width = Math.max(right, 120);
  const height = Math.max(graph.height || 0, 60);
  const svg = s("svg", { class: "graph", viewBox: `0 0 ${width} ${height}`, width, height,
    role: "group", "aria-label": options.label || "graph drawing" });
  svg.append(s("defs", {}, ...["static", "cond", "map", "error", "parallel", "implicit"].map((k) =>
    s("marker", { id: `${id}-arrow-${k}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
      markerHeight: 7, orient: "auto-start-reverse" },
    s("path", { d: "M0,0 L10,5 L0,10 z", class: `arrow kind-${k}` })))));
  const clusterLayer = s("g", { class: "clusters" });   // under the edges they hold
  const edgeLayer = s("g", { class: "edges" });
  const nodeLayer = s("g", { class: "nodes" });
  svg.append(clusterLayer, edgeLayer, nodeLayer);
  const nodes = new Map();
  const edges = [];
  model.edges.forEach((e, i) => {
    const lay = e.from === e.to ? selfLoop(g.node(e.from)) : g.edge(e.from, e.to, `e${i}`);
    if (!lay) return;
    const group = s("g", { class: `edge kind-${e.kind}${e.loop ? " loop" : ""}`, "data-from": e.from,
      "data-to": e.to, "data-edge": e.index ?? "" });
    const d = lay.d || pathOf(lay.points);
    group.append(s("path", { d, class: "edge-line", "marker-end": `url(#${id}-arrow-${e.kind})` }));
    group.append(s("path", { d, class: "edge-hit" }));
    if (e.label) {
      const w = Math.min(e.label.length, 40) * CHAR + 10;
      if (lay.loop) lay.x += w / 2;
      const text = e.label.length > 40 ? `${e.label.slice(0, 39)}…` : e.label;
      group.append(s("g", { class: "edge-label", transform: `translate(${lay.x - w / 2},${lay.y - 9})` },
        s("rect", { width: w, height: 18, rx: 4 }),
        s("text", { x: w / 2, y: 13, "text-anchor": "middle" }, text)));
    }
    group.append(s("title", {}, `${e.from} → ${e.to}${e.label ? `: ${e.label}` : ""}`));
    if (options.onSelect && e.index !== null) {
      const pick = (ev) => { ev.stopPropagation(); ev.preventDefault(); options.onSelect({ edge: e.index }); };
      group.setAttribute("tabindex", 0);
      group.setAttribute("role", "button");
      group.setAttribute("aria-label", `edge ${e.from} to ${e.to}${e.label ? `: ${e.label}` : ""}`);
      group.addEventListener("click", pick);
      group.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") pick(ev); });
    }
    edges.push({ model: e, el: group });
    edgeLayer.append(group);
  });
  const parents = new Set(model.nodes.map((n) => n.parent).filter(Boolean));
  for (const n of model.nodes) {
    const lay = g.node(n.id);
    if (parents.has(n.id)) {
      // A node holding others (a subgraph): a frame around its children, drawn first.
      const frame = s("g", { class: "cluster", "data-cluster": n.id, transform: `translate(${lay.x},${lay.y})` },
        s("rect", { x: -lay.width / 2, y: -lay.height / 2, width: lay.width, height: lay.height, rx: 10 }),
        s("text", { class: "label", x: -lay.width / 2 + 8, y: -lay.height / 2 + 15 }, n.label));
      clusterLayer.append(frame);
      continue;
    }
    const classes = ["node", `kind-${n.kind}`, "state-idle"];
    if (n.entry) classes.push("entry");
    if (n.join) classes.push("join");
    if (n.interrupt) classes.push("interrupt");
    // Above the node's top right corner, clear of its label.
    const badge = s("text", { class: "badge", x: lay.width / 2, y: -lay.height / 2 - 4, "text-anchor": "end" });
    const state = s("title", {}, n.label);
    const group = s("g", { class: classes.join(" "), transform: `translate(${lay.x},${lay.y})`,
      "data-node": n.id, tabindex: terminal(n) ? null : 0, role: "button",
      "aria-label": `${n.label}${n.sub ? ` (${n.sub})` : ""}` },
      s("rect", { x: -lay.width / 2, y: -lay.height / 2, width: lay.width, height: lay.height, rx: terminal(n) ? 16 : 8 }),
      s("text", { class: "label", y: n.sub ? -3 : 4, "text-anchor": "middle" }, n.label),
      n.sub ? s("text", { class: "sub", y: 13, "text-anchor": "middle" }, n.sub) : null,
      badge, state);
    if (options.onSelect && !terminal(n)) {
      const pick = (ev) => { ev.stopPropagation(); options.onSelect({ node: n.id }); };
      group.addEventListener("click", pick);
      group.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pick(ev); } });
    }
    if (options.editable && n.kind === "node") {
      const handle = s("circle", { class: "connect", cx: 0, cy: lay.height / 2, r: 7, "data-connect": n.id });
      handle.append(s("title", {}, `drag to another node to connect ${n.label}`));
      group.append(handle);
    }
    nodes.set(n.id, { model: n, el: group, badge, title: state });
    nodeLayer.append(group);
  }
  const wrap = h("div", { class: "graph-wrap" }, svg);
  if (options.editable && options.onConnect) connectByDragging(svg, nodes, options.onConnect);
  return {
    el: wrap,
    svg,
    node: (nid) => nodes.get(nid)?.el,
    setState(nid, stateName, badgeText, tip, retried = false) {
      const n = nodes.get(nid);
      if (!n) return;
      n.el.classList.remove(`state-${n.el.dataset.state || "idle"}`);
      n.el.classList.add(`state-${stateName}`);
      n.el.classList.toggle("retried", retried);
      n.el.dataset.state = stateName;
      n.badge.textContent = badgeText || "";
      n.title.textContent = `${n.model.label}: ${tip || stateName}`;
      n.el.setAttribute("aria-label", `${n.model.label}${n.model.sub ? ` (${n.model.sub})` : ""}: ${tip || stateName}`);
    },
    markProblems(problems) {
      for (const n of nodes.values()) { n.el.classList.remove("problem"); }
      for (const e of edges) e.el.classList.remove("problem");
      for (const p of problems) {
        for (const nid of p.nodes && p.nodes.length ? p.nodes : p.node ? [p.node] : []) {
          const n = nodes.get(nid);
          if (n) { n.el.classList.add("problem"); n.title.textContent = `${nid}: ${p.message}`; }
        }
        if (p.edge !== null && p.edge !== undefined) {
          for (const e of edges) if (e.model.index === p.edge) e.el.classList.add("problem");
        }
      }
    },
    select(kind, key) {
      for (const n of nodes.values()) n.el.classList.toggle("selected", kind === "node" && n.model.id === key);
      for (const e of edges) e.el.classList.toggle("selected", kind === "edge" && e.model.index === key);
    },
  };
}

// Connect two nodes by dragging from one's handle onto the other (pointer events, so
// mouse, pen and touch all work); a dashed line follows the pointer meanwhile. One drag
// at a time, so the window listeners are installed once, not once per drawing.
let drag = null;

function svgPoint(svg, ev) {
  const p = svg.createSVGPoint();
  p.x = ev.clientX; p.y = ev.clientY;
  return p.matrixTransform(svg.getScreenCTM().inverse());
}

window.addEventListener("pointermove", (ev) => {
  if (!drag) return;
  const p = svgPoint(drag.svg, ev);
  drag.line.setAttribute("x2", p.x); drag.line.setAttribute("y2", p.y);
});

window.addEventListener("pointerup", (ev) => {
  if (!drag) return;
  const { svg, from, line, onConnect } = drag;
  drag = null;
  line.remove();
  const target = document.elementFromPoint(ev.clientX, ev.clientY);
  const node = target && target.closest && target.closest("[data-node]");
  if (node && svg.contains(node)) onConnect(from, node.dataset.node);
});

function connectByDragging(svg, nodes, onConnect) {
  svg.addEventListener("pointerdown", (ev) => {
    const handle = ev.target.closest && ev.target.closest("[data-connect]");
    if (!handle) return;
    ev.preventDefault();
    ev.stopPropagation();
    const p = svgPoint(svg, ev);
    const line = s("line", { class: "connecting", x1: p.x, y1: p.y, x2: p.x, y2: p.y });
    svg.append(line);
    drag = { svg, from: handle.dataset.connect, line, onConnect };
  });
}
