import type { FlowwireClient, ResetEvent } from "./client.js";
import type {
  EdgeInfo,
  ErrorInfo,
  ExecutionSnapshot,
  ExecutionStatusValue,
  JsonValue,
  LogLine,
  NodeSnapshot,
  NodeStatusValue,
  NodeUsage,
  PendingInput,
  ProgressSnapshot,
  StreamEvent,
  Summary,
  UsageTotals,
} from "./protocol.js";

/** One node as a UI shows it: the server's NodeSnapshot fields plus what streamed. */
export interface NodeView {
  readonly id: string;
  readonly status: NodeStatusValue;
  readonly name?: string;
  readonly kind?: string;
  readonly attempt?: number;
  readonly progress?: number;
  readonly started_ts?: number;
  readonly finished_ts?: number;
  readonly duration_ms?: number;
  readonly error?: ErrorInfo;
  /** The node's output, from its `succeeded` status. */
  readonly output?: JsonValue;
  /** Its `node.token` deltas, joined (a view started from a snapshot has the most recent
   * 2,048 of what streamed before it, and `tokens_omitted` says how many it lacks). */
  readonly text: string;
  readonly tokens_omitted?: number;
  /** Its `node.usage` events, summed. */
  readonly usage?: UsageTotals;
}

/** An input request nobody has answered yet: answer it with `client.input`. */
export interface WaitingInput extends PendingInput {
  readonly execution_id: string;
}

/** The log lines a server's snapshot carries (the most recent). */
const SNAPSHOT_LOGS = 100;

/** One execution's state. Immutable: every change makes a new object (and a new `nodes`
 * map when a node changed), so React and other renderers compare by reference. */
export interface ExecutionView {
  readonly topic: string;
  readonly workflow_id: string;
  readonly execution_id: string;
  readonly status: ExecutionStatusValue;
  readonly name?: string;
  readonly nodes: ReadonlyMap<string, NodeView>;
  readonly edges: readonly EdgeInfo[];
  /** The engine's last `execution.progress` (with `eta_ms` when it estimated one), else
   * what the node statuses say: the same rule as the server's snapshots. */
  readonly progress: ProgressSnapshot;
  readonly started_ts?: number;
  readonly finished_ts?: number;
  readonly error?: ErrorInfo;
  /** Seq and ts of the last state-changing event folded in (as in the server's state). */
  readonly last_seq: number;
  readonly ts: number;
  /** The last `maxLogs` (500) `execution.log` events. */
  readonly logs: readonly LogLine[];
  /** Log lines before `logs` this view does not hold. */
  readonly logs_omitted: number;
  /** Every `node.usage`, summed (`cost` over the events that gave one). */
  readonly usage?: UsageTotals;
  /** The input requests nobody has answered yet, oldest first. */
  readonly inputs: readonly WaitingInput[];
  /** The latest of `inputs`: the node waiting for an `input` command, while it waits. */
  readonly waiting?: WaitingInput;
  readonly duration_ms?: number;
  readonly summary?: Summary;
  readonly outputs?: { [key: string]: JsonValue };
}

