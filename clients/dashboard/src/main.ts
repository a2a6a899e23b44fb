// The flowwire dashboard: a live view of workflow runs, on @flowwire/client and its
// execution store. Served by `FlowwireApp(dashboard=True)` under its mount and by
// `flowwire demo` at `/`; built by esbuild (clients/dashboard/build.mjs) into
// asgi_plugin/transport/static/, committed, so that no Node runs on the server.
import { ExecutionStore, FlowwireClient, type ConnectionState, type ExecutionSummary, type ExecutionView, type WorkflowSpec } from "@flowwire/client";
import { byId, h, text } from "./dom.js";
import { Extras } from "./extras.js";
import { GraphView } from "./graph.js";
import { HeaderView } from "./header.js";
import { LogsView } from "./logs.js";
import { PanelView } from "./panel.js";
import { RunsView, type RunEntry } from "./runs.js";
import { TimelineView } from "./timeline.js";

/** Filled in by the server that serves the page (see asgi_plugin/transport/dashboard.py). */
interface Config {
  /** The WebSocket endpoint, relative to the page: `..` under a mount, `ws` in the demo. */
  endpoint: string;
  /** The server takes first-message `auth`: ask for a token. */
  tokenAuth?: boolean;
  /** Sample workflows to offer (the demo): a URL relative to the page. */
  samples?: string;
  /** Topics or patterns to watch and list (default `workflow:*`). */
  topics?: string[];
}

const FINISHED = new Set(["completed", "failed", "stopped"]);
const config = JSON.parse(byId("flowwire-config").textContent || "{}") as Config;
const topics = config.topics ?? ["workflow:*"];

