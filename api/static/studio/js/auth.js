// Signing in. A server with authentication on answers 401 until the page sends an API
// key or a token (JWT): this form takes one, checks it (GET /api/v1/auth/whoami) and
// hands it to api.js, which keeps it in this tab only. The header says who is signed
// in and offers to sign out.
import { api, setToken, signedIn } from "./api.js";
import { h, fill, field } from "./dom.js";

/** The sign-in form in ``main``; ``done()`` runs once the server accepts the key. */
export function render(main, err, done) {
  const input = h("input", { type: "password", autocomplete: "off", spellcheck: "false", name: "token" });
  const out = h("div");
  const submit = async (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    if (!value) {
      fill(out, h("p", { class: "note note-error", role: "alert" }, "Paste an API key or a token first."));
      return;
    }
    setToken(value);
    let who;
    try {
      who = await api.whoami();
    } catch (e) {
      setToken(null);
      showWho(null);
      input.setAttribute("aria-invalid", "true");
      fill(out, h("div", { class: "note note-error", role: "alert" },
        h("p", {}, e.status === 401 ? "The server refused this key or token." : "Signing in failed."),
        h("p", {}, e.message)));
      input.focus();
      return;
    }
    showWho(who);
    done();
  };
  const refused = signedIn() && err && err.status === 401;
  if (refused) setToken(null);   // it stopped working (revoked, expired): ask again
  showWho(null);
  fill(main, h("section", { class: "panel signin", "aria-labelledby": "signin-h" },
    h("h1", { id: "signin-h" }, "Sign in"),
    h("p", {}, "This server needs an API key or a token. Paste yours to use the Studio; ",
      "it is kept in this browser tab only and sent to this server alone."),
    refused ? h("p", { class: "note note-error", role: "alert" }, `The server no longer accepts the key you signed in with: ${err.message}`) : null,
    h("form", { onSubmit: submit },
      field("API key or token", input, "An API key (actorflow keys create) or a JWT, as an Authorization: Bearer header would carry it."),
      h("button", { type: "submit", class: "primary" }, "Sign in")),
    out));
  input.focus();
}

/** The header's account area: who is signed in and a sign-out button, or nothing. */
export function showWho(who) {
  const el = document.getElementById("who");
  if (!who || !signedIn()) { fill(el); el.hidden = true; return; }
  el.hidden = false;
  fill(el, h("span", { class: "who-name" }, `Signed in as ${who.subject}`,
    who.tenant ? ` (${who.tenant})` : ""),
  h("button", { type: "button", class: "link", onClick: signOut }, "Sign out"));
}

function signOut() {
  setToken(null);
  showWho(null);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

/** On load: name the signed-in account (a stale token is dropped by the first 401). */
export async function greet() {
  if (!signedIn()) return;
  try { showWho(await api.whoami()); } catch { showWho(null); }
}
