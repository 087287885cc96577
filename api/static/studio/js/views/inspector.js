// The editor's inspector: the graph's settings, a node's config and options, an
// edge's kind and condition. Each function fills ``ed.inspector`` for the editor ``ed``
// (views/editor.js) and calls back into it on every change.
import { h, clear, fill, field, parseJson, pretty, prose } from "../dom.js";
import { END } from "../graphmodel.js";
import { note } from "../ui.js";

//: Milliseconds of quiet typing before the graph is sent for validation.
export const VALIDATE_DELAY = 250;

export function inspectGraph(ed) {
  const d = ed.def;
  const name = h("input", { type: "text", value: d.name, required: true });
  name.addEventListener("input", () => { d.name = name.value; ed.changed(); });
  const desc = h("textarea", { rows: 2 }, d.description || "");
  desc.addEventListener("input", () => { d.description = desc.value; });
  const entry = nodeSelect(d.nodes, d.entry_point, false);
  entry.addEventListener("change", () => { d.entry_point = entry.value; ed.changed(); });
  const reducers = h("textarea", { rows: 3, class: "code" }, pretty(d.reducers || {}));
  const reducersOut = h("div");
  reducers.addEventListener("input", () => {
    const parsed = parseJson(reducers.value);
    if (parsed.error) return note(reducersOut, parsed.error, "error");
    clear(reducersOut);
    d.reducers = parsed.value;
    ed.changed();
  });
  const from = nodeSelect(d.nodes, d.nodes[0]?.name, false);
  const to = nodeSelect(d.nodes, END, true);
  fill(ed.inspector, h("h2", {}, "Graph"),
    field("Name", name), field("Description", desc), field("Entry point", entry),
    field("Reducers (JSON: data key → replace, append, add, merge)", reducers), reducersOut,
    h("h3", {}, "Connect two nodes"),
    h("div", { class: "toolbar" }, field("From", from), field("To", to),
      h("button", { type: "button", onClick: () => from.value && ed.connect(from.value, to.value) }, "Add edge")));
}


export function inspectNode(ed, node) {
  const tool = ed.tools.get(node.tool);
  const name = h("input", { type: "text", value: node.name });
  const nameOut = h("div");
  name.addEventListener("change", () => {
    if (!ed.renameNode(node, name.value.trim())) note(nameOut, `"${name.value}" is empty or taken`, "error");
    else ed.inspect();
  });
  const opt = (key, control, read) => {
    control.addEventListener("change", () => {
      const v = read(control);
      if (v === null || v === undefined || v === "" || Number.isNaN(v)) delete node[key]; else node[key] = v;
      ed.changed();
    });
    return control;
  };
  const num = (c) => (c.value === "" ? null : Number(c.value));
  const timeout = opt("timeout", h("input", { type: "number", min: 0, step: "any", value: node.timeout ?? "" }), num);
  const concurrency = opt("concurrency", h("input", { type: "number", min: 1, step: 1, value: node.concurrency ?? "" }), num);
  const retry = h("input", { type: "number", min: 1, max: 100, step: 1, value: node.retry?.max_attempts ?? "" });
  retry.addEventListener("change", () => {
    if (retry.value === "") delete node.retry; else node.retry = { ...(node.retry || {}), max_attempts: Number(retry.value) };
    ed.changed();
  });
  const onError = opt("on_error", nodeSelect(ed.def.nodes.filter((n) => n.name !== node.name), node.on_error || "", false, "none"), (c) => c.value || null);
  const before = opt("interrupt_before", h("input", { type: "checkbox", checked: Boolean(node.interrupt_before) }), (c) => c.checked || null);
  const after = opt("interrupt_after", h("input", { type: "checkbox", checked: Boolean(node.interrupt_after) }), (c) => c.checked || null);
  fill(ed.inspector, h("h2", {}, `Node ${node.name}`),
    tool ? h("p", { class: "hint" }, `${tool.name}: ${prose(tool.doc || tool.description)}`) : h("p", { class: "note note-error" }, `unknown tool ${node.tool}`),
    field("Name", name), nameOut,
    h("h3", {}, "Config"), configForm(ed, node, tool),
    h("h3", {}, "Options"),
    field("Timeout (seconds)", timeout), field("Retry: max attempts", retry), field("Concurrency", concurrency),
    field("On error, go to", onError),
    h("div", { class: "checks" }, field("Ask before running (interrupt before)", before), field("Ask after running (interrupt after)", after)),
    h("div", { class: "toolbar" },
      h("button", { type: "button", onClick: () => { ed.def.entry_point = node.name; ed.changed(); } }, "Make entry point"),
      h("button", { type: "button", class: "danger", onClick: () => ed.removeNode(node.name) }, "Delete node")));
}

