// The Studio's router: each view is a #fragment of the one page, so links, the back
// button and reloads all work, and the server serves a single HTML file.
import { h, fill } from "./dom.js";
import { banner, showError } from "./ui.js";
import { UNAUTHORIZED } from "./api.js";
import * as auth from "./auth.js";
import * as graphs from "./views/graphs.js";
import * as editor from "./views/editor.js";
import * as runs from "./views/runs.js";
import * as run from "./views/run.js";

const routes = [
  [/^#\/graphs\/(.+)$/, graphs.detail, "graphs"],
  [/^#\/graphs\/?$/, graphs.list, "graphs"],
  [/^#\/editor\/(.+)$/, editor.render, "editor"],
  [/^#\/editor\/?$/, editor.render, "editor"],
  [/^#\/runs\/?(?:\?(.*))?$/, runs.render, "runs"],
  [/^#\/runs\/(.+)$/, run.render, "runs"],
];

let cleanup = null;
let generation = 0;

async function route() {
  const hash = location.hash || "#/graphs";
  const main = document.getElementById("view");
  if (cleanup) { try { cleanup(); } catch { /* a view's cleanup failing must not stop navigation */ } }
  cleanup = null;
  banner("");
  delete main.dataset.feed;   // set by the run view once a finished run is all drawn
  const mine = ++generation;
  for (const [pattern, view, nav] of routes) {
    const m = hash.match(pattern);
    if (!m) continue;
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a.dataset.nav === nav) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    fill(main, h("p", { class: "muted" }, "Loading…"));
    try {
      const done = await view(main, m[1] ? decodeURIComponent(m[1]) : null, { stale: () => mine !== generation });
      if (mine === generation) cleanup = done || null; else if (done) done();
    } catch (err) {
      if (mine !== generation) return;
      if (err && err.status === UNAUTHORIZED) auth.render(main, err, () => route());
      else showError(main, err);
    }
    return;
  }
  fill(main, h("div", { class: "error-box", role: "alert" }, h("h1", {}, "No such page"),
    h("p", {}, `Nothing lives at ${hash}.`), h("p", {}, h("a", { href: "#/graphs" }, "Go to the graphs"))));
}

// After a navigation the new view's heading gets the focus, so keyboard and screen
// reader users start at the top of what changed, not on the link they followed.
window.addEventListener("hashchange", async () => {
  await route();
  const heading = document.querySelector("#view h1");
  if (heading && !document.querySelector("#view").contains(document.activeElement)) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
});
if (!location.hash) history.replaceState(null, "", "#/graphs");
auth.greet();
route();