interface State extends ExecutionView {
  /** The engine's own progress report, if any (else progress is derived). */
  readonly reported?: ProgressSnapshot;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

const TERMINAL_NODE = new Set<string>(["succeeded", "failed", "skipped", "cancelled"]);
const FINISHED = new Set<string>(["completed", "failed", "stopped"]);

/** Usage so far plus one `node.usage`: the server's rule (wsproto_schema UsageTotals.add). */
function addUsage(before: UsageTotals | undefined, event: NodeUsage): UsageTotals {
  const cost = event.cost == null ? before?.cost : (before?.cost ?? 0) + event.cost;
  return defined<UsageTotals>({
    prompt_tokens: (before?.prompt_tokens ?? 0) + event.prompt_tokens,
    completion_tokens: (before?.completion_tokens ?? 0) + event.completion_tokens,
    total_tokens: (before?.total_tokens ?? 0) + event.total_tokens,
    cost,
  });
}

/** `list` plus `item`, keeping the last `max` (and how many that dropped). */
function appendBounded<T>(list: readonly T[], item: T, max: number): [T[], number] {
  const next = [...list, item];
  const drop = Math.max(0, next.length - Math.max(1, max));
  return [next.slice(drop), drop];
}

function withInputs(state: Writable<State>, inputs: readonly WaitingInput[]): void {
  state.inputs = inputs;
  const last = inputs[inputs.length - 1];
  if (last) state.waiting = last;
  else delete state.waiting;
}
const EXECUTION_STATUS: { [type: string]: ExecutionStatusValue } = {
  "execution.paused": "paused",
  "execution.resumed": "running",
  "execution.stopped": "stopped",
  "execution.completed": "completed",
  "execution.failed": "failed",
};

/** Python's `round(x, 2)`: to the nearest, ties (exact in binary) to even. */
function round2(x: number): number {
  const scaled = x * 100;
  const floor = Math.floor(scaled);
  if (scaled - floor === 0.5 && Number.isInteger(x * 8)) return (floor % 2 === 0 ? floor : floor + 1) / 100;
  return Number(x.toFixed(2));
}

function derivedProgress(nodes: ReadonlyMap<string, NodeView>): ProgressSnapshot {
  let done = 0;
  const running: string[] = [];
  for (const [id, node] of nodes) {
    if (TERMINAL_NODE.has(node.status)) done++;
    if (node.status === "running") running.push(id);
  }
  const total = nodes.size;
  return { completed: done, total, percent: total ? round2((100 * done) / total) : 0, running };
}

/** `object` without its null and undefined fields (the wire omits unset fields). */
function defined<T extends object>(object: { [K in keyof T]: T[K] | undefined | null }): T {
  for (const key of Object.keys(object) as (keyof T)[]) if (object[key] == null) delete object[key];
  return object as T;
}

function fresh(event: { topic: string; workflow_id: string; execution_id: string }): State {
  return {
    topic: event.topic,
    workflow_id: event.workflow_id,
    execution_id: event.execution_id,
    status: "running",
    nodes: new Map(),
    edges: [],
    progress: { completed: 0, total: 0, percent: 0, running: [] },
    last_seq: 0,
    ts: 0,
    logs: [],
    logs_omitted: 0,
    inputs: [],
  };
}

function withProgress(state: Writable<State>): State {
  state.progress = state.reported ?? derivedProgress(state.nodes);
  return state;
}

/** Events that change an execution's state (the server's materializer folds these). */
const STATEFUL = new Set<string>([
  "execution.started",
  "node.status",
  "execution.progress",
  "execution.paused",
  "execution.resumed",
  "execution.stopped",
  "execution.completed",
  "execution.failed",
  "node.usage",
  "input.requested",
  "input.received",
]);

/**
 * The reducer: one event folded into one execution's state, following the server's
 * materializer rule for rule (asgi_plugin/core/materializer.py), plus what only streams
 * (logs, tokens, usage, the input a node waits for). Returns a new state, or the same
 * one when nothing changed.
 */
export function reduce(previous: ExecutionView | undefined, event: StreamEvent, maxLogs = 500): ExecutionView | undefined {
  if (!previous && !STATEFUL.has(event.type)) return previous;
  // A finished execution does not move: only a new run under the same id changes it.
  if (previous && FINISHED.has(previous.status) && event.type !== "execution.started") return previous;
  const state: Writable<State> = { ...((previous as State | undefined) ?? fresh(event)) };
  if (STATEFUL.has(event.type)) {
    state.last_seq = event.seq;
    state.ts = event.ts;
  }
  switch (event.type) {
    case "execution.started": {
      state.status = "running";
      state.started_ts = event.ts;
      state.nodes = new Map(event.nodes.map((node) => [node.id, defined<NodeView>({ id: node.id, status: "pending", name: node.name, kind: node.kind, text: "" })]));
      state.edges = event.edges;
      state.logs = [];
      state.logs_omitted = 0;
      state.inputs = [];
      for (const key of ["name", "finished_ts", "error", "reported", "waiting", "usage", "duration_ms", "summary", "outputs"] as const) delete state[key];
      if (event.name != null) state.name = event.name;
      return withProgress(state);
    }
    case "node.status": {
      const nodes = new Map(state.nodes);
      const node: Writable<NodeView> = { ...(nodes.get(event.node_id) ?? { id: event.node_id, status: "pending", text: "" }) };
      if (event.status === "running" && node.status !== "running") {
        node.started_ts = event.ts;
        delete node.finished_ts;
        delete node.error;
        delete node.duration_ms;
      }
      node.status = event.status;
      if (event.attempt != null) node.attempt = event.attempt;
      if (event.progress != null) node.progress = event.progress;
      if (event.duration_ms != null) node.duration_ms = event.duration_ms;
      if (event.error != null) node.error = event.error;
      if (event.output !== undefined) node.output = event.output;
      if (TERMINAL_NODE.has(event.status)) {
        node.finished_ts = event.ts;
        if (event.status === "succeeded") node.progress = 1;
      }
      nodes.set(event.node_id, node);
      state.nodes = nodes;
      if (event.status !== "running" && state.inputs.some((input) => input.node_id === event.node_id)) {
        withInputs(state, state.inputs.filter((input) => input.node_id !== event.node_id));
      }
      return withProgress(state);
    }
    case "execution.progress":
      state.reported = defined<ProgressSnapshot>({
        completed: event.completed,
        total: event.total,
        percent: event.percent,
        running: [...event.running],
        eta_ms: event.eta_ms,
      });
      return withProgress(state);
    case "execution.paused":
    case "execution.resumed":
    case "execution.stopped":
    case "execution.completed":
    case "execution.failed":
      state.status = EXECUTION_STATUS[event.type] ?? state.status;
      if (FINISHED.has(state.status)) {
        state.finished_ts = event.ts;
        withInputs(state, []);
      }
      if (event.type === "execution.failed") state.error = event.error;
      if (event.type === "execution.failed" || event.type === "execution.completed") {
        state.duration_ms = event.duration_ms;
        state.summary = event.summary;
      }
      if (event.type === "execution.completed" && event.outputs != null) state.outputs = event.outputs;
      return state;
    case "execution.log": {
      const line = defined<LogLine>({ seq: event.seq, ts: event.ts, level: event.level, message: event.message, node_id: event.node_id, context: event.context });
      const [logs, dropped] = appendBounded(state.logs, line, maxLogs);
      state.logs = logs;
      state.logs_omitted += dropped;
      return state;
    }
    case "node.token": {
      const node = state.nodes.get(event.node_id);
      if (!node) return previous; // a node the graph does not have: nothing to show it in
      const nodes = new Map(state.nodes);
      nodes.set(event.node_id, { ...node, text: node.text + event.delta });
      state.nodes = nodes;
      return state;
    }
    case "node.usage": {
      state.usage = addUsage(state.usage, event);
      const node = event.node_id == null ? undefined : state.nodes.get(event.node_id);
      if (node) {
        const nodes = new Map(state.nodes);
        nodes.set(node.id, { ...node, usage: addUsage(node.usage, event) });
        state.nodes = nodes;
      }
      return state;
    }
    case "input.requested": {
      const request = defined<WaitingInput>({ execution_id: event.execution_id, node_id: event.node_id, prompt: event.prompt, input_schema: event.input_schema, ts: event.ts });
      withInputs(state, [...state.inputs.filter((input) => input.node_id !== event.node_id), request]);
      return state;
    }
    case "input.received":
      withInputs(state, state.inputs.filter((input) => input.node_id !== event.node_id));
      return state;
    default:
      return previous; // edge.flow, branch.started and unknown types change no state
  }
}

/** An execution's state from its `execution.snapshot`: everything a view shows, with the
 * most recent token text and log lines (it says how many it leaves out). */
export function fromSnapshot(snapshot: ExecutionSnapshot): ExecutionView {
  const nodes = new Map<string, NodeView>();
  for (const [id, node] of Object.entries(snapshot.nodes)) nodes.set(id, defined<NodeView>({ ...node, id, text: node.text ?? "" }));
  const progress = defined<ProgressSnapshot>({ ...snapshot.progress, running: snapshot.progress.running ?? [] });
  const derived = derivedProgress(nodes);
  const state: Writable<State> = defined<Writable<State>>({
    ...fresh(snapshot),
    status: snapshot.status,
    name: snapshot.name,
    nodes,
    edges: snapshot.edges ?? [],
    progress,
    started_ts: snapshot.started_ts,
    finished_ts: snapshot.finished_ts,
    error: snapshot.error,
    last_seq: snapshot.last_seq,
    ts: snapshot.ts,
    duration_ms: snapshot.duration_ms,
    summary: snapshot.summary,
    outputs: snapshot.outputs,
    usage: snapshot.usage,
    logs: snapshot.logs ?? [],
    logs_omitted: snapshot.logs_omitted ?? 0,
  });
  withInputs(state, (snapshot.inputs ?? []).map((input) => ({ ...input, execution_id: snapshot.execution_id })));
  // Whether the engine reported this progress or the server derived it is not on the
  // wire: derived if the node statuses give the same, else reported.
  const same =
    derived.completed === progress.completed &&
    derived.total === progress.total &&
    derived.percent === progress.percent &&
    progress.eta_ms === undefined &&
    (derived.running ?? []).join("\n") === (progress.running ?? []).join("\n");
  if (!same) state.reported = progress;
  return state;
}

/** The view as the server's `execution.snapshot` would show it (for comparisons). */
export function toSnapshot(view: ExecutionView): ExecutionSnapshot {
  const nodes: { [id: string]: NodeSnapshot } = {};
  for (const [id, node] of view.nodes) {
    nodes[id] = defined<NodeSnapshot>({
      status: node.status,
      name: node.name,
      kind: node.kind,
      attempt: node.attempt,
      progress: node.progress,
      started_ts: node.started_ts,
      finished_ts: node.finished_ts,
      duration_ms: node.duration_ms,
      error: node.error,
      output: node.output,
      text: node.text || undefined,
      tokens_omitted: node.tokens_omitted,
      usage: node.usage,
    });
  }
  const progress = defined<ProgressSnapshot>({ ...view.progress });
  const logs = view.logs.slice(-SNAPSHOT_LOGS);
  const omitted = view.logs_omitted + view.logs.length - logs.length;
  if (!progress.running?.length) delete progress.running;
  const snapshot = defined<ExecutionSnapshot>({
    type: "execution.snapshot" as const,
    topic: view.topic,
    workflow_id: view.workflow_id,
    execution_id: view.execution_id,
    ts: view.ts,
    status: view.status,
    name: view.name,
    nodes,
    edges: view.edges.length ? [...view.edges] : undefined,
    progress,
    started_ts: view.started_ts,
    finished_ts: view.finished_ts,
    error: view.error,
    duration_ms: view.duration_ms,
    summary: view.summary,
    outputs: view.outputs,
    usage: view.usage,
    inputs: view.inputs.length ? view.inputs.map(({ execution_id: _, ...input }) => input) : undefined,
    logs: logs.length ? logs : undefined,
    logs_omitted: omitted || undefined,
    last_seq: view.last_seq,
  });
  return snapshot;
}

export interface StoreOptions {
  /** Log lines kept per execution (default 500). */
  maxLogs?: number;
  /** Finished executions kept, the oldest dropped first (default 100). */
  maxFinished?: number;
}

/**
 * Every execution a client sees, folded from its events and snapshots. `subscribe` is
 * called after each change; `get(id)` and `list()` return the same objects until their
 * execution changes (ready for React's useSyncExternalStore).
 */
export class ExecutionStore {
  private readonly executions = new Map<string, ExecutionView>();
  private readonly listeners = new Set<() => void>();
  private readonly options: StoreOptions;
  private listed: readonly ExecutionView[] | null = null;

