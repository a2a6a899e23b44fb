// The run header: status, progress with ETA, duration, node counts; pause, resume and stop,
// with the server's answer (or its error, a `conflict` included) shown; and the form for
// the input a node waits for, built from its `input_schema`.
import { FlowwireError, type ExecutionView, type FlowwireClient, type WaitingInput, type JsonValue } from "@flowwire/client";
import { attr, duration, h, text } from "./dom.js";

const ACTIONS = ["pause", "resume", "stop"] as const;
type Action = (typeof ACTIONS)[number];
const FINISHED = new Set(["completed", "failed", "stopped"]);

export class HeaderView {
  readonly element: HTMLElement;
  private readonly title = h("h1", { id: "run-title" }, "No run selected");
  private readonly status = h("span", { id: "run-status", class: "badge", role: "status" });
  private readonly progress = h("progress", { id: "run-progress", max: 100, value: 0, "aria-label": "Progress" });
  private readonly percent = h("span", { id: "run-percent" });
  private readonly eta = h("span", { id: "run-eta", class: "muted" });
  private readonly elapsed = h("span", { id: "run-duration" });
  private readonly counts = h("span", { id: "run-counts", class: "muted" });
  private readonly error = h("p", { id: "run-error", class: "error", hidden: true });
  private readonly answer = h("p", { id: "command-result", "aria-live": "polite" });
  private readonly buttons: { [A in Action]: HTMLButtonElement };
  private readonly form = h("form", { id: "input-form", class: "input-form", hidden: true, "aria-labelledby": "input-prompt" });
  private run: ExecutionView | undefined;
  private waiting: WaitingInput | undefined;

  constructor(private readonly client: FlowwireClient) {
    const button = (action: Action, label: string): HTMLButtonElement => {
      const b = h("button", { type: "button", id: action, class: `control ${action}` }, label);
      b.onclick = () => void this.control(action);
      return b;
    };
    this.buttons = { pause: button("pause", "Pause"), resume: button("resume", "Resume"), stop: button("stop", "Stop") };
    this.element = h(
      "section",
      { class: "run-header", id: "run-header", "aria-label": "Run" },
      h("div", { class: "title-line" }, this.title, this.status),
      h("div", { class: "progress-line" }, this.progress, this.percent, this.eta),
      h("div", { class: "facts" }, h("span", {}, "Duration ", this.elapsed), this.counts),
      h("div", { class: "controls", role: "group", "aria-label": "Run controls" }, this.buttons.pause, this.buttons.resume, this.buttons.stop),
      this.answer,
      this.error,
      this.form,
    );
  }

  update(run: ExecutionView | undefined, now: number): void {
    if (run?.execution_id !== this.run?.execution_id) this.say("", false);
    this.run = run;
    if (!run) {
      text(this.title, "No run selected");
      this.element.dataset["empty"] = "";
      for (const b of Object.values(this.buttons)) b.disabled = true;
      this.form.hidden = true;
      return;
    }
    delete this.element.dataset["empty"];
    text(this.title, run.name ?? run.workflow_id);
    this.title.title = run.execution_id;
    text(this.status, run.status);
    attr(this.status, "data-status", run.status);
    const percent = run.progress.percent;
    if (this.progress.value !== percent) this.progress.value = percent;
    text(this.percent, `${Math.round(percent)}%`);
    text(this.eta, run.progress.eta_ms !== undefined && !FINISHED.has(run.status) ? `about ${duration(run.progress.eta_ms)} left` : "");
    const end = run.finished_ts ?? (FINISHED.has(run.status) ? run.ts : now);
    text(this.elapsed, run.duration_ms !== undefined ? duration(run.duration_ms) : run.started_ts !== undefined ? duration(end - run.started_ts) : "–");
    const tally: { [status: string]: number } = {};
    for (const node of run.nodes.values()) tally[node.status] = (tally[node.status] ?? 0) + 1;
    text(
      this.counts,
      ["succeeded", "running", "pending", "failed", "skipped", "cancelled"]
        .filter((s) => tally[s])
        .map((s) => `${tally[s]} ${s}`)
        .join(" · "),
    );
    this.counts.dataset["counts"] = JSON.stringify(tally);
    const live = !FINISHED.has(run.status);
    // The server decides: while the run is live every action may be asked for, and its
    // answer (a `conflict` when the action does not fit) is shown.
    for (const b of Object.values(this.buttons)) b.disabled = !live;
    this.error.hidden = !run.error;
    text(this.error, run.error ? `${run.error.node_id ? `${run.error.node_id}: ` : ""}${run.error.message}` : "");
    this.input(run.waiting);
  }