// A form from the tool's config schema when it has one (GET /api/v1/tools publishes
// it); otherwise the whole config as JSON.
function configForm(ed, node, tool) {
  const schema = tool && tool.config_schema;
  node.config ||= {};
  if (schema && schema.properties) {
    const required = new Set(schema.required || []);
    return h("div", {}, Object.entries(schema.properties).map(([key, prop]) =>
      configField(ed, node, key, prop, required.has(key))));
  }
  const text = h("textarea", { rows: 6, class: "code", "data-config": node.name }, pretty(node.config));
  const out = h("div");
  text.addEventListener("input", () => {
    const parsed = parseJson(text.value);
    if (parsed.error || typeof parsed.value !== "object" || Array.isArray(parsed.value) || parsed.value === null) {
      text.setAttribute("aria-invalid", "true");
      return note(out, parsed.error || "config must be a JSON object", "error");
    }
    text.setAttribute("aria-invalid", "false");
    clear(out);
    node.config = parsed.value;
    clearTimeout(ed.timer);
    ed.timer = setTimeout(() => ed.validate(), VALIDATE_DELAY);
  });
  return h("div", {}, field("Config (JSON object)", text, "this tool declares no config schema"), out);
}


export function inspectEdge(ed, index) {
  const e = ed.def.edges[index];
  const multi = Array.isArray(e.from) || Array.isArray(e.to);
  const kind = e.map ? "map" : e.condition !== undefined && e.condition !== null ? "cond" : "plain";
  const kindSel = h("select", {}, h("option", { value: "plain" }, "always"), h("option", { value: "cond" }, "conditional"),
    h("option", { value: "map" }, "map over a list"));
  kindSel.value = kind;
  const cond = h("input", { type: "text", class: "code", value: e.condition ?? "", "data-condition": index,
    placeholder: "count < limit", spellcheck: "false", autocomplete: "off" });
  const over = h("input", { type: "text", value: e.map ?? "", placeholder: "items" });
  const condField = field("Condition (an expression over the run's data)", cond, "checked by the server as you type");
  const overField = field("Map over the data key", over);
  const show = () => { condField.hidden = kindSel.value !== "cond"; overField.hidden = kindSel.value !== "map"; };
  kindSel.addEventListener("change", () => {
    delete e.condition; delete e.map;
    if (kindSel.value === "cond") e.condition = cond.value;
    if (kindSel.value === "map") e.map = over.value;
    show();
    ed.changed();
  });
  cond.addEventListener("input", () => { e.condition = cond.value; ed.changed(); });
  over.addEventListener("input", () => { e.map = over.value; ed.changed(); });
  show();
  const from = nodeSelect(ed.def.nodes, e.from, false);
  const to = nodeSelect(ed.def.nodes, e.to, true);
  from.addEventListener("change", () => { e.from = from.value; ed.changed(); });
  to.addEventListener("change", () => { e.to = to.value; ed.changed(); });
  fill(ed.inspector, h("h2", {}, `Edge ${index + 1}`),
    multi ? h("pre", { class: "json" }, `${JSON.stringify(e.from)} → ${JSON.stringify(e.to)}`)
      : h("div", { class: "toolbar" }, field("From", from), field("To", to)),
    field("Taken", kindSel), condField, overField,
    h("div", { "data-condition-problems": index }),
    h("button", { type: "button", class: "danger", onClick: () => { ed.def.edges.splice(index, 1); ed.select(null); ed.changed(); } }, "Delete edge"));
  ed.edgeProblems();
}

function nodeSelect(nodes, selected, withEnd, noneLabel) {
  const el = h("select", {}, noneLabel ? h("option", { value: "" }, noneLabel) : null,
    nodes.map((n) => h("option", { value: n.name }, n.name)), withEnd ? h("option", { value: END }, "END") : null);
  el.value = Array.isArray(selected) ? selected[0] : selected ?? "";
  return el;
}

// One field of a schema form: checkbox, number, text, or JSON for objects and arrays.
function configField(ed, node, key, prop, required) {
  const current = node.config[key];
  const kind = prop.type;
  const out = h("div");
  const control = kind === "boolean" ? h("input", { type: "checkbox", checked: Boolean(current) })
    : kind === "number" || kind === "integer" ? h("input", { type: "number", value: current ?? "", step: kind === "integer" ? 1 : "any", min: prop.minimum, max: prop.maximum })
    : kind === "string" ? h("input", { type: "text", value: current ?? "" })
    : h("textarea", { rows: 3, class: "code" }, current === undefined ? "" : pretty(current));
  control.dataset.configField = `${node.name}.${key}`;
  const read = () => {
    if (kind === "boolean") return { value: control.checked };
    if (control.value.trim() === "") return { value: undefined };
    if (kind === "number" || kind === "integer") return { value: Number(control.value) };
    if (kind === "string") return { value: control.value };
    const parsed = parseJson(control.value);
    if (parsed.error) return parsed;
    const ok = kind === "array" ? Array.isArray(parsed.value)
      : kind === "object" ? parsed.value !== null && typeof parsed.value === "object" && !Array.isArray(parsed.value) : true;
    return ok ? parsed : { error: `${key} must be a JSON ${kind}` };
  };
  control.addEventListener(kind === "boolean" ? "change" : "input", () => {
    const { value, error } = read();
    control.setAttribute("aria-invalid", error ? "true" : "false");
    if (error) return note(out, error, "error");
    clear(out);
    if (value === undefined) delete node.config[key]; else node.config[key] = value;
    clearTimeout(ed.timer);
    ed.timer = setTimeout(() => ed.validate(), VALIDATE_DELAY);
  });
  const label = `${prop.title || key}${required ? " (required)" : ""}${kind === "object" || kind === "array" ? " (JSON)" : ""}`;
  return h("div", {}, field(label, control, prop.description), out);
}
