// One run: its graph coloured live from the WebSocket feed, a timeline of node
// executions, the event log, the state at any checkpoint, and what a person can do to
// it (answer, edit, fork, replay, cancel).
import { api, follow } from "../api.js";
import { h, clear, fill, field, formatTime } from "../dom.js";
import { drawGraph } from "../graphview.js";
import { modelOf } from "../graphmodel.js";
import { note, errorList } from "../ui.js";
import { definitionOf, legend } from "./graphs.js";
import { HistoryPanel } from "./history.js";
import { interruptForm } from "./interrupts.js";
import { timeline } from "./timeline.js";

//: Rows of the event log drawn at once; the filters reach the rest.
const LOG_ROWS = 400;
//: Milliseconds between redraws of the timeline and log while events stream in.
const REDRAW_MS = 150;
const FINAL = new Set(["completed", "failed", "cancelled"]);

export async function render(main, runId) {
  let detail;
  try {
    detail = await api.run(runId);
  } catch (err) {
    if (err.status !== 404) throw err;
    fill(main, h("div", { class: "error-box", role: "alert" }, h("h1", {}, "Unknown run"),
      h("p", {}, `The server has no run with id ${runId}. It may have been pruned, or the link is wrong.`),
      h("p", {}, h("a", { href: "#/runs" }, "See the runs it has"))));
    return null;
  }
  const view = new RunView(main, detail);
  await view.mount();
  return () => view.stop();
}

class RunView {
  constructor(main, detail) {
    this.main = main;
    this.detail = detail;
    this.id = detail.run_id;
    this.status = detail.status;
    this.nodes = new Map();        // name -> {state, retries, attempt}
    this.executions = [];          // {node, start, end, state, attempt}
    this.open = new Map();         // node -> execution in progress
    this.messages = [];
    this.failure = null;           // {node, attempt, message}
    this.stopFeed = null;
    this.pending = false;
    this.timer = null;             // a redraw waiting for its REDRAW_MS
    this.completed = false;
    this.dirty = new Set();      // nodes whose state changed since the last paint
    this.finalAtOpen = false;
    this.historyLoaded = Promise.resolve();
    this.drawing = null;
  }

