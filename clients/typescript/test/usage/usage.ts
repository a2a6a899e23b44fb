// Compiled by the test suite with tsc --strict, exactOptionalPropertyTypes and
// noUncheckedIndexedAccess, against the package as published (dist/*.d.ts): what an
// application writes, and what must not compile (@ts-expect-error).
import {
  CloseCode,
  ExecutionStore,
  FlowwireClient,
  FlowwireError,
  type ConnectionState,
  type ExecuteResult,
  type ExecutionView,
  type FlowwireErrorCode,
  type NodeStatus,
  type WebSocketConstructor,
  type WorkflowSpec,
} from "@flowwire/client";

declare const SomeWebSocket: WebSocketConstructor;

const client = new FlowwireClient("wss://example.com/ws", {
  WebSocket: SomeWebSocket,
  token: async () => "secret",
  backoff: { baseMs: 250, maxMs: 10_000 },
  onError: (error, context) => void [error, context.kind],
});
const store = new ExecutionStore(client, { maxLogs: 100 });

const off = client.on("node.status", (event) => {
  const status: NodeStatus["status"] = event.status; // narrowed by the type literal
  void [status, event.node_id, event.seq];
  // @ts-expect-error: node.status has no `delta`
  void event.delta;
});
off();
client.on("node.token", (event) => void event.delta.length);
client.on("*", (event) => void event.topic);
client.on("reset", (reset) => void reset.epoch);
client.on("execution.snapshot", (snapshot) => void snapshot.last_seq);
// @ts-expect-error: not an event type
client.on("node.stauts", () => {});

client.onStatus((state: ConnectionState) => {
  if (state.status === "reconnecting" && state.closeCode === CloseCode.SLOW_CONSUMER) void state.retryInMs;
});

const workflow: WorkflowSpec = { id: "etl", nodes: [{ id: "extract", kind: "http" }], edges: [] };

export async function run(): Promise<void> {
  await client.ready;
  await client.subscribe(["workflow:etl"], { snapshot: true });
  const started: ExecuteResult = await client.execute(workflow, { inputs: { day: "2025-11-24" } });
  const { status } = await client.control(started.execution_id, "pause");
  const accepted: boolean = (await client.input(started.execution_id, "approve", { ok: true })).accepted;
  // Commands through request() are typed by their `type`:
  const unsubscribed: string[] = (await client.request({ type: "unsubscribe", topics: ["workflow:etl"] })).topics;
  void [status, accepted, unsubscribed];
  // @ts-expect-error: `control` takes an action of ControlAction
  await client.control(started.execution_id, "jump");
  // @ts-expect-error: commands are checked field by field
  await client.request({ type: "subscribe", tpoics: ["a"] });
  try {
    await client.execute(workflow, { timeoutMs: 5_000 });
  } catch (error) {
    if (error instanceof FlowwireError) {
      const code: FlowwireErrorCode = error.code;
      const path: string | undefined = error.path;
      void [code, path, error.retryAfterMs];
    }
  }
  const view: ExecutionView | undefined = store.get(started.execution_id);
  const node = view?.nodes.get("extract");
  const text: string | undefined = node?.text;
  const eta: number | null | undefined = view?.progress.eta_ms;
  void [text, eta, store.list().length, client.position("workflow:etl")?.epoch, client.stats.gaps];
  client.close();
}
