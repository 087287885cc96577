// The editor: drag tools from the catalog onto the canvas, connect nodes by dragging,
// set each node's config and options, type conditions checked by the server as you
// type (POST /api/v1/graph/validate), and save as a new graph or a new version.
import { api } from "../api.js";
import { h, fill, parseJson, pretty, download, prose } from "../dom.js";
import { drawGraph } from "../graphview.js";
import { modelOf, normalised } from "../graphmodel.js";
import { note, errorList } from "../ui.js";
import { definitionOf, legend } from "./graphs.js";
import { VALIDATE_DELAY, inspectEdge, inspectGraph, inspectNode } from "./inspector.js";

export async function render(main, graphId) {
  const [tools, base] = await Promise.all([api.tools(), graphId ? api.graph(graphId) : null]);
  const editor = new Editor(main, tools.tools, base);
  editor.mount();
  return () => editor.stop();
}

function uniqueName(taken, stem) {
  if (!taken.has(stem)) return stem;
  for (let i = 2; ; i += 1) if (!taken.has(`${stem}_${i}`)) return `${stem}_${i}`;
}

function names(x) {
  return Array.isArray(x) ? x : [x];
}

class Editor {
  constructor(main, tools, base) {
    this.main = main;
    this.tools = new Map(tools.map((t) => [t.name, t]));
    this.base = base;
    this.def = base ? structuredClone(definitionOf(base)) : { name: "new_graph", description: "", nodes: [], edges: [], reducers: {} };
    if (base) this.def.name = `${base.name}_copy`;
    this.selection = null;
    this.problems = [];
    this.timer = null;
    this.seq = 0;
  }

  mount() {
    this.canvas = h("div", { class: "canvas", "aria-label": "canvas: drop tools here", tabindex: -1 });
    this.inspector = h("section", { class: "panel inspector", "aria-label": "inspector" });
    this.problemsEl = h("div", { class: "problems", "aria-live": "polite" });
    this.saveOut = h("div");
    const catalog = h("ul", { class: "catalog", "aria-label": "tool catalog" },
      [...this.tools.values()].map((t) => h("li", {}, this.catalogItem(t))));
    const importBox = h("textarea", { rows: 5, class: "code", "aria-label": "graph JSON to import" });
    const doImport = () => {
      const parsed = parseJson(importBox.value);
      if (parsed.error || !parsed.value || typeof parsed.value !== "object") return note(this.saveOut, parsed.error || "not a graph", "error");
      // "START" and "END" as the server reads them, so the editor holds what it stores.
      this.def = normalised({ nodes: [], edges: [], reducers: {}, ...definitionOf(parsed.value) });
      this.select(null);
      this.changed();
    };
    fill(this.main,
      h("h1", {}, this.base ? `Edit a copy of ${this.base.name}` : "New graph"),
      h("div", { class: "toolbar" },
        h("button", { type: "button", class: "primary", onClick: () => this.save(false) }, "Save as new graph"),
        this.base ? h("button", { type: "button", onClick: () => this.save(true) }, "Save as new version") : null,
        h("button", { type: "button", onClick: () => download(`${this.def.name}.json`, pretty(this.def)) }, "Export JSON"),
        h("button", { type: "button", onClick: () => this.select(null) }, "Graph settings")),
      this.saveOut,
      h("div", { class: "editor" },
        h("section", { class: "panel", "aria-label": "tools" }, h("h2", {}, "Tools"),
          h("p", { class: "hint" }, "Drag a tool onto the canvas, or press Enter on it."), catalog),
        h("section", { class: "panel canvas-panel", "aria-label": "graph being edited" }, h("h2", {}, "Canvas"), legend(),
          h("p", { class: "hint" }, "Drag from a node's round handle to another node to connect them. Click a node or an edge to edit it."),
          this.canvas, this.problemsEl),
        this.inspector),
      h("details", { class: "panel" }, h("summary", {}, "Import JSON into the editor"), importBox,
        h("button", { type: "button", onClick: doImport }, "Load into the editor")));
    this.draw();
    this.inspect();
    this.validate();
  }

  stop() { clearTimeout(this.timer); }