function endpoint(): string {
  const url = new URL(config.endpoint || "..", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (url.pathname.length > 1) url.pathname = url.pathname.replace(/\/$/, "");
  url.search = location.search; // handshake auth by query (`?token=…`) goes along
  url.hash = "";
  return url.href;
}

// -- theme ------------------------------------------------------------------------------

const root = document.documentElement;
const savedTheme = localStorage.getItem("flowwire-theme");
if (savedTheme === "light" || savedTheme === "dark") root.dataset["theme"] = savedTheme;

function toggleTheme(): void {
  const dark = root.dataset["theme"] ? root.dataset["theme"] === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  root.dataset["theme"] = dark ? "light" : "dark";
  localStorage.setItem("flowwire-theme", root.dataset["theme"]);
}

// -- the client, the store and what the views show -------------------------------------

const client = new FlowwireClient(endpoint, {
  autoConnect: false,
  backoff: { baseMs: 250, maxMs: 5_000 },
  ...(config.tokenAuth ? { token: askToken } : {}),
  onError: (error, context) => {
    if (context.kind !== "listener") notice(String(error instanceof Error ? error.message : error));
    else console.error("flowwire dashboard:", error);
  },
});
const store = new ExecutionStore(client, { maxLogs: 1, maxFinished: 200 });
const listed = new Map<string, ExecutionSummary>();
let selectedRun: string | null = new URLSearchParams(location.hash.slice(1)).get("run");
let selectedNode: string | null = null;
let now = Date.now();

const stats = { events: 0, renders: 0, renderMs: 0, lastRenderMs: 0, firstGraphAt: 0, layoutMs: 0 };
const connectionLog: string[] = [];
const extras = new Extras(client, () => schedule(), (id, edge) => {
  if (id === selectedRun) graph.flow(edge);
});
client.on("*", () => stats.events++);

const graph = new GraphView((nodeId) => selectNode(nodeId));
const header = new HeaderView(client);
const timeline = new TimelineView();
const logs = new LogsView();
const panel = new PanelView(() => selectNode(null));
const runs = new RunsView((id) => selectRun(id));

function selectRun(id: string | null): void {
  selectedRun = id;
  selectedNode = null;
  history.replaceState(null, "", id ? `#run=${encodeURIComponent(id)}` : location.pathname + location.search);
  if (id && !store.get(id)) void load(id);
  if (id) {
    const topic = store.get(id)?.topic ?? listed.get(id)?.topic;
    // The selected run's topic by name: after a reconnect it resumes by seq (every event,
    // tokens and logs too), where the pattern alone would bring a snapshot.
    if (topic) client.subscribe(topic).catch((error: unknown) => notice(String(error)));
  }
  render();
}

function selectNode(id: string | null): void {
  const previous = selectedNode;
  selectedNode = id;
  render();
  if (id) panel.element.focus();
  else if (previous) graph.focusNode(previous);
}

/** A finished run this page has not seen: its state from `list` with its graph. */
async function load(id: string): Promise<void> {
  const topic = listed.get(id)?.topic;
  const { executions } = await client.list({ topics: topic ? [topic] : topics, nodes: true, limit: 1000 });
  const found = executions.find((e) => e.execution_id === id);
  if (found && !store.get(id)) store.apply({ ...found, type: "execution.snapshot", nodes: found.nodes ?? {}, edges: found.edges ?? [] });
}

/** The runs list: what `list` says, then whatever this page saw since. */
async function refreshList(): Promise<void> {
  const { executions } = await client.list({ topics, limit: 200 });
  listed.clear();
  for (const e of executions) listed.set(e.execution_id, e);
  // A run this page shows as live that the server says finished while the page was away
  // (a topic seen only through the pattern has no replay): take the server's final state.
  const stale = executions.filter((e) => FINISHED.has(e.status) && store.get(e.execution_id) && !FINISHED.has(store.get(e.execution_id)?.status ?? ""));
  for (const topic of new Set(stale.map((e) => e.topic))) {
    const full = await client.list({ topics: [topic], nodes: true, limit: 1000 });
    for (const e of full.executions) {
      const view = store.get(e.execution_id);
      if (view && !FINISHED.has(view.status) && FINISHED.has(e.status)) store.apply({ ...e, type: "execution.snapshot", nodes: e.nodes ?? {}, edges: e.edges ?? [] });
    }
  }
  if (selectedRun === null) {
    const newest = [...entries()].sort((a, b) => (b.started_ts ?? 0) - (a.started_ts ?? 0))[0];
    if (newest) selectRun(newest.execution_id);
  } else if (!store.get(selectedRun)) void load(selectedRun);
  schedule();
}

function entries(): RunEntry[] {
  const all = new Map<string, RunEntry>(listed);
  for (const view of store.list()) all.set(view.execution_id, view);
  return [...all.values()];
}

// -- the connection indicator: hidden while healthy -------------------------------------

const indicator = h("div", { id: "connection", role: "status", "aria-live": "polite", hidden: true });
let wasOpen = false;
let hideTimer: ReturnType<typeof setTimeout> | undefined;

function showConnection(state: ConnectionState): void {
  clearTimeout(hideTimer);
  let label = "";
  let kind: string = state.status;
  if (state.status === "open") {
    if (wasOpen) {
      kind = "resynchronised";
      label = "Reconnected and resynchronised";
      hideTimer = setTimeout(() => {
        indicator.hidden = true;
        indicator.dataset["state"] = "open";
      }, 4000);
    }
    wasOpen = true;
    void refreshList().catch((error: unknown) => notice(String(error)));
  } else if (state.status === "connecting") label = state.attempt ? `Connecting (attempt ${state.attempt + 1})…` : "Connecting…";
  else if (state.status === "reconnecting") label = `Reconnecting (attempt ${state.attempt})…`;
  else label = `Disconnected${state.closeReason ? `: ${state.closeReason}` : ""}`;
  connectionLog.push(kind === "reconnecting" ? `reconnecting ${state.attempt}` : kind);
  indicator.dataset["state"] = kind;
  text(indicator, label);
  indicator.hidden = label === "" || (kind === "connecting" && !state.attempt);
}
client.onStatus(showConnection);

// -- notices (errors no command waits for) ---------------------------------------------

const notices = h("div", { id: "notices", role: "alert" });
function notice(message: string): void {
  const line = h("p", {}, message);
  notices.append(line);
  setTimeout(() => line.remove(), 10_000);
}

// -- rendering: at most once a frame, only what changed ---------------------------------

let scheduled = false;
function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
}
store.subscribe(schedule);

