// The execution's DAG: laid out once per graph by dagre, drawn in SVG, coloured by node
// status; an edge animates when data flows along it. Pan (drag, arrow keys), zoom (wheel,
// +/-, the buttons) and fit (0) keep graphs of hundreds of nodes usable. A change redraws
// only the nodes whose view changed.
import { Graph, layout } from "@dagrejs/dagre";
import type { ExecutionView, NodeView } from "@flowwire/client";
import { attr, h, s, text } from "./dom.js";
import { edgeKey, type RunExtras } from "./extras.js";

const NODE_W = 168;
const NODE_H = 54;

interface NodeEls {
  readonly g: SVGGElement;
  readonly meta: SVGTextElement;
  readonly bar: SVGRectElement;
  view?: NodeView;
}

export class GraphView {
  readonly element: HTMLElement;
  private readonly svg: SVGSVGElement;
  private readonly viewport: SVGGElement;
  private readonly nodesLayer: SVGGElement;
  private readonly edgesLayer: SVGGElement;
  private nodes = new Map<string, NodeEls>();
  private edges = new Map<string, SVGPathElement>();
  private shape = "";
  private executionId = "";
  private size = { width: 1, height: 1 };
  private view = { x: 0, y: 0, k: 1 };
  private selected: string | null = null;
  private flowsVersion = -1;
  /** Milliseconds the last layout took (dagre), for the benchmark. */
  layoutMs = 0;

