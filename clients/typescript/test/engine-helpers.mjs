// Shared by the Node engine tests: schema validators of every frame an engine sends and
// receives (ajv, the generated JSON Schemas), and a small engine that runs one node per
// input step and takes pause, resume and stop.
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import WebSocket from "ws";
import { EngineClient, EngineError } from "@flowwire/client/engine";

const SCHEMAS = new URL("../../../schemas/", import.meta.url);
const ajv = new Ajv2020({ strict: false, allErrors: true });
export const validators = {
  sent: ajv.compile(JSON.parse(readFileSync(new URL("client-frame.schema.json", SCHEMAS), "utf8"))),
  received: ajv.compile(JSON.parse(readFileSync(new URL("server-frame.schema.json", SCHEMAS), "utf8"))),
};

/** A small engine: one execution per `execute`, a node waiting for input per step. */
export function reviewEngine(publish, commands) {
  const runs = new Map();
  const emit = (run, event) => publish({ workflow_id: run.workflow, execution_id: run.id, ...event });
  const conflict = (run, action) => new EngineError("conflict", `cannot ${action} execution ${run.id}: it is ${run.status}`);
  const find = (id) => {
    const run = runs.get(id);
    if (!run) throw new EngineError("not_found", `no execution ${id}`, "$.execution_id");
    return run;
  };
  return {
    async execute(command) {
      commands.push("execute");
      const run = { id: `node-${runs.size + 1}`, workflow: command.workflow.id, status: "running", step: 0 };
      runs.set(run.id, run);
      const nodes = command.workflow.nodes.map((n) => ({ id: n.id, kind: n.kind }));
      await emit(run, { type: "execution.started", nodes, edges: [] });
      await emit(run, { type: "node.status", node_id: nodes[0].id, status: "running" });
      await emit(run, { type: "input.requested", node_id: nodes[0].id, prompt: "Go on?" });
      run.nodes = nodes;
      return { execution_id: run.id, topic: `workflow:${run.workflow}` };
    },
    async control(command, { principal }) {
      commands.push(`control ${command.action}`);
      const run = find(command.execution_id);
      const by = principal?.id;
      if (command.action === "pause") {
        if (run.status !== "running") throw conflict(run, "pause");
        run.status = "paused";
        await emit(run, { type: "execution.paused", by });
      } else if (command.action === "resume") {
        if (run.status !== "paused") throw conflict(run, "resume");
        run.status = "running";
        await emit(run, { type: "execution.resumed", by });
      } else {
        run.status = "stopped";
        await emit(run, { type: "execution.stopped", by });
      }
      return { status: run.status };
    },
    async input(command, { principal }) {
      commands.push("input");
      const run = find(command.execution_id);
      const node = run.nodes[run.step];
      if (command.node_id !== node.id) throw new EngineError("conflict", `node ${command.node_id} is not waiting`, "$.node_id");
      await emit(run, { type: "input.received", node_id: node.id, by: principal?.id });
      await emit(run, { type: "node.status", node_id: node.id, status: "succeeded", output: command.value });
      run.step += 1;
      const next = run.nodes[run.step];
      await emit(run, { type: "node.status", node_id: next.id, status: "running" });
      await emit(run, { type: "input.requested", node_id: next.id, prompt: "Really?" });
      return { accepted: true };
    },
  };
}

/** `onFrame` for an EngineClient: every frame that breaks the schemas lands in `violations`. */
export const validating = (violations) => (direction, data) => {
  if (!validators[direction](JSON.parse(data))) violations.push({ direction, data, errors: validators[direction].errors });
};

export const REVIEW = {
  id: "review",
  nodes: [
    { id: "first", kind: "input" },
    { id: "second", kind: "input" },
  ],
  edges: [{ source: "first", target: "second" }],
};

/** `ws`, checking every frame a user's client sends and receives (pass it as `WebSocket`
 * to `newClient`); what breaks the schemas lands in `violations`. */
export function validatingWebSocket(WebSocket, violations) {
  const check = validating(violations);
  return class extends WebSocket {
    constructor(...args) {
      super(...args);
      this.on("message", (data, binary) => {
        if (!binary) check("received", String(data));
      });
    }

    send(data, ...rest) {
      if (typeof data === "string") check("sent", data);
      return super.send(data, ...rest);
    }
  };
}

/** The review engine connected to `url` with the test apps' engine key: every frame it
 * sends and receives is checked into `violations`, each command's action noted in `commands`. */
export function reviewEngineClient(url, violations, commands) {
  const engine = new EngineClient(url, {
    key: "engine-key",
    WebSocket,
    workflows: ["review"],
    handler: reviewEngine((event) => engine.publish(event), commands),
    onFrame: validating(violations),
  });
  return engine;
}