  /** With a client: folds everything it receives (see `attach`). */
  constructor(client?: FlowwireClient, options: StoreOptions = {}) {
    this.options = options;
    if (client) this.attach(client);
  }

  /** Fold the client's events, snapshots and resets; returns the detach function. */
  attach(client: FlowwireClient): () => void {
    const off = [
      client.on("*", (event) => this.apply(event)),
      client.on("execution.snapshot", (snapshot) => this.apply(snapshot)),
      client.on("reset", (reset) => this.apply(reset)),
    ];
    return () => off.forEach((detach) => detach());
  }

  /** Fold one event, snapshot or reset. */
  apply(frame: StreamEvent | ExecutionSnapshot | ResetEvent): void {
    if (frame.type === "reset") {
      let changed = false;
      for (const [id, view] of this.executions) {
        if (view.topic === frame.topic) changed = this.executions.delete(id);
      }
      if (changed) this.changed();
      return;
    }
    const previous = this.executions.get(frame.execution_id);
    const next = frame.type === "execution.snapshot" ? fromSnapshot(frame) : reduce(previous, frame, this.options.maxLogs);
    if (!next || next === previous) return;
    const finishing = FINISHED.has(next.status) && (!previous || !FINISHED.has(previous.status));
    if (finishing) this.executions.delete(frame.execution_id); // finished ones in the order they finished
    this.executions.set(frame.execution_id, next);
    if (finishing) this.trim();
    this.changed();
  }

  get(executionId: string): ExecutionView | undefined {
    return this.executions.get(executionId);
  }

  list(): readonly ExecutionView[] {
    return (this.listed ??= [...this.executions.values()]);
  }

  /** The execution as the server's snapshot would show it. */
  snapshot(executionId: string): ExecutionSnapshot | undefined {
    const view = this.executions.get(executionId);
    return view && toSnapshot(view);
  }

  /** Call `listener` after every change; returns the unsubscribe function. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private trim(): void {
    const max = this.options.maxFinished ?? 100;
    const finished = [...this.executions.values()].filter((view) => FINISHED.has(view.status));
    for (const view of finished.slice(0, Math.max(0, finished.length - max))) this.executions.delete(view.execution_id);
  }

  private changed(): void {
    this.listed = null;
    for (const listener of [...this.listeners]) listener();
  }
}
