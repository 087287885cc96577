// The Studio's only door to the server: the public HTTP API and the WebSocket feed.
// The bearer token (an API key or a JWT, pasted into the sign-in form) is attached here
// and nowhere else: to every request, and to every feed through a single-use ticket.

//: Where the token is kept: this tab's sessionStorage, so it dies with the tab and is
//: never written to disk by the page (a private window may refuse storage: memory then).
const TOKEN_KEY = "actorflow.token";

let token = readToken();

function readToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || null; } catch { return null; }
}

/** Use ``value`` as the bearer token of every later request (null: none; signs out). */
export function setToken(value) {
  token = value || null;
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage refused: the token lives in memory for this page only */ }
}

/** Whether a token is set (the page is signed in). */
export const signedIn = () => token !== null;

function headers(extra) {
  const out = { accept: "application/json", ...extra };
  if (token) out.authorization = `Bearer ${token}`;
  return out;
}

/** An error answer of the API ({"error": {code, message, details}}) or no answer. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details ?? null;
  }
}

export const UNREACHABLE = "unreachable";
//: The status of an answer that needs (other) credentials: the sign-in form takes over.
export const UNAUTHORIZED = 401;

async function request(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { "content-type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, UNREACHABLE,
      `The actorflow server at ${location.origin} is unreachable: is it running? ` +
      "Start it with make run (or actorflow serve), then reload this page.");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const err = data && data.error;
    throw new ApiError(response.status, err ? err.code : `http_${response.status}`,
      err ? err.message : `${method} ${path} answered ${response.status}`,
      err ? err.details : null);
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body ?? {});

const enc = encodeURIComponent;

export const api = {
  health: () => get("/health"),
  whoami: () => get("/api/v1/auth/whoami"),
  wsTicket: () => post("/api/v1/ws-tickets"),
  tools: () => get("/api/v1/tools"),
  graphs: (limit = 200, offset = 0) => get(`/api/v1/graphs?limit=${limit}&offset=${offset}`),
  graph: (id) => get(`/api/v1/graph/${enc(id)}`),
  createGraph: (definition) => post("/api/v1/graph/create", definition),
  validateGraph: (definition) => post("/api/v1/graph/validate", definition),
  startRun: (graphId, initialState) =>
    post("/api/v1/graph/run", { graph_id: graphId, initial_state: initialState || {} }),
  runs: (status, graphId, limit = 100) =>
    get(`/api/v1/runs?limit=${limit}${status ? `&status=${enc(status)}` : ""}${graphId ? `&graph_id=${enc(graphId)}` : ""}`),
  run: (id) => get(`/api/v1/runs/${enc(id)}?logs_limit=1`),
  // Every checkpoint, page by page (the server bounds a page in count and in bytes).
  history: async (id) => {
    const checkpoints = [];
    let after = -1;
    for (;;) {
      const page = await get(`/api/v1/runs/${enc(id)}/history?limit=200&after=${after}`);
      checkpoints.push(...page.checkpoints);
      if (page.next_after === null || page.next_after === undefined) return { ...page, checkpoints };
      after = page.next_after;
    }
  },
  interrupts: (id) => get(`/api/v1/runs/${enc(id)}/interrupts`),
  resume: (id, answer, interruptId) =>
    post(`/api/v1/runs/${enc(id)}/resume`, { answer, interrupt_id: interruptId }),
  cancel: (id) => post(`/api/v1/runs/${enc(id)}/cancel`),
  editState: (id, values, asNode) =>
    post(`/api/v1/runs/${enc(id)}/state`, { values, as_node: asNode || null }),
  fork: (id, step, values) => post(`/api/v1/runs/${enc(id)}/fork`, { step, values }),
  replay: (id, step) => post(`/api/v1/runs/${enc(id)}/replay`, { step: step ?? null }),
};

/**
 * Follow a run's WebSocket feed from ``since``: onMessages([msg, ...]) for each frame
 * (the feed is asked for batch frames, so a replay of thousands of events arrives in a
 * few calls), onClose({code, reason}) once at the end. Reconnects after a lag or a
 * server restart (close codes 1013 and 1012) from the last sequence number seen.
 * When signed in, each socket is opened with a single-use ticket (browsers cannot set
 * an Authorization header on a WebSocket). Returns stop().
 */
export function follow(runId, since, onMessages, onClose) {
  let next = since;
  let stopped = false;
  let socket = null;
  let retries = 0;
  const retry = (code, reason) => {
    if ((code === 1012 || code === 1013 || code === 1006) && retries < 5) {
      retries += 1;
      setTimeout(() => { if (!stopped) open(); }, 500 * retries);
      return;
    }
    onClose({ code, reason });
  };
  const open = async () => {
    let ticket = "";
    if (token) {
      try {
        ticket = `&ticket=${enc((await api.wsTicket()).ticket)}`;
      } catch (err) {
        if (!stopped) onClose({ code: err.status || 1006, reason: err.message });
        return;
      }
    }
    if (stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/graph/ws/${enc(runId)}?since=${next}&batch=true${ticket}`);
    socket.onmessage = (ev) => {
      const frame = JSON.parse(ev.data);
      const messages = frame.type === "batch" ? frame.messages : [frame];
      for (const msg of messages) {
        if (typeof msg.seq === "number" && msg.type !== "complete") next = msg.seq + 1;
      }
      retries = 0;
      onMessages(messages);
    };
    socket.onclose = (ev) => { if (!stopped) retry(ev.code, ev.reason); };
  };
  open();
  return () => {
    stopped = true;
    if (socket) socket.close(1000);
  };
}
