// Graphs: the list (search, import) and one graph drawn beside its JSON (export, run).
import { api } from "../api.js";
import { h, fill, pretty, download, field, parseJson } from "../dom.js";
import { drawGraph } from "../graphview.js";
import { modelOf } from "../graphmodel.js";
import { note, errorList } from "../ui.js";

/** The definition as the create endpoint takes it (no server-made fields). */
export function definitionOf(graph) {
  const out = {};
  for (const key of ["name", "description", "nodes", "edges", "entry_point", "reducers"]) {
    if (graph[key] !== undefined && graph[key] !== null) out[key] = graph[key];
  }
  return out;
}

async function allGraphs() {
  const out = [];
  for (let offset = 0; ; offset += 200) {
    const page = await api.graphs(200, offset);
    out.push(...page.items);
    if (page.next_offset === null) return out;
  }
}

export async function list(main) {
  const items = await allGraphs();
  const search = h("input", { type: "search", placeholder: "name or description", "aria-controls": "graph-list" });
  const body = h("tbody", { id: "graph-list" });
  const count = h("p", { class: "muted", role: "status" });
  const show = () => {
    const q = search.value.trim().toLowerCase();
    const shown = items.filter((g) => !q || g.name.toLowerCase().includes(q) || (g.description || "").toLowerCase().includes(q));
    fill(body, ...shown.map((g) => h("tr", {},
      h("td", {}, h("a", { href: `#/graphs/${encodeURIComponent(g.graph_id)}` }, g.name)),
      h("td", {}, g.description || ""),
      h("td", { class: "num" }, String(g.nodes.length)))));
    count.textContent = `${shown.length} of ${items.length} graphs`;
  };
  search.addEventListener("input", show);
  const importBox = h("textarea", { rows: 6, placeholder: '{"name": "...", "nodes": [...], "edges": [...]}' });
  const file = h("input", { type: "file", accept: "application/json,.json" });
  const out = h("div");
  file.addEventListener("change", async () => { if (file.files[0]) importBox.value = await file.files[0].text(); });
  const doImport = async () => {
    const parsed = parseJson(importBox.value);
    if (parsed.error) return note(out, parsed.error, "error");
    try {
      const made = await api.createGraph(parsed.value);
      location.hash = `#/graphs/${encodeURIComponent(made.graph_id)}`;
    } catch (err) {
      fill(out, errorList(err));
    }
  };
  show();
  fill(main, 
    h("h1", {}, "Graphs"),
    h("div", { class: "toolbar" }, field("Search", search), h("a", { class: "button", href: "#/editor" }, "New graph")),
    count,
    h("div", { class: "scroll-x" }, h("table", { class: "list" },
      h("thead", {}, h("tr", {}, h("th", {}, "name"), h("th", {}, "description"), h("th", { class: "num" }, "nodes"))), body)),
    h("details", { class: "panel" }, h("summary", {}, "Import a graph from JSON"),
      field("JSON file", file), field("Graph JSON", importBox),
      h("button", { type: "button", onClick: doImport }, "Import"), out));
}

export async function detail(main, id) {
  const graph = await api.graph(id);
  const def = definitionOf(graph);
  const drawing = drawGraph(modelOf(def), { label: `graph ${graph.name}` });
  const input = h("textarea", { rows: 4 }, "{}");
  const out = h("div");
  const start = async () => {
    const parsed = parseJson(input.value);
    if (parsed.error) return note(out, parsed.error, "error");
    try {
      const started = await api.startRun(graph.graph_id, parsed.value);
      location.hash = `#/runs/${encodeURIComponent(started.run_id)}`;
    } catch (err) {
      fill(out, errorList(err));
    }
  };
  fill(main, 
    h("h1", {}, graph.name),
    graph.description ? h("p", { class: "lead" }, graph.description) : null,
    h("div", { class: "toolbar" },
      h("a", { class: "button", href: `#/editor/${encodeURIComponent(graph.graph_id)}` }, "Edit a copy"),
      h("button", { type: "button", onClick: () => download(`${graph.name}.json`, pretty(def)) }, "Export JSON"),
      h("a", { class: "button", href: `#/runs?graph=${encodeURIComponent(graph.graph_id)}` }, "Runs of this graph")),
    h("div", { class: "split" },
      h("section", { class: "panel", "aria-label": "drawing" }, h("h2", {}, "Drawing"), legend(), drawing.el),
      h("section", { class: "panel", "aria-label": "JSON" }, h("h2", {}, "JSON"), h("pre", { class: "json" }, pretty(def)))),
    h("section", { class: "panel" }, h("h2", {}, "Run it"), field("Initial state (JSON)", input),
      h("button", { type: "button", class: "primary", onClick: start }, "Start run"), out));
}

export function legend() {
  const item = (cls, text) => h("li", {}, h("span", { class: `swatch ${cls}` }), text);
  return h("ul", { class: "legend", "aria-label": "legend" }, item("kind-static", "sequence"), item("kind-parallel", "parallel"),
    item("kind-cond", "condition"), item("kind-map", "map"), item("kind-error", "on error"), item("loop", "loop"));
}
