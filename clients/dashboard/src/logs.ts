// The run's log: level, node and text filters, follow mode, and a virtualised list (only
// the rows in view exist), so ten thousand lines cost what thirty do.
import type { ExecutionView } from "@flowwire/client";
import { clock, h, text } from "./dom.js";
import type { LogLine, RunExtras } from "./extras.js";

const ROW = 20; // px; the CSS gives .log-row this height
const LEVELS = ["debug", "info", "warning", "error"] as const;

export class LogsView {
  readonly element: HTMLElement;
  private readonly level: HTMLSelectElement;
  private readonly node: HTMLSelectElement;
  private readonly search: HTMLInputElement;
  private readonly follow: HTMLInputElement;
  private readonly count: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly window: HTMLElement;
  private lines: readonly LogLine[] = [];
  private shown: readonly LogLine[] = [];
  private key = "";
  private nodesKey = "";
  private first = -1;
  private last = -1;

  constructor() {
    this.level = h("select", { id: "log-level", "aria-label": "Lowest level shown" }, h("option", { value: "" }, "all levels"), ...LEVELS.map((l) => h("option", { value: l }, `${l} and up`)));
    this.node = h("select", { id: "log-node", "aria-label": "Node" }, h("option", { value: "" }, "all nodes"));
    this.search = h("input", { id: "log-search", type: "search", placeholder: "Search the log", "aria-label": "Search the log" });
    this.follow = h("input", { id: "log-follow", type: "checkbox", checked: true });
    this.count = h("span", { id: "log-count", class: "muted", "aria-live": "off" });
    this.spacer = h("div", { class: "log-spacer" });
    this.window = h("div", { class: "log-window" });
    this.scroller = h("div", { class: "log-scroll", id: "log-lines", tabindex: 0, role: "log", "aria-label": "Log lines" }, this.spacer, this.window);
    const controls = h(
      "div",
      { class: "log-controls" },
      this.level,
      this.node,
      this.search,
      h("label", { class: "check" }, this.follow, " follow"),
      this.count,
    );
    this.element = h("section", { class: "logs", id: "logs", "aria-labelledby": "logs-title" }, h("h2", { id: "logs-title" }, "Log"), controls, this.scroller);
    const refilter = (): void => {
      this.key = "";
      this.render();
    };
    this.level.onchange = refilter;
    this.node.onchange = refilter;
    this.search.oninput = refilter;
    this.follow.onchange = () => this.render();
    this.scroller.addEventListener("scroll", () => {
      const atBottom = this.scroller.scrollTop + this.scroller.clientHeight >= this.scroller.scrollHeight - ROW;
      if (!atBottom && this.follow.checked && this.scrolledByUser) this.follow.checked = false;
      this.scrolledByUser = true;
      this.paint();
    });
  }

  private scrolledByUser = true;
  private version = -1;
  private executionId = "";

  update(run: ExecutionView | undefined, extras: RunExtras | undefined): void {
    const nodes = run ? [...run.nodes.keys()] : [];
    const nodesKey = nodes.join("\n");
    if (nodesKey !== this.nodesKey) {
      this.nodesKey = nodesKey;
      const chosen = this.node.value;
      this.node.replaceChildren(h("option", { value: "" }, "all nodes"), ...nodes.map((id) => h("option", { value: id }, id)));
      this.node.value = nodes.includes(chosen) ? chosen : "";
    }
    const id = run?.execution_id ?? "";
    const version = extras?.logsVersion ?? 0;
    if (id === this.executionId && version === this.version) return;
    this.executionId = id;
    this.version = version;
    this.lines = extras?.logs ?? [];
    this.render();
  }

  private render(): void {
    const level = this.level.value;
    const node = this.node.value;
    const needle = this.search.value.trim().toLowerCase();
    const key = `${this.executionId}\n${level}\n${node}\n${needle}`;
    if (!level && !node && !needle) this.shown = this.lines;
    else {
      const lowest = level ? LEVELS.indexOf(level as (typeof LEVELS)[number]) : 0;
      // Same filters as last time: only the new lines need looking at.
      const more = key === this.key && this.scanned <= this.lines.length;
      const from = more ? this.scanned : 0;
      const kept = more ? [...this.shown] : [];
      for (let i = from; i < this.lines.length; i++) {
        const line = this.lines[i] as LogLine;
        if (LEVELS.indexOf(line.level) < lowest) continue;
        if (node && line.node_id !== node) continue;
        if (needle && !line.message.toLowerCase().includes(needle)) continue;
        kept.push(line);
      }
      this.shown = kept;
    }
    this.scanned = this.lines.length;
    this.key = key;
    text(this.count, this.shown.length === this.lines.length ? `${this.lines.length} lines` : `${this.shown.length} of ${this.lines.length} lines`);
    this.spacer.style.height = `${this.shown.length * ROW}px`;
    this.first = this.last = -1;
    if (this.follow.checked) {
      this.scrolledByUser = false;
      this.scroller.scrollTop = this.scroller.scrollHeight;
    }
    this.paint();
  }

  private scanned = 0;

  /** Draw the rows in view (and a few around them). */
  private paint(): void {
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || 300;
    const first = Math.max(0, Math.floor(top / ROW) - 5);
    const last = Math.min(this.shown.length, Math.ceil((top + height) / ROW) + 5);
    if (first === this.first && last === this.last) return;
    this.first = first;
    this.last = last;
    const rows: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const line = this.shown[i] as LogLine;
      const row = h(
        "div",
        { class: "log-row", "data-level": line.level, "data-node": line.node_id },
        h("span", { class: "time" }, clock(line.ts)),
        h("span", { class: "level" }, line.level),
        h("span", { class: "node" }, line.node_id ?? ""),
        h("span", { class: "message" }, line.message),
      );
      row.style.top = `${i * ROW}px`; // the CSSOM: style attributes are refused by the CSP
      rows.push(row);
    }
    this.window.replaceChildren(...rows);
  }
}