  async mount() {
    // The feed opens at once, beside the graph's request; what it sends before the
    // page is built waits in `early`.
    const early = [];
    let closed = null;
    let built = false;
    this.stopFeed = follow(this.id, 0,
      (list) => (built ? this.onMessages(list) : early.push(...list)),
      (c) => (built ? this.onClose(c) : (closed = c)));
    let graph = null;
    if (this.detail.graph_id) {
      try { graph = await api.graph(this.detail.graph_id); } catch { graph = null; }
    }
    this.graph = graph;
    const model = modelOf(graph ? definitionOf(graph) : { nodes: [] });
    this.drawing = drawGraph(model, { label: `graph of run ${this.id}`, onSelect: (sel) => this.focusNode(sel.node) });
    for (const n of model.nodes) if (n.kind === "node") this.drawing.setState(n.id, "pending", "", "not run yet");
    this.statusEl = h("span", { class: `status status-${this.status}`, role: "status", "aria-live": "polite" }, this.status);
    this.errorEl = h("div");
    this.interruptsEl = h("section", { class: "panel", "aria-label": "waiting for an answer", hidden: true });
    this.timelineEl = h("div", { class: "timeline-wrap" });
    this.logBody = h("tbody");
    this.logCount = h("p", { class: "muted" });
    this.feedNote = h("div");
    this.actionsOut = h("div");
    this.history = new HistoryPanel(this.id, () => this.detail, () => this.status);
    const logType = h("select", { "aria-label": "event type" }, h("option", { value: "" }, "every event"),
      ["run_started", "node_started", "node_completed", "node_failed", "node_retrying", "state_updated", "waiting", "resumed", "error", "complete"]
        .map((t) => h("option", { value: t }, t)));
    const logNode = h("input", { type: "search", placeholder: "node", "aria-label": "node name" });
    this.logType = logType;
    this.logNode = logNode;
    logType.addEventListener("change", () => this.drawLog());
    logNode.addEventListener("input", () => this.drawLog());
    const d = this.detail;
    fill(this.main,
      h("h1", {}, `Run ${this.id.slice(0, 8)} `, this.statusEl),
      h("p", { class: "lead" }, "of ", graph ? h("a", { href: `#/graphs/${encodeURIComponent(graph.graph_id)}` }, graph.name) : d.graph_name,
        ` · created ${formatTime(d.created_at)} · id `, h("code", {}, this.id)),
      h("div", { class: "toolbar" },
        h("button", { type: "button", onClick: () => this.act("cancel") }, "Cancel run"),
        h("button", { type: "button", onClick: () => this.act("replay") }, "Replay"),
        h("a", { class: "button", href: "#/runs" }, "All runs")),
      this.actionsOut, this.errorEl, this.interruptsEl,
      h("div", { class: "split" },
        h("section", { class: "panel", "aria-label": "graph" }, h("h2", {}, "Graph"), stateLegend(), legend(), this.drawing.el),
        h("section", { class: "panel", "aria-label": "timeline" }, h("h2", {}, "Timeline"), this.timelineEl)),
      this.history.el,
      h("section", { class: "panel", "aria-labelledby": "log-h" }, h("h2", { id: "log-h" }, "Event log"),
        h("div", { class: "toolbar" }, field("Event", logType), field("Node", logNode)), this.logCount,
        h("div", { class: "scroll-x log-scroll" }, h("table", { class: "list log" },
          h("thead", {}, h("tr", {}, ["seq", "time", "event", "node", "detail"].map((t) => h("th", {}, t)))), this.logBody))),
      this.feedNote);
    this.showFailure();
    // The history and the feed load side by side; a run that was over when the page
    // opened needs no second history read when its feed ends.
    this.historyLoaded = this.history.load();
    this.finalAtOpen = FINAL.has(this.status);
    if (this.status === "waiting") this.loadInterrupts();
    built = true;
    if (early.length) this.onMessages(early);
    if (closed) this.onClose(closed);
  }

  stop() {
    this.history.stop();
    if (this.stopFeed) this.stopFeed();
    this.stopFeed = null;
  }

  // -- the feed -----------------------------------------------------------------
  // A frame holds one message or a batch (a finished run's replay comes in a few
  // frames of hundreds): all are taken in, then the page is drawn once.
  onMessages(list) {
    for (const msg of list) this.onMessage(msg);
    this.schedule();
  }

  onMessage(msg) {
    this.messages.push(msg);
    const ts = Date.parse(msg.timestamp) || Date.now();
    if (msg.type === "log") this.onLog(msg, ts);
    else if (msg.type === "waiting") {
      const open = this.open.get(msg.node);
      if (open) open.state = "waiting";
      this.setNode(msg.node, "waiting", "waits for an answer");
      this.setStatus("waiting");
      this.loadInterrupts();
      this.history.load();
    } else if (msg.type === "resumed") {
      const open = this.open.get(msg.node);
      if (open) open.state = "running";
      this.setStatus("running");
      this.interruptsEl.hidden = true;
    } else if (msg.type === "error" && msg.node) {
      this.failure = { node: msg.node, attempt: this.nodes.get(msg.node)?.attempt ?? null, message: msg.message, type: msg.error_type };
    } else if (msg.type === "complete") {
      this.setStatus(msg.status);
      for (const [name, n] of this.nodes) if (n.state === "running" || n.state === "waiting") this.setNode(name, msg.status === "cancelled" ? "cancelled" : "failed");
      this.interruptsEl.hidden = true;
      this.completed = true;
      if (!this.finalAtOpen) this.historyLoaded = this.history.load();
      if (msg.status === "failed") this.reloadDetail();
    }
  }

