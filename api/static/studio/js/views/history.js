// The run's checkpoints: the state after any step (a slider), the difference between
// two steps, and editing: a fork from a step with edited values, or an edit of the run.
import { api } from "../api.js";
import { h, fill, field, parseJson, pretty, formatTime } from "../dom.js";
import { jsonTree, jsonDiff, diffTable } from "../jsontree.js";
import { note, errorList } from "../ui.js";

//: Milliseconds between reloads of a live run's checkpoints.
const HISTORY_MS = 1000;
//: A run's state can be edited while it is stopped: waiting or finished.
const EDITABLE = new Set(["waiting", "completed", "failed", "cancelled"]);

export class HistoryPanel {
  /** ``detail()`` and ``status()`` read the run view's latest knowledge of the run. */
  constructor(runId, detail, status) {
    this.runId = runId;
    this.detail = detail;
    this.status = status;
    this.checkpoints = [];
    this.el = h("section", { class: "panel", "aria-labelledby": "history-h" });
    this.out = h("div");   // kept across redraws: "saved" outlives the reload
    this.typed = null;     // {step, text} while the person edits the state
    this.timer = null;
    this.reads = 0;        // reads started: see load()
  }

  /** Reload soon (at most once per HISTORY_MS): checkpoints keep coming while it runs. */
  soon() {
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = null; this.load(); }, HISTORY_MS);
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  /** Read the checkpoints again. Reads overlap (the feed, the timer, a save): only the
   * newest read started is drawn, so a slow older answer never puts back a stale list. */
  async load() {
    const ticket = ++this.reads;
    let checkpoints;
    try { checkpoints = (await api.history(this.runId)).checkpoints; } catch (err) {
      if (ticket === this.reads) fill(this.el, h("h2", { id: "history-h" }, "State"), errorList(err));
      return;
    }
    if (ticket !== this.reads) return;
    this.checkpoints = checkpoints;
    this.draw();
  }

  draw() {
    const cps = this.checkpoints;
    const head = h("h2", { id: "history-h" }, "State");
    if (!cps.length) {
      fill(this.el, head, h("p", { class: "muted" }, "No checkpoint yet."),
        h("h3", {}, "Current state"), jsonTree(this.detail().current_state, 2));
      return;
    }
    const slider = h("input", { type: "range", min: 0, max: cps.length - 1, value: cps.length - 1, step: 1, "aria-label": "checkpoint" });
    const where = h("p", { role: "status" });
    const tree = h("div", { class: "tree" });
    const edit = h("textarea", { rows: 8, class: "code", "aria-label": "state values to edit" });
    const out = this.out;   // kept across redraws: "saved" outlives the reload
    const pick = () => {
      const cp = cps[Number(slider.value)];
      where.textContent = `step ${cp.step} of ${cps[cps.length - 1].step}: ${written(cp)} · ${formatTime(cp.created_at)}`;
      fill(tree, jsonTree(cp.state, 2));
      edit.value = pretty(cp.state);
    };
    slider.addEventListener("input", pick);
    pick();
    // Every redraw (new checkpoints arrived) keeps what the person was typing, until
    // they save, fork or move the slider.
    const typed = this.typed;
    if (typed && typed.step < cps.length) {
      slider.value = String(typed.step);
      pick();
      edit.value = typed.text;
    }
    edit.addEventListener("input", () => { this.typed = { step: Number(slider.value), text: edit.value }; });
    slider.addEventListener("input", () => { this.typed = null; });
    const edited = () => {
      const parsed = parseJson(edit.value);
      if (parsed.error || typeof parsed.value !== "object" || Array.isArray(parsed.value) || parsed.value === null) {
        note(out, parsed.error || "the state must be a JSON object", "error");
        return null;
      }
      // Only the keys that changed: a fork or edit writes through the graph's reducers,
      // so sending an unchanged "add" counter would add it again.
      const before = cps[Number(slider.value)].state;
      const changed = Object.fromEntries(Object.entries(parsed.value).filter(([k, v]) => JSON.stringify(before[k]) !== JSON.stringify(v)));
      if (!Object.keys(changed).length) {
        note(out, "Nothing changed: edit a value in the state first.", "error");
        return null;
      }
      return changed;
    };
    const fork = async () => {
      const values = edited();
      if (!values) return;
      try {
        const made = await api.fork(this.runId, cps[Number(slider.value)].step, values);
        location.hash = `#/runs/${encodeURIComponent(made.run_id)}`;
      } catch (err) { fill(out, errorList(err)); }
    };
    const save = async () => {
      const values = edited();
      if (!values) return;
      try {
        const cp = await api.editState(this.runId, values, null);
        this.typed = null;
        await this.load();
        note(out, `Saved as step ${cp.step}.`);
      } catch (err) { fill(out, errorList(err)); }
    };
    const a = stepSelect(cps, 0, "from step");
    const b = stepSelect(cps, cps.length - 1, "to step");
    const diffOut = h("div");
    const diff = () => fill(diffOut, diffTable(jsonDiff(cps[Number(a.value)].state, cps[Number(b.value)].state)));
    a.addEventListener("change", diff);
    b.addEventListener("change", diff);
    diff();
    fill(this.el, head,
      h("div", { class: "split" },
        h("div", {}, field("Checkpoint", slider), where, tree),
        h("div", {},
          h("h3", {}, "Edit and fork"),
          field("State at this step (JSON); changed keys are written", edit),
          h("div", { class: "toolbar" },
            h("button", { type: "button", class: "primary", onClick: fork }, "Fork from this step"),
            h("button", { type: "button", onClick: save, disabled: !EDITABLE.has(this.status()) }, "Edit this run's state")),
          out)),
      h("h3", {}, "Difference between two steps"),
      h("div", { class: "toolbar" }, field("From", a), field("To", b)), diffOut);
  }
}

/** What wrote a checkpoint: nodes (an edit names the node it wrote as, or
 * update_state), the input (step 0, before any node), or an answer to a paused run
 * (recorded as a step of its own before the run goes on). */
function written(cp) {
  if (cp.nodes.length) return `after ${cp.nodes.join(", ")}`;
  return cp.step === 0 ? "the input" : "an answer recorded";
}

function stepSelect(cps, selected, label) {
  const el = h("select", { "aria-label": label }, cps.map((cp, i) => h("option", { value: i }, `step ${cp.step} (${cp.nodes.join(", ") || (cp.step === 0 ? "input" : "answer")})`)));
  el.value = String(selected);
  return el;
}