function render(): void {
  const started = performance.now();
  if (selectedRun === null) {
    // The newest live run; else the newest seen (a run may start and finish between two
    // frames: it is still the one to show).
    const views = store.list();
    const newest = views.filter((v) => !FINISHED.has(v.status)).at(-1) ?? views.at(-1);
    if (newest) selectedRun = newest.execution_id;
  }
  const run: ExecutionView | undefined = selectedRun ? store.get(selectedRun) : undefined;
  const more = selectedRun ? extras.get(selectedRun) : undefined;
  if (selectedNode && !run?.nodes.has(selectedNode)) selectedNode = null;
  runs.update(entries(), selectedRun);
  header.update(run, now);
  graph.update(run, more, selectedNode);
  timeline.update(run, more, now);
  logs.update(run, more);
  panel.update(run, more, selectedNode);
  main.dataset["run"] = run?.execution_id ?? "";
  const elapsed = performance.now() - started;
  stats.renders++;
  stats.renderMs += elapsed;
  stats.lastRenderMs = elapsed;
  if (!stats.firstGraphAt && run && run.nodes.size) {
    stats.firstGraphAt = performance.now();
    stats.layoutMs = graph.layoutMs;
  }
}

// Durations and running bars move with the clock, once a second while a run is live.
setInterval(() => {
  const run = selectedRun ? store.get(selectedRun) : undefined;
  if (run && !FINISHED.has(run.status)) {
    now = Date.now();
    schedule();
  }
}, 1000);

// -- the page ---------------------------------------------------------------------------

const themeButton = h("button", { type: "button", id: "theme", class: "icon", "aria-label": "Switch between light and dark", title: "Light / dark" }, "◐");
themeButton.onclick = toggleTheme;
const samples = h("div", { class: "samples", id: "samples" });
const main = h("main", { class: "main" }, header.element, graph.element, h("div", { class: "below" }, timeline.element, logs.element));
byId("app").replaceChildren(
  h("header", { class: "top" }, h("span", { class: "brand" }, "flowwire"), indicator, themeButton),
  h("div", { class: "side" }, runs.element, samples),
  main,
  panel.element,
  notices,
);

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && selectedNode) selectNode(null);
});

if (config.samples) {
  void fetch(new URL(config.samples, location.href))
    .then((response) => response.json() as Promise<WorkflowSpec[]>)
    .then((workflows) => {
      samples.replaceChildren(
        h("h2", {}, "Run a sample"),
        ...workflows.map((workflow) => {
          const button = h("button", { type: "button", "data-sample": workflow.id }, workflow.name ?? workflow.id);
          button.onclick = () => {
            client.execute(workflow).then(
              (result) => selectRun(result.execution_id),
              (error: unknown) => notice(String(error)),
            );
          };
          return button;
        }),
      );
    });
}

async function askToken(): Promise<string | null> {
  const saved = sessionStorage.getItem("flowwire-token");
  if (saved && !askToken.refused) {
    askToken.refused = true; // a second call means the server refused it
    return saved;
  }
  const token = prompt("Token for this flowwire server");
  if (token) sessionStorage.setItem("flowwire-token", token);
  return token;
}
askToken.refused = false;

client.connect();
client.subscribe(topics).catch((error: unknown) => notice(String(error)));
render();

// For the tests and the benchmark: what the page holds and how long rendering took.
(window as unknown as { flowwireDashboard: unknown }).flowwireDashboard = { client, store, stats, connectionLog, render, select: selectRun };