  onLog(msg, ts) {
    // A new checkpoint of a live run (a finished run's history is read once, whole).
    if (msg.event === "state_updated" && !this.finalAtOpen) this.history.soon();
    const node = msg.node;
    const attempt = msg.data && msg.data.attempt;
    if (msg.event === "run_started" || msg.event === "run_resumed") this.setStatus("running");
    if (!node) return;
    const n = this.nodeInfo(node);
    if (attempt) n.attempt = attempt;
    if (msg.event === "node_started") {
      const ex = { node, start: ts, end: null, state: "running", attempt };
      this.executions.push(ex);
      this.open.set(node, ex);
      n.runs += 1;
      this.setNode(node, "running");
    } else if (msg.event === "node_completed" || msg.event === "node_failed" || msg.event === "node_retrying") {
      const ex = this.open.get(node);
      if (ex) { ex.end = ts; ex.state = msg.event === "node_completed" ? "done" : "failed"; this.open.delete(node); }
      if (msg.event === "node_retrying") { n.retries += 1; this.setNode(node, "retrying"); }
      else if (msg.event === "node_failed") {
        this.failure = { node, attempt: attempt ?? n.attempt, message: msg.error, type: null };
        this.setNode(node, "failed");
      } else this.setNode(node, "done");
    }
  }

  nodeInfo(name) {
    if (!this.nodes.has(name)) this.nodes.set(name, { state: "pending", retries: 0, attempt: null, runs: 0 });
    return this.nodes.get(name);
  }

  setNode(name, state, tip) {
    const n = this.nodeInfo(name);
    n.state = state;
    n.tip = tip;
    this.dirty.add(name);
  }

  // The drawing shows each node's latest state; a replay's thousands of intermediate
  // states are never drawn.
  paintNodes() {
    for (const name of this.dirty) this.paintNode(name, this.nodes.get(name));
    this.dirty.clear();
  }

  paintNode(name, n) {
    const { state, tip } = n;
    const badges = [];
    if (n.retries) badges.push(`↻${n.retries}`);
    if (n.runs > 1) badges.push(`×${n.runs}`);
    const notes = [state];
    if (n.retries) notes.push(`retried ${n.retries} time${n.retries === 1 ? "" : "s"}`);
    if (n.runs > 1) notes.push(`ran ${n.runs} times`);
    this.drawing.setState(name, state, badges.join(" "), tip || notes.join(", "), n.retries > 0);
  }

  setStatus(status) {
    // Replaying a run that was over when the page opened: its status is already known,
    // and the replayed "running" must not flash over it.
    if (this.finalAtOpen && !FINAL.has(status)) return;
    this.status = status;
    this.statusEl.textContent = status;
    this.statusEl.className = `status status-${status}`;
  }

  // Frames arrive in bursts while a run is busy: the page is redrawn at most every
  // REDRAW_MS, and at once (in the next animation frame) when the run ends or when
  // little has come yet.
  schedule() {
    const now = this.completed || this.messages.length < 50;
    if (this.pending && !(now && this.timer)) return;
    clearTimeout(this.timer);
    this.pending = true;
    this.timer = setTimeout(() => { this.timer = null; requestAnimationFrame(() => this.redraw()); },
      now ? 0 : REDRAW_MS);
  }

  async redraw() {
    {
      this.pending = false;
      this.paintNodes();
      fill(this.timelineEl, timeline(this.executions));
      this.drawLog();
      this.showFailure();
      if (this.completed && !this.main.dataset.feed) {
        await this.historyLoaded;
        // The whole run is on the page: `make bench` reads this mark (studio_render_ms).
        this.main.dataset.feed = "complete";
        performance.mark("studio:run-drawn");
      }
    }
  }

  onClose({ code, reason }) {
    this.stopFeed = null;
    if (code === 1000) return;
    const why = code === 4404 ? "the server knows no such run" : reason || `closed with code ${code}`;
    note(this.feedNote, `The live feed stopped: ${why}. Reload the page to reconnect.`, "error");
  }

