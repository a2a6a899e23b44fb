// The runs list: live executions (from the store) and recent finished ones (from `list`),
// newest first.
import type { ExecutionSummary, ExecutionView } from "@flowwire/client";
import { attr, clock, h, text } from "./dom.js";

export type RunEntry = Pick<ExecutionView, "execution_id" | "topic" | "workflow_id" | "status" | "name" | "started_ts" | "progress"> | ExecutionSummary;

interface Item {
  readonly button: HTMLButtonElement;
  readonly name: HTMLElement;
  readonly meta: HTMLElement;
  entry?: RunEntry;
}

export class RunsView {
  readonly element: HTMLElement;
  private readonly list = h("ul", { class: "runs-list", id: "runs", "aria-label": "Runs" });
  private readonly empty = h("p", { class: "muted", id: "runs-empty" }, "No runs yet.");
  private items = new Map<string, Item>();
  private order = "";
  private selected: string | null = null;

  constructor(private readonly choose: (executionId: string) => void) {
    this.element = h("nav", { class: "runs", "aria-labelledby": "runs-title" }, h("h2", { id: "runs-title" }, "Runs"), this.list, this.empty);
  }

  update(entries: readonly RunEntry[], selected: string | null): void {
    const sorted = [...entries].sort((a, b) => (b.started_ts ?? 0) - (a.started_ts ?? 0) || a.execution_id.localeCompare(b.execution_id));
    this.empty.hidden = sorted.length > 0;
    const seen = new Set<string>();
    for (const entry of sorted) {
      seen.add(entry.execution_id);
      let item = this.items.get(entry.execution_id);
      if (!item) {
        const name = h("span", { class: "name" });
        const meta = h("span", { class: "meta" });
        const button = h("button", { type: "button", class: "run", "data-execution": entry.execution_id }, name, meta);
        button.onclick = () => this.choose(entry.execution_id);
        item = { button, name, meta };
        this.items.set(entry.execution_id, item);
      }
      if (item.entry !== entry) {
        item.entry = entry;
        text(item.name, entry.name ?? entry.workflow_id);
        text(item.meta, `${entry.status} · ${Math.round(entry.progress.percent)}% · ${clock(entry.started_ts)}`);
        attr(item.button, "data-status", entry.status);
      }
    }
    for (const [id, item] of this.items) {
      if (!seen.has(id)) {
        item.button.parentElement?.remove();
        this.items.delete(id);
      }
    }
    const order = sorted.map((e) => e.execution_id).join("\n");
    if (order !== this.order) {
      this.order = order;
      this.list.replaceChildren(...sorted.map((e) => h("li", {}, (this.items.get(e.execution_id) as Item).button)));
    }
    if (selected !== this.selected) {
      if (this.selected) this.items.get(this.selected)?.button.removeAttribute("aria-current");
      this.selected = selected;
    }
    if (selected) this.items.get(selected)?.button.setAttribute("aria-current", "true");
  }
}
