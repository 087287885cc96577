// A graph definition (the API's JSON) as a drawing model: nodes and edges with kinds.
// The renderer only reads this model, so new kinds (subgraphs: a node with a
// ``parent``; threads) slot in here without touching the drawing code.

export const END = "__end__";
export const START = "__start__";

function names(x) {
  return Array.isArray(x) ? x : x === null || x === undefined ? [] : [x];
}

/**
 * How the server reads an edge's ends (runtime/graph.py, _add_json_edges): a target
 * "END" is END and a source "START" or "__start__" is START, unless a node has that
 * name. Returns {source(name), target(name)}, each giving the name the server means.
 */
function terminals(defNodes) {
  const named = new Set(defNodes.map((n) => n && n.name));
  return {
    source: (x) => ((x === "START" || x === START) && !named.has(x) ? START : x),
    target: (x) => (x === "END" && !named.has(x) ? END : x),
  };
}

/**
 * ``def`` as the server stores it: "END" as a target spelled "__end__", and an edge
 * from START (written "START" or "__start__") folded into ``entry_point`` when it is
 * the only one (an explicit ``entry_point`` wins, as on the server). Several edges from
 * START are kept, for the server to report ("a graph has one entry"). A copy.
 */
export function normalised(def) {
  const out = structuredClone(def);
  const defNodes = Array.isArray(out.nodes) ? out.nodes : [];
  if (!Array.isArray(out.edges)) return out;
  const { source, target } = terminals(defNodes);
  const spell = (x, f) => (Array.isArray(x) ? x.map(f) : typeof x === "string" ? f(x) : x);
  for (const e of out.edges) if (e && typeof e === "object") e.to = spell(e.to, target);
  const starts = [];
  for (const e of out.edges) {
    if (!e || typeof e !== "object") continue;
    const from = names(e.from).filter((x) => source(x) === START);
    for (let i = 0; i < from.length; i += 1) starts.push(...names(e.to));
  }
  if (starts.length !== 1) return out;
  out.edges = out.edges.flatMap((e) => {
    if (!e || typeof e !== "object" || !names(e.from).some((x) => source(x) === START)) return [e];
    const rest = names(e.from).filter((x) => source(x) !== START);
    return rest.length ? [{ ...e, from: Array.isArray(e.from) ? rest : rest[0] }] : [];
  });
  if (out.entry_point === undefined || out.entry_point === null) out.entry_point = starts[0];
  return out;
}

/** {nodes: [{id, label, sub, kind, entry, join, parent}], edges: [{from, to, kind, label, index}]} */
export function modelOf(def) {
  const defNodes = Array.isArray(def.nodes) ? def.nodes : [];
  const { source, target } = terminals(defNodes);
  const starts = [];
  for (const e of Array.isArray(def.edges) ? def.edges : []) {
    for (const from of names(e.from)) if (source(String(from)) === START) starts.push(...names(e.to).map((t) => target(String(t))));
  }
  const entry = def.entry_point || starts[starts.length - 1] || (defNodes[0] && defNodes[0].name);
  const nodes = defNodes.map((n) => ({
    id: String(n.name), label: String(n.name), sub: n.tool ? String(n.tool) : n.fn ? "fn" : "",
    kind: "node", entry: n.name === entry, join: false, parent: n.parent ?? null,
    interrupt: Boolean(n.interrupt_before || n.interrupt_after),
  }));
  const known = new Set(nodes.map((n) => n.id));
  const edges = [];
  (Array.isArray(def.edges) ? def.edges : []).forEach((e, index) => {
    for (const from of names(e.from)) {
      for (const to of names(e.to)) {
        let kind = "static";
        let label = "";
        if (e.map) { kind = "map"; label = `map over ${e.map}`; }
        else if (e.condition || e.condition_fn) { kind = "cond"; label = String(e.condition || e.condition_fn); }
        edges.push({ from: source(String(from)), to: target(String(to)), kind, label, index });
      }
    }
  });
  for (const n of defNodes) {
    if (n.on_error) edges.push({ from: n.name, to: n.on_error, kind: "error", label: "on error", index: null });
  }
  markParallel(edges);
  markLoops(edges);
  const incoming = {};
  // A join: reached by several branches (not by a loop's way back) in a graph that fans out.
  const fansOut = edges.some((e) => e.kind === "parallel" || e.kind === "map");
  for (const e of edges) if ((e.kind === "static" || e.kind === "map") && !e.loop && e.from !== START) (incoming[e.to] ||= new Set()).add(e.from);
  for (const n of nodes) n.join = fansOut && (incoming[n.id]?.size || 0) > 1;
  const ends = edges.some((e) => e.to === END) || nodes.some((n) => !edges.some((e) => e.from === n.id));
  if (ends) nodes.push({ id: END, label: "END", sub: "", kind: "end", entry: false, join: false, parent: null });
  // Edges from START the server has not folded into the entry point (there are several).
  if (!known.has(START) && edges.some((e) => e.from === START)) nodes.unshift({ id: START, label: "START", sub: "", kind: "start", entry: false, join: false, parent: null });
  // Nodes that edges name but the definition lacks are drawn too, as problems.
  for (const e of edges) {
    for (const id of [e.from, e.to]) {
      if (!known.has(id) && id !== END && id !== START) {
        known.add(id);
        nodes.push({ id, label: id, sub: "unknown", kind: "missing", entry: false, join: false, parent: null });
      }
    }
  }
  // A node with no outgoing edge ends the run: draw that edge to END.
  for (const n of nodes) {
    if (n.kind === "node" && !edges.some((e) => e.from === n.id)) edges.push({ from: n.id, to: END, kind: "implicit", label: "", index: null });
  }
  return { nodes, edges };
}

function markParallel(edges) {
  const statics = {};
  for (const e of edges) if (e.kind === "static" && e.to !== END && e.from !== START) (statics[e.from] ||= []).push(e);
  for (const list of Object.values(statics)) {
    const hasRoutes = edges.some((e) => e.from === list[0].from && e.kind === "cond");
    if (list.length > 1 && !hasRoutes) for (const e of list) e.kind = "parallel";
  }
}

function markLoops(edges) {
  const succ = {};
  for (const e of edges) (succ[e.from] ||= []).push(e.to);
  const reaches = (start, goal) => {
    const seen = new Set([start]);
    const stack = [start];
    while (stack.length) {
      const n = stack.pop();
      if (n === goal) return true;
      for (const m of succ[n] || []) if (!seen.has(m)) { seen.add(m); stack.push(m); }
    }
    return false;
  };
  for (const e of edges) e.loop = e.from === e.to || reaches(e.to, e.from);
}
