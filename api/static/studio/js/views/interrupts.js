// The form answering one interrupt: fields from the answer's JSON schema when the interrupt
// has one (interrupt.answer_schema, from the node's ask(schema=...), or a payload.schema the
// node sent), else yes / no and a free JSON answer.
import { api } from "../api.js";
import { h, fill, field, parseJson } from "../dom.js";
import { jsonTree } from "../jsontree.js";
import { note, errorList } from "../ui.js";

export function interruptForm(runId, interrupt, several) {
  const payload = interrupt.payload;
  const question = payload && typeof payload === "object" && typeof payload.question === "string" ? payload.question
    : typeof payload === "string" ? payload : `${interrupt.node} waits (${interrupt.kind})`;
  const out = h("div");
  const send = async (answer) => {
    try {
      await api.resume(runId, answer, several ? interrupt.id : interrupt.id);
      note(out, "Answer sent; the run goes on.");
      for (const b of box.querySelectorAll("button")) b.disabled = true;
    } catch (err) {
      fill(out, errorList(err));
    }
  };
  const schema = interrupt.answer_schema
    || (payload && typeof payload === "object" ? payload.schema : null);
  const form = schema && schema.properties ? schemaForm(schema, send, out) : freeForm(send, out);
  const shown = payload && typeof payload === "object" && payload.data !== undefined ? payload.data : null;
  const box = h("div", { class: "interrupt", "data-interrupt": interrupt.id },
    h("p", { class: "question" }, h("strong", {}, question)),
    h("p", { class: "muted" }, `node ${interrupt.node} · ${interrupt.kind} · id ${interrupt.id}`),
    shown !== null ? jsonTree(shown, 2) : null, form, out);
  return box;
}

function freeForm(send, out) {
  const text = h("textarea", { rows: 2, class: "code" }, "");
  const other = () => {
    const parsed = parseJson(text.value);
    if (parsed.error) return note(out, parsed.error, "error");
    return send(parsed.value);
  };
  return h("div", { class: "answer" },
    h("div", { class: "toolbar" },
      h("button", { type: "button", class: "primary", onClick: () => send(true) }, "Yes"),
      h("button", { type: "button", onClick: () => send(false) }, "No")),
    field("Or answer with JSON", text),
    h("button", { type: "button", onClick: other }, "Send answer"));
}

function schemaForm(schema, send, out) {
  const controls = {};
  const fields = Object.entries(schema.properties).map(([name, prop]) => {
    const type = prop.type;
    let control;
    if (type === "boolean") control = h("input", { type: "checkbox" });
    else if (Array.isArray(prop.enum)) control = h("select", {}, prop.enum.map((v) => h("option", { value: JSON.stringify(v) }, String(v))));
    else if (type === "integer" || type === "number") control = h("input", { type: "number", step: type === "integer" ? 1 : "any" });
    else if (type === "string") control = h("input", { type: "text" });
    else control = h("textarea", { rows: 2, class: "code" }, "null");
    controls[name] = { control, prop };
    const required = (schema.required || []).includes(name);
    return field(`${prop.title || name}${required ? " *" : ""}`, control, prop.description);
  });
  const submit = () => {
    const answer = {};
    for (const [name, { control, prop }] of Object.entries(controls)) {
      if (prop.type === "boolean") answer[name] = control.checked;
      else if (Array.isArray(prop.enum)) answer[name] = JSON.parse(control.value);
      else if (prop.type === "integer" || prop.type === "number") { if (control.value !== "") answer[name] = Number(control.value); }
      else if (prop.type === "string") answer[name] = control.value;
      else {
        const parsed = parseJson(control.value);
        if (parsed.error) return note(out, `${name}: ${parsed.error}`, "error");
        answer[name] = parsed.value;
      }
    }
    return send(answer);
  };
  return h("div", { class: "answer" }, fields, h("button", { type: "button", class: "primary", onClick: submit }, "Send answer"));
}