  constructor(private readonly select: (nodeId: string) => void) {
    this.svg = s("svg", { class: "graph-canvas", role: "group", "aria-label": "Workflow graph: drag or use the arrow keys to pan, the wheel or + and - to zoom, 0 to fit", tabindex: 0 });
    const defs = s("defs");
    const marker = s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.append(s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }));
    defs.append(marker);
    this.viewport = s("g", { class: "viewport" });
    this.edgesLayer = s("g", { class: "edges" });
    this.nodesLayer = s("g", { class: "nodes" });
    this.viewport.append(this.edgesLayer, this.nodesLayer);
    this.svg.append(defs, this.viewport);
    const button = (label: string, title: string, action: () => void): HTMLButtonElement => {
      const b = h("button", { type: "button", class: "icon", title, "aria-label": title }, label);
      b.onclick = action;
      return b;
    };
    const tools = h(
      "div",
      { class: "graph-tools" },
      button("+", "Zoom in", () => this.zoom(1.25)),
      button("−", "Zoom out", () => this.zoom(0.8)),
      button("⤢", "Fit the graph", () => this.fit()),
    );
    this.element = h("div", { class: "graph", id: "graph" }, this.svg, tools);
    this.interact();
    // Fitted until the user pans or zooms: a resize (the node panel opening, a narrow
    // window) fits the graph again.
    new ResizeObserver(() => {
      if (this.fitted) this.fit();
    }).observe(this.svg);
  }

  /** Draw `run` (or nothing); `extras` for the edges' flow counts. */
  update(run: ExecutionView | undefined, extras: RunExtras | undefined, selected: string | null): void {
    const shape = run ? shapeOf(run) : "";
    if (!run || run.execution_id !== this.executionId || shape !== this.shape) {
      this.build(run);
      this.executionId = run?.execution_id ?? "";
      this.shape = shape;
      this.flowsVersion = -1;
    }
    if (!run) return;
    for (const [id, node] of run.nodes) {
      const els = this.nodes.get(id);
      if (els && els.view !== node) this.paint(els, node);
    }
    if (extras && extras.version !== this.flowsVersion) {
      this.flowsVersion = extras.version;
      for (const [key, path] of this.edges) {
        const count = extras.flows.get(key);
        attr(path, "data-flows", count ? String(count) : null);
      }
    }
    for (const [key, path] of this.edges) {
      const source = run.nodes.get(path.dataset["source"] ?? "");
      attr(path, "data-done", source?.status === "succeeded" ? "" : null);
      void key;
    }
    if (selected !== this.selected) {
      if (this.selected) this.nodes.get(this.selected)?.g.classList.remove("selected");
      if (selected) this.nodes.get(selected)?.g.classList.add("selected");
      this.selected = selected;
    }
  }

  /** Data flowed along an edge: animate it once. */
  flow(edge: string): void {
    const path = this.edges.get(edge);
    if (!path) return;
    path.classList.remove("flowing");
    void path.getBoundingClientRect(); // restart the animation
    path.classList.add("flowing");
  }

  focusNode(nodeId: string): void {
    (this.nodes.get(nodeId)?.g as unknown as HTMLElement | undefined)?.focus();
  }

  private build(run: ExecutionView | undefined): void {
    this.nodes = new Map();
    this.edges = new Map();
    this.nodesLayer.replaceChildren();
    this.edgesLayer.replaceChildren();
    this.selected = null;
    if (!run) {
      this.svg.removeAttribute("data-nodes");
      return;
    }
    const started = performance.now();
    const graph = new Graph({ multigraph: false });
    // Longest-path ranking: linear in the graph; the default (network simplex) took twice
    // as long at 300 nodes (bench/dashboard.py), for a layout of steps hardly better.
    graph.setGraph({ rankdir: "LR", nodesep: 22, ranksep: 56, edgesep: 12, marginx: 24, marginy: 24, ranker: "longest-path" });
    graph.setDefaultEdgeLabel(() => ({}));
    for (const id of run.nodes.keys()) graph.setNode(id, { width: NODE_W, height: NODE_H });
    const edges = run.edges.filter((e) => run.nodes.has(e.source) && run.nodes.has(e.target));
    for (const edge of edges) graph.setEdge(edge.source, edge.target);
    layout(graph);
    this.layoutMs = performance.now() - started;
    const { width = 1, height = 1 } = graph.graph();
    this.size = { width, height };
    for (const edge of edges) {
      const points: { x: number; y: number }[] = graph.edge(edge.source, edge.target)?.points ?? [];
      const key = edgeKey(edge.source, edge.target);
      const path = s("path", {
        class: "edge",
        d: points.map((p: { x: number; y: number }, i: number) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" "),
        "marker-end": "url(#arrow)",
        "data-edge": key,
        "data-source": edge.source,
        "data-target": edge.target,
      });
      path.addEventListener("animationend", () => path.classList.remove("flowing"));
      this.edges.set(key, path);
      this.edgesLayer.append(path);
    }
    for (const [id, node] of run.nodes) {
      const box = graph.node(id);
      const g = s("g", {
        class: "node",
        "data-node": id,
        transform: `translate(${(box.x - NODE_W / 2).toFixed(1)},${(box.y - NODE_H / 2).toFixed(1)})`,
        tabindex: 0,
        role: "button",
      });
      const title = s("text", { x: 12, y: 21, class: "name" });
      title.textContent = truncate(node.name ?? id, 22);
      const meta = s("text", { x: 12, y: 39, class: "meta" });
      const bar = s("rect", { x: 0, y: NODE_H - 4, height: 4, width: 0, class: "bar" });
      g.append(s("rect", { width: NODE_W, height: NODE_H, rx: 9, class: "box" }), title, meta, bar);
      g.addEventListener("click", () => this.select(id));
      g.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.select(id);
        }
      });
      const els: NodeEls = { g, meta, bar };
      this.nodes.set(id, els);
      this.paint(els, node);
      this.nodesLayer.append(g);
    }
    this.svg.dataset["nodes"] = String(run.nodes.size);
    this.svg.dataset["edges"] = String(edges.length);
    this.fit();
  }

  private paint(els: NodeEls, node: NodeView): void {
    els.view = node;
    attr(els.g, "data-status", node.status);
    attr(els.g, "data-attempt", node.attempt === undefined ? null : String(node.attempt));
    const attempt = (node.attempt ?? 1) > 1 ? ` · try ${node.attempt}` : "";
    const progress = node.status === "running" && node.progress !== undefined ? ` ${Math.round(node.progress * 100)}%` : "";
    text(els.meta, `${node.kind ?? "node"} · ${node.status}${progress}${attempt}`);
    const fraction = node.status === "succeeded" ? 1 : node.status === "running" ? node.progress ?? 0 : 0;
    attr(els.bar, "width", (fraction * NODE_W).toFixed(1));
  }

  // -- pan and zoom --------------------------------------------------------------------

  private fitted = true;

  fit(): void {
    this.fitted = true;
    const box = this.svg.getBoundingClientRect();
    const width = box.width || 800;
    const height = box.height || 400;
    const k = Math.min(1.5, width / this.size.width, height / this.size.height);
    this.view = { k, x: (width - this.size.width * k) / 2, y: (height - this.size.height * k) / 2 };
    this.apply();
  }

  private zoom(factor: number, at?: { x: number; y: number }): void {
    this.fitted = false;
    const box = this.svg.getBoundingClientRect();
    const point = at ?? { x: box.width / 2, y: box.height / 2 };
    const k = Math.min(4, Math.max(0.05, this.view.k * factor));
    const ratio = k / this.view.k;
    this.view = { k, x: point.x - (point.x - this.view.x) * ratio, y: point.y - (point.y - this.view.y) * ratio };
    this.apply();
  }

  private pan(dx: number, dy: number): void {
    this.fitted = false;
    this.view = { ...this.view, x: this.view.x + dx, y: this.view.y + dy };
    this.apply();
  }

  private apply(): void {
    const { x, y, k } = this.view;
    this.viewport.setAttribute("transform", `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(4)})`);
    this.svg.dataset["zoom"] = k.toFixed(3);
  }

  private interact(): void {
    this.svg.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const box = this.svg.getBoundingClientRect();
        this.zoom(Math.exp(-event.deltaY * 0.0015), { x: event.clientX - box.left, y: event.clientY - box.top });
      },
      { passive: false },
    );
    let drag: { x: number; y: number; id: number } | null = null;
    this.svg.addEventListener("pointerdown", (event) => {
      if ((event.target as Element).closest(".node")) return; // a click on a node selects it
      drag = { x: event.clientX, y: event.clientY, id: event.pointerId };
      this.svg.setPointerCapture(event.pointerId);
      this.svg.classList.add("panning");
    });
    this.svg.addEventListener("pointermove", (event) => {
      if (!drag || drag.id !== event.pointerId) return;
      this.pan(event.clientX - drag.x, event.clientY - drag.y);
      drag = { ...drag, x: event.clientX, y: event.clientY };
    });
    const end = (): void => {
      drag = null;
      this.svg.classList.remove("panning");
    };
    this.svg.addEventListener("pointerup", end);
    this.svg.addEventListener("pointercancel", end);
    this.svg.addEventListener("keydown", (event) => {
      if (event.target !== this.svg) return; // keys on a focused node are the node's
      const step = 40;
      const keys: { [key: string]: () => void } = {
        ArrowLeft: () => this.pan(step, 0),
        ArrowRight: () => this.pan(-step, 0),
        ArrowUp: () => this.pan(0, step),
        ArrowDown: () => this.pan(0, -step),
        "+": () => this.zoom(1.25),
        "=": () => this.zoom(1.25),
        "-": () => this.zoom(0.8),
        "0": () => this.fit(),
      };
      const action = keys[event.key];
      if (action) {
        event.preventDefault();
        action();
      }
    });
  }
}

/** What the layout depends on: the node ids and the edges. */
function shapeOf(run: ExecutionView): string {
  let shape = "";
  for (const id of run.nodes.keys()) shape += `${id}\n`;
  for (const edge of run.edges) shape += `${edge.source}>${edge.target}\n`;
  return shape;
}

function truncate(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}
