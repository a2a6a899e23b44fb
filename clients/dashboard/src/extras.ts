// What the dashboard shows beyond the execution store's views: each node's earlier attempts
// (for the timeline), its token usage, how often data flowed along each edge, and the log
// lines (many more than the store keeps). Folded from the client's events; a page that
// joined mid-run starts from its snapshot (the usage, the most recent log lines) and has
// the attempts and flows from when it joined.
import type { ExecutionLog, FlowwireClient, LogLevel } from "@flowwire/client";

/** A finished attempt of a node that was tried again. */
export interface Attempt {
  readonly attempt: number;
  readonly start: number;
  readonly end: number;
}

export interface NodeUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost: number;
  model?: string;
}

export interface LogLine {
  readonly seq: number;
  readonly ts: number;
  readonly level: LogLevel;
  readonly message: string;
  readonly node_id?: string;
}

export interface RunExtras {
  /** Earlier attempts of each node (the current one is the store's view of the node). */
  readonly attempts: Map<string, Attempt[]>;
  readonly open: Map<string, { attempt: number; start: number }>;
  readonly usage: Map<string, NodeUsage>;
  /** `source->target` → how many times data flowed along it. */
  readonly flows: Map<string, number>;
  readonly logs: LogLine[];
  /** Bumped on every change: views compare it to what they drew. */
  version: number;
  logsVersion: number;
}

export const MAX_LOG_LINES = 10_000;

export const edgeKey = (source: string, target: string): string => `${source}->${target}`;

function fresh(): RunExtras {
  return { attempts: new Map(), open: new Map(), usage: new Map(), flows: new Map(), logs: [], version: 0, logsVersion: 0 };
}

export class Extras {
  private readonly runs = new Map<string, RunExtras>();

  constructor(
    client: FlowwireClient,
    private readonly changed: (executionId: string) => void,
    private readonly flowed: (executionId: string, edge: string) => void,
  ) {
    client.on("execution.started", (e) => {
      this.runs.set(e.execution_id, fresh());
      this.changed(e.execution_id);
    });
    client.on("node.status", (e) => {
      const run = this.run(e.execution_id);
      const attempt = e.attempt ?? 1;
      const open = run.open.get(e.node_id);
      if (e.status === "running") {
        if (open && open.attempt !== attempt) {
          const earlier = run.attempts.get(e.node_id) ?? [];
          earlier.push({ attempt: open.attempt, start: open.start, end: e.ts });
          run.attempts.set(e.node_id, earlier);
        }
        if (!open || open.attempt !== attempt) run.open.set(e.node_id, { attempt, start: e.ts });
        else return;
      } else if (open) run.open.delete(e.node_id);
      else return;
      this.bump(e.execution_id, run);
    });
    client.on("node.usage", (e) => {
      const run = this.run(e.execution_id);
      const key = e.node_id ?? "";
      const usage = run.usage.get(key) ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cost: 0 };
      usage.prompt_tokens += e.prompt_tokens;
      usage.completion_tokens += e.completion_tokens;
      usage.total_tokens += e.total_tokens;
      usage.cost += e.cost ?? 0;
      if (e.model) usage.model = e.model;
      run.usage.set(key, usage);
      this.bump(e.execution_id, run);
    });
    client.on("execution.snapshot", (s) => {
      // A page that joined (or resynchronised) mid-run: what the snapshot knows, merged.
      const run = this.run(s.execution_id);
      const last = run.logs.at(-1)?.seq ?? 0;
      const lines = (s.logs ?? []).filter((line) => line.seq > last);
      for (const line of lines) run.logs.push(line.node_id ? { seq: line.seq, ts: line.ts, level: line.level, message: line.message, node_id: line.node_id } : { seq: line.seq, ts: line.ts, level: line.level, message: line.message });
      if (lines.length) run.logsVersion++;
      for (const [id, node] of Object.entries(s.nodes)) {
        if (!node.usage) continue;
        const model = run.usage.get(id)?.model;
        const usage: NodeUsage = { prompt_tokens: node.usage.prompt_tokens, completion_tokens: node.usage.completion_tokens, total_tokens: node.usage.total_tokens, cost: node.usage.cost ?? 0 };
        if (model) usage.model = model;
        run.usage.set(id, usage);
      }
      this.bump(s.execution_id, run);
    });
    client.on("edge.flow", (e) => {
      const run = this.run(e.execution_id);
      const key = edgeKey(e.source, e.target);
      run.flows.set(key, (run.flows.get(key) ?? 0) + 1);
      this.bump(e.execution_id, run);
      this.flowed(e.execution_id, key);
    });
    client.on("execution.log", (e: ExecutionLog) => {
      const run = this.run(e.execution_id);
      const line: LogLine = e.node_id ? { seq: e.seq, ts: e.ts, level: e.level, message: e.message, node_id: e.node_id } : { seq: e.seq, ts: e.ts, level: e.level, message: e.message };
      run.logs.push(line);
      // Capped: the oldest go in chunks, so that a flood costs no copy per line.
      if (run.logs.length > MAX_LOG_LINES + 1000) run.logs.splice(0, run.logs.length - MAX_LOG_LINES);
      run.logsVersion++;
      this.bump(e.execution_id, run);
    });
  }

  get(executionId: string): RunExtras {
    return this.run(executionId);
  }

  private run(executionId: string): RunExtras {
    let run = this.runs.get(executionId);
    if (!run) this.runs.set(executionId, (run = fresh()));
    return run;
  }

  private bump(executionId: string, run: RunExtras): void {
    run.version++;
    this.changed(executionId);
  }
}
