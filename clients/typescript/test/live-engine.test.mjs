// A Node engine (EngineClient, @flowwire/client/engine) runs executions behind a live
// flowwire server: a user's client executes, watches, pauses, resumes, answers an input
// and stops; the engine gets each command and the user its answer. Every frame the engine
// and the user's client send and receive is validated against the generated schemas (ajv).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import WebSocket from "ws";
import { EngineClient } from "@flowwire/client/engine";
import { REVIEW, reviewEngineClient, validating, validatingWebSocket } from "./engine-helpers.mjs";
import { newClient, Proxy, startServer, until } from "./helpers.mjs";

test("a Node engine behind a live server: execute, pause, resume, input and stop reach it", async () => {
  const server = await startServer({}, "tests.servers.apps:engine_app()");
  const violations = [];
  const commands = [];
  const engine = reviewEngineClient(`ws://127.0.0.1:${server.port}/ws/engine`, violations, commands);
  await engine.start();
  after(() => engine.close());

  const { client, store, errors } = newClient(`ws://127.0.0.1:${server.port}/ws?user=ada`, { WebSocket: validatingWebSocket(WebSocket, violations) });
  after(() => client.close());
  const run = await client.execute(REVIEW);
  assert.equal(run.execution_id, "node-1");
  const view = () => store.get(run.execution_id);
  await until(store.subscribe, () => view()?.inputs.length === 1, "the first input request");

  assert.deepEqual(await client.control(run.execution_id, "pause"), { status: "paused" });
  await until(store.subscribe, () => view().status === "paused", "paused");
  await assert.rejects(client.control(run.execution_id, "pause"), (e) => e.code === "conflict");
  assert.deepEqual(await client.control(run.execution_id, "resume"), { status: "running" });
  assert.deepEqual(await client.input(run.execution_id, "first", { go: true }), { accepted: true });
  await until(store.subscribe, () => view().nodes.get("second")?.status === "running", "the second node");
  assert.deepEqual(await client.control(run.execution_id, "stop"), { status: "stopped" });
  await until(store.subscribe, () => view().status === "stopped", "stopped");

  assert.deepEqual(commands, ["execute", "control pause", "control pause", "control resume", "input", "control stop"]);
  assert.deepEqual(violations, []);
  assert.deepEqual(errors, []);
});

test("the engine's connection drops: it reconnects, claims its run again, and no event is lost or doubled", async () => {
  const server = await startServer({}, "tests.servers.apps:engine_app()");
  const proxy = await new Proxy(server.port).listen();
  after(() => proxy.close());
  const violations = [];
  const commands = [];
  const run = { workflow_id: "stream", execution_id: "js-1" };
  const engine = new EngineClient(proxy.url("/ws/engine"), {
    key: "engine-key",
    WebSocket,
    reconnectMs: 20,
    maxReconnectMs: 100,
    handler: {
      async control(command, { principal }) {
        commands.push(command.action);
        await engine.publish({ type: "execution.paused", ...run, by: principal?.id });
        return { status: "paused" };
      },
    },
    onFrame: validating(violations),
  });
  await engine.start();
  after(() => engine.close());
  const { client, seen, events, errors } = newClient(`ws://127.0.0.1:${server.port}/ws?user=ada`, { WebSocket: validatingWebSocket(WebSocket, violations) });
  after(() => client.close());
  await client.subscribe("workflow:stream");

  const token = (index) => engine.publish({ type: "node.token", ...run, node_id: "talk", delta: `w${index} `, index });
  await engine.publish({ type: "execution.started", ...run, nodes: [{ id: "talk" }], edges: [] });
  await engine.publish({ type: "node.status", ...run, node_id: "talk", status: "running" });
  await Promise.all(Array.from({ length: 10 }, (_, i) => token(i)));
  proxy.down(); // the connection drops, and the way back is shut for a while
  const whileAway = Array.from({ length: 10 }, (_, i) => token(10 + i));
  proxy.up();
  await Promise.all(whileAway); // sent again once it is back
  assert.ok(engine.connections >= 2, "it reconnected");

  assert.deepEqual(await client.control(run.execution_id, "pause"), { status: "paused" }); // it holds the run again
  assert.deepEqual(commands, ["pause"]);
  await until(events.on, () => seen.some((e) => e.type === "execution.paused"), "execution.paused");
  const tokens = seen.filter((e) => e.type === "node.token").map((e) => e.index);
  assert.deepEqual(tokens, Array.from({ length: 20 }, (_, i) => i));
  const seqs = seen.map((e) => e.seq);
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0] + i));
  assert.deepEqual(violations, []);
  assert.deepEqual(errors, []);
});
