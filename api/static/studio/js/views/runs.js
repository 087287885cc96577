// Runs: newest first, filtered by status (and graph), refreshed while the page is open.
import { api, UNAUTHORIZED } from "../api.js";
import * as auth from "../auth.js";
import { h, fill, field, formatTime } from "../dom.js";
import { banner } from "../ui.js";

export const STATUSES = ["pending", "running", "waiting", "completed", "failed", "cancelled"];
//: The list has no feed of its own: it is re-read this often (ms) while shown.
const REFRESH_MS = 1500;

export async function render(main, query) {
  const params = new URLSearchParams(query || "");
  const graph = params.get("graph");
  const status = h("select", {}, h("option", { value: "" }, "any status"),
    STATUSES.map((st) => h("option", { value: st }, st)));
  status.value = STATUSES.includes(params.get("status")) ? params.get("status") : "";
  const body = h("tbody", { id: "run-list" });
  const count = h("p", { class: "muted", role: "status" });
  let timer = null;
  let stopped = false;
  const load = async () => {
    try {
      const page = await api.runs(status.value || null, graph, 200);
      banner("");
      const items = page.items;
      fill(body, ...items.map((r) => h("tr", { "data-run": r.run_id },
        h("td", {}, h("a", { href: `#/runs/${encodeURIComponent(r.run_id)}` }, r.run_id.slice(0, 8))),
        h("td", {}, r.graph_name),
        h("td", {}, h("span", { class: `status status-${r.status}` }, r.status)),
        h("td", {}, formatTime(r.created_at)),
        h("td", { class: "error-cell" }, r.error || ""))));
      count.textContent = `${items.length} run${items.length === 1 ? "" : "s"}${status.value ? ` ${status.value}` : ""}`;
    } catch (err) {
      if (err.status === UNAUTHORIZED) {
        // Signed out (or never in): the sign-in form replaces the list until it works.
        stopped = true;
        auth.render(main, err, () => window.dispatchEvent(new HashChangeEvent("hashchange")));
        return;
      }
      banner(err.message);
    }
    if (!stopped) timer = setTimeout(load, REFRESH_MS);
  };
  status.addEventListener("change", () => { clearTimeout(timer); load(); });
  fill(main, 
    h("h1", {}, "Runs"),
    h("div", { class: "toolbar" }, field("Status", status),
      graph ? h("p", {}, "of one graph · ", h("a", { href: "#/runs" }, "all runs")) : null),
    count,
    h("div", { class: "scroll-x" }, h("table", { class: "list runs" },
      h("thead", {}, h("tr", {}, ["run", "graph", "status", "created", "error"].map((t) => h("th", {}, t)))), body)));
  await load();
  return () => { stopped = true; clearTimeout(timer); };
}
