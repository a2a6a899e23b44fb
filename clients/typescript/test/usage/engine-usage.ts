// An engine's code against @flowwire/client/engine as published (dist/*.d.ts), under the
// same strict options as usage.ts; the lines after @ts-expect-error must not compile.
import { EngineClient, EngineError, type EngineHandler, type EngineSocketConstructor } from "@flowwire/client/engine";

declare const WebSocket: EngineSocketConstructor;

const handler: EngineHandler = {
  async execute(command) {
    const execution_id: string = `${command.workflow.id}-1`;
    return { execution_id, topic: `workflow:${command.workflow.id}` };
  },
  control(command, { principal }) {
    if (command.action === "stop") throw new EngineError("conflict", "it cannot stop", "$.action");
    void principal;
    return { status: command.action === "pause" ? "paused" : "running" };
  },
};

const engine = new EngineClient("wss://example.com/ws/engine", { key: "k", WebSocket, handler, workflows: ["etl"] });
await engine.start();
const stored = await engine.publish({ type: "node.status", workflow_id: "etl", execution_id: "e1", node_id: "load", status: "running" });
const seq: number = stored.seq;
const claimed: string[] = (await engine.claim("e1")).claimed;
void seq;
void claimed;

// @ts-expect-error: a node.status needs its status
await engine.publish({ type: "node.status", workflow_id: "etl", execution_id: "e1", node_id: "load" });
// @ts-expect-error: the server assigns seq
await engine.publish({ type: "execution.log", workflow_id: "etl", execution_id: "e1", level: "info", message: "m", seq: 3 });
// @ts-expect-error: not an error code
new EngineError("oops", "no such code");

export {};
