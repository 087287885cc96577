// What every view shows the same way: the banner, a view's error, a busy button.
import { h, fill } from "./dom.js";
import { UNREACHABLE } from "./api.js";

/** Show a problem in the banner (an unreachable server, a failed request). */
export function banner(message) {
  const el = document.getElementById("banner");
  el.textContent = message || "";
  el.hidden = !message;
}

/** A view's error, in the view: what happened and what to do. */
export function showError(main, err, what) {
  const unreachable = err && err.code === UNREACHABLE;
  if (unreachable) banner(err.message);
  const text = unreachable ? "Nothing could be loaded: the server did not answer."
    : `${what ? `${what}: ` : ""}${err && err.message ? err.message : String(err)}`;
  fill(main, h("div", { class: "error-box", role: "alert" },
    h("h1", {}, unreachable ? "Cannot reach the server" : "Something went wrong"), h("p", {}, text),
    h("p", {}, h("a", { href: "#/graphs" }, "Back to the graphs"))));
}

/** A short-lived note in a view (saved, started...), read out by screen readers. */
export function note(el, message, kind = "ok") {
  fill(el, h("p", { class: `note note-${kind}`, role: kind === "error" ? "alert" : "status" }, message));
}

/** Problems of an API error as a list (graph problems, field paths), else its message. */
export function errorList(err) {
  const d = err && err.details;
  const items = d && Array.isArray(d.problems) ? d.problems.map((p) => (typeof p === "string" ? p : p.message))
    : Array.isArray(d) ? d.map((x) => `${x.path}: ${x.message}`) : [];
  return h("div", { class: "note note-error", role: "alert" }, h("p", {}, err.message),
    items.length ? h("ul", {}, items.map((t) => h("li", {}, t))) : null);
}