  // -- catalog: click or drag ---------------------------------------------------
  catalogItem(tool) {
    const item = h("button", { type: "button", class: "tool", "data-tool": tool.name, title: prose(tool.doc || tool.description) },
      h("strong", {}, tool.name), h("small", {}, tool.description));
    item.addEventListener("click", () => this.addNode(tool.name));
    item.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      const start = { x: ev.clientX, y: ev.clientY };
      let ghost = null;
      const move = (e) => {
        if (!ghost && Math.hypot(e.clientX - start.x, e.clientY - start.y) < 5) return;
        if (!ghost) { ghost = h("div", { class: "ghost" }, tool.name); document.body.append(ghost); }
        ghost.style.left = `${e.clientX + 8}px`;
        ghost.style.top = `${e.clientY + 8}px`;
      };
      const up = (e) => {
        window.removeEventListener("pointermove", move);
        window.removeEventListener("pointerup", up);
        if (!ghost) return;
        ghost.remove();
        const r = this.canvas.getBoundingClientRect();
        if (e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom) this.addNode(tool.name);
      };
      window.addEventListener("pointermove", move);
      window.addEventListener("pointerup", up);
    });
    return item;
  }

  // -- changes ------------------------------------------------------------------
  taken() { return new Set(this.def.nodes.map((n) => n.name)); }

  addNode(toolName) {
    const name = uniqueName(this.taken(), toolName);
    this.def.nodes.push({ name, tool: toolName, config: {} });
    if (!this.def.entry_point) this.def.entry_point = name;
    this.changed();
    this.select({ node: name });
    this.drawing.node(name)?.focus();
  }

  connect(from, to) {
    if (from === to && this.def.edges.some((e) => e.from === from && e.to === to)) return;
    this.def.edges.push({ from, to });
    this.changed();
    this.select({ edge: this.def.edges.length - 1 });
  }

  renameNode(node, name) {
    const old = node.name;
    if (!name || name === old || this.taken().has(name)) return false;
    node.name = name;
    const swap = (x) => (Array.isArray(x) ? x.map((v) => (v === old ? name : v)) : x === old ? name : x);
    for (const e of this.def.edges) { e.from = swap(e.from); e.to = swap(e.to); }
    for (const n of this.def.nodes) if (n.on_error === old) n.on_error = name;
    if (this.def.entry_point === old) this.def.entry_point = name;
    this.selection = { node: name };
    this.changed();
    return true;
  }

  removeNode(name) {
    this.def.nodes = this.def.nodes.filter((n) => n.name !== name);
    this.def.edges = this.def.edges.filter((e) => !names(e.from).includes(name) && !names(e.to).includes(name));
    for (const n of this.def.nodes) if (n.on_error === name) delete n.on_error;
    if (this.def.entry_point === name) this.def.entry_point = this.def.nodes[0]?.name;
    this.select(null);
    this.changed();
  }

  changed() {
    this.draw();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.validate(), VALIDATE_DELAY);
  }

  draw() {
    this.drawing = drawGraph(modelOf(this.def), { editable: true, label: "graph being edited",
      onSelect: (sel) => this.select(sel), onConnect: (a, b) => this.connect(a, b) });
    fill(this.canvas, this.def.nodes.length ? this.drawing.el
      : h("p", { class: "drop-here" }, "Drop tools here"));
    this.drawing.markProblems(this.problems);
    if (this.selection) this.drawing.select(this.selection.node !== undefined ? "node" : "edge", this.selection.node ?? this.selection.edge);
  }

  select(sel) {
    this.selection = sel;
    if (this.drawing) this.drawing.select(sel && sel.node !== undefined ? "node" : sel ? "edge" : null, sel ? sel.node ?? sel.edge : null);
    this.inspect();
  }

  // -- validation ---------------------------------------------------------------
  async validate() {
    const mine = ++this.seq;
    if (!this.def.nodes.length) {
      this.problems = [];
      fill(this.problemsEl, h("p", { class: "note", role: "status" }, "Add a node: drag a tool onto the canvas."));
      return;
    }
    try {
      const result = await api.validateGraph(this.def);
      if (mine === this.seq) this.showProblems(result.problems);
    } catch (err) {
      if (mine === this.seq) fill(this.problemsEl, errorList(err));
    }
  }

  showProblems(problems) {
    this.problems = problems;
    this.drawing.markProblems(problems);
    const where = (p) => (p.node ? `node ${p.node}` : p.edge !== null && p.edge !== undefined ? `edge ${p.edge + 1}` : p.path || "graph");
    fill(this.problemsEl, problems.length
      ? h("div", { class: "note note-error" }, h("p", {}, `${problems.length} problem${problems.length === 1 ? "" : "s"}`),
        h("ul", {}, problems.map((p) => h("li", { "data-problem": where(p) },
          h("button", { type: "button", class: "link", onClick: () => this.select(p.node ? { node: p.node } : p.edge !== null && p.edge !== undefined ? { edge: p.edge } : null) }, where(p)),
          `: ${p.message}`))))
      : h("p", { class: "note note-ok", role: "status" }, "The graph is valid."));
    this.edgeProblems();
  }

  edgeProblems() {
    const box = this.inspector.querySelector("[data-condition-problems]");
    if (!box || !this.selection || this.selection.edge === undefined) return;
    const mine = this.problems.filter((p) => p.edge === this.selection.edge);
    fill(box, ...mine.map((p) => h("p", { class: "note note-error" }, p.column ? `column ${p.column}: ${p.message}` : p.message)));
    const input = this.inspector.querySelector("[data-condition]");
    if (input) input.setAttribute("aria-invalid", mine.length ? "true" : "false");
  }

  // -- saving -------------------------------------------------------------------
  async save(asVersion) {
    const def = structuredClone(this.def);
    if (asVersion) def.name = await nextVersion(this.base.name);
    try {
      const made = await api.createGraph(def);
      location.hash = `#/graphs/${encodeURIComponent(made.graph_id)}`;
    } catch (err) {
      fill(this.saveOut, errorList(err));
      if (err.details && Array.isArray(err.details.problems)) this.validate();
    }
  }

  // -- inspector ----------------------------------------------------------------
  inspect() {
    const sel = this.selection;
    if (sel && sel.node !== undefined) {
      const node = this.def.nodes.find((n) => n.name === sel.node);
      if (node) return inspectNode(this, node);
    }
    if (sel && sel.edge !== undefined && this.def.edges[sel.edge]) return inspectEdge(this, sel.edge);
    return inspectGraph(this);
  }
}

/** "review" -> "review_v2" (or the next free _vN among the stored graphs). */
async function nextVersion(name) {
  const stem = name.replace(/_v\d+$/, "");
  const taken = new Set();
  for (let offset = 0; ; offset += 200) {
    const page = await api.graphs(200, offset);
    for (const g of page.items) taken.add(g.name);
    if (page.next_offset === null) break;
  }
  for (let i = 2; ; i += 1) if (!taken.has(`${stem}_v${i}`)) return `${stem}_v${i}`;
}
