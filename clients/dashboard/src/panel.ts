// The node panel: everything known of the selected node.
import type { ExecutionView, NodeView } from "@flowwire/client";
import { clock, duration, h, json, text } from "./dom.js";
import type { RunExtras } from "./extras.js";

export class PanelView {
  readonly element: HTMLElement;
  private readonly title = h("h2", { id: "panel-title" }, "");
  private readonly body = h("div", { class: "panel-body" });
  private node: NodeView | undefined;
  private version = -1;
  private outputOpen = true;

  constructor(close: () => void) {
    const closer = h("button", { type: "button", class: "icon", id: "panel-close", "aria-label": "Close the node panel", title: "Close (Esc)" }, "×");
    closer.onclick = close;
    this.element = h("aside", { class: "panel", id: "node-panel", hidden: true, "aria-labelledby": "panel-title", tabindex: -1 }, h("div", { class: "panel-head" }, this.title, closer), this.body);
  }

  update(run: ExecutionView | undefined, extras: RunExtras | undefined, nodeId: string | null): void {
    const node = nodeId ? run?.nodes.get(nodeId) : undefined;
    this.element.hidden = !node;
    if (!node || !run) {
      this.node = undefined;
      return;
    }
    const version = extras?.version ?? 0;
    if (node === this.node && version === this.version) return;
    const details = this.body.querySelector<HTMLDetailsElement>("details.output");
    if (details && this.node?.id === node.id) this.outputOpen = details.open;
    this.node = node;
    this.version = version;
    this.element.dataset["node"] = node.id;
    this.element.dataset["status"] = node.status;
    text(this.title, node.name ?? node.id);
    const rows: [string, string][] = [
      ["Node", node.id],
      ["Kind", node.kind ?? "–"],
      ["Status", node.status],
      ["Attempts", String(node.attempt ?? (node.started_ts !== undefined ? 1 : 0))],
      ["Started", clock(node.started_ts)],
      ["Finished", clock(node.finished_ts)],
      ["Duration", duration(node.duration_ms ?? (node.finished_ts !== undefined && node.started_ts !== undefined ? node.finished_ts - node.started_ts : undefined))],
    ];
    const usage = extras?.usage.get(node.id);
    if (usage) {
      rows.push(["Tokens", `${usage.total_tokens} (${usage.prompt_tokens} prompt, ${usage.completion_tokens} completion)`]);
      if (usage.model) rows.push(["Model", usage.model]);
      if (usage.cost) rows.push(["Cost", usage.cost.toFixed(6)]);
    }
    const list = h("dl", { class: "facts" });
    for (const [name, value] of rows) list.append(h("dt", {}, name), h("dd", { "data-field": name.toLowerCase() }, value));
    const parts: HTMLElement[] = [list];
    if (node.error) parts.push(h("div", { class: "error", role: "alert", "data-field": "error" }, `${node.error.code ? `${node.error.code}: ` : ""}${node.error.message}`));
    if (node.text) parts.push(h("h3", {}, "Streamed text"), h("pre", { class: "tokens", "data-field": "text" }, node.text));
    if (node.output !== undefined) {
      parts.push(h("details", { class: "output", open: this.outputOpen }, h("summary", {}, "Output"), h("pre", { "data-field": "output" }, json(node.output))));
    }
    this.body.replaceChildren(...parts);
  }
}