  drawLog() {
    const type = this.logType.value;
    const node = this.logNode.value.trim();
    const kind = (m) => (m.type === "log" ? m.event : m.type);
    const shown = this.messages.filter((m) => (!type || kind(m) === type) && (!node || (m.node || "").includes(node)));
    const rows = shown.slice(-LOG_ROWS);
    fill(this.logBody, ...rows.map((m) => h("tr", { class: `ev-${kind(m)}` },
      h("td", { class: "num" }, String(m.seq ?? "")),
      h("td", {}, m.timestamp ? new Date(m.timestamp).toLocaleTimeString() : ""),
      h("td", {}, kind(m)), h("td", {}, m.node || ""),
      h("td", { class: "detail" }, summary(m)))));
    this.logCount.textContent = shown.length > rows.length ? `the last ${rows.length} of ${shown.length} events` : `${shown.length} events`;
  }

  showFailure() {
    const f = this.failure;
    const error = (f && f.message) || this.detail.error;
    if (!error || this.status !== "failed") return clear(this.errorEl);
    const where = f ? `at node ${f.node}${f.attempt ? `, attempt ${f.attempt}` : ""}` : "";
    fill(this.errorEl, h("section", { class: "error-box", role: "alert", "aria-label": "run failed" },
      h("h2", {}, `Failed ${where}`), h("p", {}, h("code", {}, this.detail.error_type || (f && f.type) || "error")),
      h("pre", { class: "json" }, error)));
    if (f) this.drawing.node(f.node)?.classList.add("culprit");
  }

  async reloadDetail() {
    try { this.detail = await api.run(this.id); this.showFailure(); } catch { /* the feed already said it */ }
  }

  focusNode(name) {
    this.logNode.value = name;
    this.logType.value = "";
    this.drawLog();
  }

  // -- actions ------------------------------------------------------------------
  async act(what) {
    try {
      if (what === "cancel") {
        await api.cancel(this.id);
        note(this.actionsOut, "Cancelling the run.");
      } else {
        const made = await api.replay(this.id, null);
        location.hash = `#/runs/${encodeURIComponent(made.run_id)}`;
      }
    } catch (err) {
      fill(this.actionsOut, errorList(err));
    }
  }

  async loadInterrupts() {
    let list;
    try { list = await api.interrupts(this.id); } catch (err) { fill(this.interruptsEl, errorList(err)); return; }
    if (!list.interrupts.length) { this.interruptsEl.hidden = true; return; }
    this.interruptsEl.hidden = false;
    fill(this.interruptsEl, h("h2", {}, "Waiting for an answer"),
      ...list.interrupts.map((i) => interruptForm(this.id, i, list.interrupts.length > 1)));
  }
}

function summary(m) {
  if (m.type === "complete") return `${m.status}${m.error ? `: ${m.error}` : ""}`;
  if (m.type === "waiting") return m.interrupt && m.interrupt.payload !== undefined ? JSON.stringify(m.interrupt.payload) : "";
  if (m.type === "error") return m.message || "";
  if (m.error) return m.error;
  const d = m.data || {};
  if (d.append) return JSON.stringify({ ...d.update, ...Object.fromEntries(Object.entries(d.append).map(([k, v]) => [`${k} +=`, v])) });
  if (d.update) return JSON.stringify(d.update);
  if (d.attempt) return `attempt ${d.attempt}${d.duration_ms !== undefined ? `, ${d.duration_ms} ms` : ""}`;
  return Object.keys(d).length ? JSON.stringify(d) : "";
}

function stateLegend() {
  const item = (st) => h("li", {}, h("span", { class: `swatch state-${st}` }), st);
  return h("ul", { class: "legend", "aria-label": "node states" }, ["pending", "running", "done", "failed", "waiting", "retrying"].map(item));
}
