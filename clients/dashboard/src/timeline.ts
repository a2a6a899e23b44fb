// The timeline: a Gantt of node runs, one row per node, a bar per attempt (earlier, failed
// attempts dimmed), from the run's start to its end (or now, while it runs).
import type { ExecutionView, NodeView } from "@flowwire/client";
import { attr, duration, h, text } from "./dom.js";
import type { Attempt, RunExtras } from "./extras.js";

interface Row {
  readonly row: HTMLElement;
  readonly track: HTMLElement;
  view?: NodeView;
  attempts?: Attempt[] | undefined;
}

export class TimelineView {
  readonly element: HTMLElement;
  private readonly rows: HTMLElement;
  private readonly axis: HTMLElement;
  private rowsOf = new Map<string, Row>();
  private executionId = "";
  private span = { start: 0, end: 1 };

  constructor() {
    this.axis = h("div", { class: "axis", "aria-hidden": "true" });
    this.rows = h("div", { class: "rows", role: "list", "aria-label": "Node runs over time" });
    this.element = h("section", { class: "timeline", id: "timeline", "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title" }, "Timeline"), this.axis, this.rows);
  }

  update(run: ExecutionView | undefined, extras: RunExtras | undefined, now: number): void {
    if (!run || run.execution_id !== this.executionId || run.nodes.size !== this.rowsOf.size) this.build(run);
    if (!run) return;
    const start = run.started_ts ?? firstStart(run) ?? now;
    const end = Math.max(start + 1, run.finished_ts ?? (live(run) ? now : lastEnd(run) ?? now));
    const rescale = start !== this.span.start || end !== this.span.end;
    this.span = { start, end };
    if (rescale) text(this.axis, `${duration(0)} … ${duration(end - start)}`);
    for (const [id, node] of run.nodes) {
      const row = this.rowsOf.get(id);
      if (!row) continue;
      const attempts = extras?.attempts.get(id);
      const moving = node.status === "running";
      if (!rescale && !moving && row.view === node && row.attempts?.length === attempts?.length) continue;
      row.view = node;
      row.attempts = attempts ? [...attempts] : undefined;
      this.draw(row, node, attempts ?? [], now);
    }
  }

  private build(run: ExecutionView | undefined): void {
    this.rowsOf = new Map();
    this.executionId = run?.execution_id ?? "";
    this.span = { start: 0, end: 1 };
    if (!run) {
      this.rows.replaceChildren();
      return;
    }
    const rows: HTMLElement[] = [];
    for (const [id, node] of run.nodes) {
      const track = h("div", { class: "track" });
      const row = h("div", { class: "row", role: "listitem", "data-node": id }, h("span", { class: "label", title: node.name ?? id }, node.name ?? id), track);
      this.rowsOf.set(id, { row, track });
      rows.push(row);
    }
    this.rows.replaceChildren(...rows);
  }

  private draw(row: Row, node: NodeView, attempts: Attempt[], now: number): void {
    const bars: HTMLElement[] = [];
    for (const earlier of attempts) bars.push(this.bar(node.id, earlier.attempt, "retried", earlier.start, earlier.end));
    if (node.started_ts !== undefined) {
      const end = node.finished_ts ?? (node.status === "running" ? now : node.started_ts);
      bars.push(this.bar(node.id, node.attempt ?? 1, node.status, node.started_ts, end));
    }
    if (bars.length === row.track.childElementCount && bars.every((bar, i) => sameBar(bar, row.track.children[i]))) return;
    row.track.replaceChildren(...bars);
    attr(row.row, "data-status", node.status);
  }

  private bar(nodeId: string, attempt: number, status: string, from: number, to: number): HTMLElement {
    const { start, end } = this.span;
    const left = ((from - start) / (end - start)) * 100;
    const width = Math.max(0.4, ((to - from) / (end - start)) * 100);
    const label = `${nodeId}, attempt ${attempt}: ${status}, ${duration(to - from)}`;
    const bar = h("div", { class: "bar", "data-status": status, "data-attempt": attempt, title: label, "aria-label": label, role: "img" });
    // Through the CSSOM: the page's Content-Security-Policy forbids style attributes.
    bar.style.left = `${left.toFixed(2)}%`;
    bar.style.width = `${Math.min(width, 100 - left).toFixed(2)}%`;
    return bar;
  }
}

function sameBar(a: HTMLElement, b: Element | undefined): boolean {
  const other = b as HTMLElement | undefined;
  return !!other && a.style.left === other.style.left && a.style.width === other.style.width && a.dataset["status"] === other.dataset["status"];
}

const live = (run: ExecutionView): boolean => run.status === "running" || run.status === "paused";

function firstStart(run: ExecutionView): number | undefined {
  let first: number | undefined;
  for (const node of run.nodes.values()) if (node.started_ts !== undefined && (first === undefined || node.started_ts < first)) first = node.started_ts;
  return first;
}

function lastEnd(run: ExecutionView): number | undefined {
  let last: number | undefined;
  for (const node of run.nodes.values()) if (node.finished_ts !== undefined && (last === undefined || node.finished_ts > last)) last = node.finished_ts;
  return last;
}