  private async control(action: Action): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.say(`${action}…`, false);
    try {
      const result = await this.client.control(run.execution_id, action);
      this.say(`${action}: the run is ${result.status}`, false);
    } catch (error) {
      this.say(describe(action, error), true);
    }
  }

  private say(message: string, failed: boolean): void {
    text(this.answer, message);
    this.answer.className = failed ? "error" : "muted";
    attr(this.answer, "role", failed ? "alert" : null);
    attr(this.answer, "data-outcome", message ? (failed ? "error" : "ok") : null);
  }

  // -- the input a node waits for ------------------------------------------------------

  private input(waiting: WaitingInput | undefined): void {
    if (waiting === this.waiting) return;
    this.waiting = waiting;
    this.form.hidden = !waiting;
    if (!waiting) {
      this.form.replaceChildren();
      return;
    }
    const fields = fieldsFor(waiting.input_schema);
    const submit = h("button", { type: "submit", id: "input-send" }, "Send");
    this.form.replaceChildren(h("p", { id: "input-prompt" }, h("strong", {}, `${waiting.node_id} asks: `), waiting.prompt), ...fields.map((f) => f.element), submit);
    this.form.dataset["node"] = waiting.node_id;
    this.form.onsubmit = (event) => {
      event.preventDefault();
      let value: JsonValue;
      try {
        value = valueOf(fields, waiting.input_schema);
      } catch (error) {
        this.say(String(error instanceof Error ? error.message : error), true);
        return;
      }
      submit.disabled = true;
      this.client.input(waiting.execution_id, waiting.node_id, value).then(
        (result) => this.say(result.accepted ? `${waiting.node_id}: input accepted` : `${waiting.node_id}: input not accepted`, !result.accepted),
        (error: unknown) => {
          submit.disabled = false;
          this.say(describe("input", error), true);
        },
      );
    };
  }
}

function describe(action: string, error: unknown): string {
  if (error instanceof FlowwireError) return `${action} refused: ${error.code}: ${error.message}`;
  return `${action} failed: ${String(error)}`;
}

// -- a form from a JSON Schema: objects of strings, numbers, booleans and enums; anything
// else is typed as JSON -----------------------------------------------------------------

interface Field {
  readonly name: string | null;
  readonly kind: "string" | "number" | "integer" | "boolean" | "enum" | "json";
  readonly element: HTMLElement;
  readonly control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  readonly options?: readonly JsonValue[];
}

type Schema = { [key: string]: JsonValue };

function asSchema(value: JsonValue | undefined): Schema {
  return value && typeof value === "object" && !Array.isArray(value) ? value : {};
}

function fieldsFor(schema: Schema | null | undefined): Field[] {
  const root = asSchema(schema ?? undefined);
  const properties = asSchema(root["properties"]);
  if (root["type"] === "object" && Object.keys(properties).length) {
    const required = Array.isArray(root["required"]) ? root["required"] : [];
    return Object.entries(properties).map(([name, sub]) => field(name, asSchema(sub), required.includes(name)));
  }
  return [field(null, root, true)];
}

function field(name: string | null, schema: Schema, required: boolean): Field {
  const id = `input-${name ?? "value"}`;
  const title = typeof schema["title"] === "string" ? schema["title"] : name ?? "Answer";
  const hint = typeof schema["description"] === "string" ? schema["description"] : "";
  const options = Array.isArray(schema["enum"]) ? schema["enum"] : undefined;
  const type = schema["type"];
  let kind: Field["kind"] = options ? "enum" : type === "string" || type === "number" || type === "integer" || type === "boolean" ? type : "json";
  if (name === null && schema["type"] === undefined && !options) kind = "json";
  let control: Field["control"];
  if (kind === "enum") control = h("select", { id, name: id }, ...(options ?? []).map((o, i) => h("option", { value: String(i) }, String(o))));
  else if (kind === "boolean") control = h("input", { id, name: id, type: "checkbox" });
  else if (kind === "json") control = h("textarea", { id, name: id, rows: 2, placeholder: "JSON, or plain text", required });
  else control = h("input", { id, name: id, type: kind === "string" ? "text" : "number", step: kind === "integer" ? 1 : "any", required });
  const label = h("label", { for: id }, title);
  const element = h("div", { class: `field ${kind}` }, label, control, ...(hint ? [h("small", {}, hint)] : []));
  return options ? { name, kind, element, control, options } : { name, kind, element, control };
}

function valueOf(fields: Field[], schema: Schema | null | undefined): JsonValue {
  const read = (f: Field): JsonValue => {
    const raw = f.control.value;
    if (f.kind === "boolean") return (f.control as HTMLInputElement).checked;
    if (f.kind === "enum") return f.options?.[Number(raw)] ?? null;
    if (f.kind === "number" || f.kind === "integer") {
      const n = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(n)) throw new Error(`${f.name ?? "the answer"}: a number, please`);
      return n;
    }
    if (f.kind === "json") {
      try {
        return JSON.parse(raw) as JsonValue;
      } catch {
        return raw;
      }
    }
    return raw;
  };
  const [only] = fields;
  if (only && only.name === null) return read(only);
  void schema;
  return Object.fromEntries(fields.map((f) => [f.name ?? "value", read(f)]));
}
