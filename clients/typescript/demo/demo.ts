// The demo page's script (asgi_plugin/demo/static/demo.html): @flowwire/client and its
// execution store drive the view. Built into asgi_plugin/demo/static/demo.js by
// `npm run build:demo` (esbuild); the built file is committed and checked for staleness.
import { ExecutionStore, FlowwireClient, type ExecutionView, type JsonValue, type WorkflowSpec } from "../src/index.js";

const $ = (id: string): HTMLElement => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing`);
  return element;
};

const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
const client = new FlowwireClient(url, { onError: (error, context) => note(context.kind === "listener" ? "error" : "warning", String(error)) });
const store = new ExecutionStore(client);
const order: string[] = []; // runs in the order they first appeared
const names = new Map<string, string>();
const notes: { level: string; message: string }[] = [];
let selected: string | null = null;

client.onStatus((state) => {
  const connection = $("connection");
  if (state.status === "open") {
    connection.textContent = `connected · ${state.server ?? ""}`;
    connection.className = "open";
  } else {
    const code = state.closeCode === undefined ? "" : ` (${state.closeCode})`;
    connection.textContent = state.status === "closed" ? `closed${code}` : `disconnected${code}; reconnecting…`;
    connection.className = "closed";
  }
});
// Every workflow topic; after a reconnect the snapshots of live runs rebuild the view.
client.subscribe("workflow:*").catch((error: unknown) => note("error", String(error)));
store.subscribe(() => {
  for (const run of store.list()) {
    if (!order.includes(run.execution_id)) order.push(run.execution_id);
    selected ??= run.execution_id;
  }
  render();
});

function note(level: string, message: string): void {
  notes.push({ level, message });
  render();
}

function render(): void {
  const runs = order.map((id) => store.get(id)).filter((run): run is ExecutionView => run !== undefined);
  $("runs").replaceChildren(
    ...runs.map((run) => {
      const button = document.createElement("button");
      button.textContent = `${names.get(run.execution_id) ?? run.name ?? run.workflow_id} · ${run.status}`;
      button.dataset["execution"] = run.execution_id;
      button.className = run.execution_id === selected ? "selected" : "";
      button.onclick = () => {
        selected = run.execution_id;
        render();
      };
      return button;
    }),
  );
  const run = selected === null ? undefined : store.get(selected);
  $("view").hidden = !run;
  $("empty").hidden = !!run;
  if (!run) return;
  $("title").textContent = names.get(run.execution_id) ?? run.name ?? run.workflow_id;
  $("status").textContent = run.status;
  $("status").dataset["status"] = run.status;
  $("progress").style.width = `${run.progress.percent}%`;
  const eta = run.progress.eta_ms;
  $("eta").textContent = eta ? `· about ${Math.ceil(eta / 1000)} s left` : "";
  ($("pause") as HTMLButtonElement).disabled = run.status !== "running";
  ($("resume") as HTMLButtonElement).disabled = run.status !== "paused";
  ($("stop") as HTMLButtonElement).disabled = run.status !== "running" && run.status !== "paused";
  $("prompt").style.display = run.waiting ? "block" : "none";
  $("prompt-text").textContent = run.waiting?.prompt ?? "";
  $("nodes").replaceChildren(
    ...[...run.nodes.values()].map((node) => {
      const box = document.createElement("div");
      box.className = `node ${node.status}`;
      box.dataset["node"] = node.id;
      box.dataset["status"] = node.status;
      const percent = node.progress != null ? ` · ${Math.round(node.progress * 100)}%` : "";
      const attempt = (node.attempt ?? 1) > 1 ? ` · attempt ${node.attempt}` : "";
      const error = node.error ? ` · ${node.error.message}` : "";
      for (const [name, text] of [["name", node.name ?? node.id], ["meta", `${node.kind ?? ""} ${node.status}${percent}${attempt}${error}`], ["tokens", node.text]] as const) {
        const part = document.createElement("div");
        part.className = name;
        part.textContent = text;
        box.append(part);
      }
      return box;
    }),
  );
  const lines = [...run.logs, ...(run.error ? [{ level: "error", message: run.error.message }] : []), ...notes];
  $("log").replaceChildren(
    ...lines.slice(-100).map((entry) => {
      const line = document.createElement("div");
      line.className = entry.level;
      line.textContent = `${"node_id" in entry && entry.node_id ? `[${entry.node_id}] ` : ""}${entry.message}`;
      return line;
    }),
  );
}

async function runSample(workflow: WorkflowSpec): Promise<void> {
  const { execution_id } = await client.execute(workflow);
  names.set(execution_id, workflow.name ?? workflow.id);
  selected = execution_id;
  if (!order.includes(execution_id)) order.push(execution_id);
  render();
}

function control(action: "pause" | "resume" | "stop"): void {
  if (selected) client.control(selected, action).catch((error: unknown) => note("error", String(error)));
}

$("pause").onclick = () => control("pause");
$("resume").onclick = () => control("resume");
$("stop").onclick = () => control("stop");
$("prompt-send").onclick = () => {
  const run = selected === null ? undefined : store.get(selected);
  if (!run?.waiting) return;
  const raw = ($("prompt-value") as HTMLInputElement).value;
  let value: JsonValue = raw;
  try {
    value = JSON.parse(raw) as JsonValue;
  } catch {
    // a plain string
  }
  client.input(run.execution_id, run.waiting.node_id, value).catch((error: unknown) => note("error", String(error)));
};

void fetch("api/workflows")
  .then((response) => response.json() as Promise<WorkflowSpec[]>)
  .then((workflows) => {
    $("samples").replaceChildren(
      ...workflows.map((workflow) => {
        const card = document.createElement("div");
        card.className = "sample";
        const title = document.createElement("div");
        title.textContent = workflow.name ?? workflow.id;
        const button = document.createElement("button");
        button.textContent = "Run";
        button.dataset["sample"] = workflow.id;
        button.onclick = () => void runSample(workflow).catch((error: unknown) => note("error", String(error)));
        card.append(title, button);
        return card;
      }),
    );
  });
