// A Node engine behind two server processes on one redis-server: it is connected to
// process B; a user on process A executes its workflow, watches, pauses, resumes, answers
// an input and stops, and gets the engine's answers through B. Every frame of the engine
// and of the user's client is validated against the generated schemas.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import WebSocket from "ws";
import { REVIEW, reviewEngineClient, validatingWebSocket } from "./engine-helpers.mjs";
import { newClient, startRedis, startServer, until } from "./helpers.mjs";

const APP = "tests.servers.apps:engine_app()";

test("a user on process A drives a run of a Node engine connected to process B", async () => {
  const redis = await startRedis();
  const a = await startServer({ FLOWWIRE_REDIS_URL: redis.url }, APP);
  const b = await startServer({ FLOWWIRE_REDIS_URL: redis.url }, APP);
  const violations = [];
  const commands = [];
  const engine = reviewEngineClient(`ws://127.0.0.1:${b.port}/ws/engine`, violations, commands);
  await engine.start();
  after(() => engine.close());

  const { client, store, errors } = newClient(`ws://127.0.0.1:${a.port}/ws?user=ada`, { WebSocket: validatingWebSocket(WebSocket, violations) });
  after(() => client.close());
  const run = await client.execute(REVIEW); // forwarded from A to B's engine
  const view = () => store.get(run.execution_id);
  await until(store.subscribe, () => view()?.inputs.length === 1, "the first input request");
  assert.deepEqual(await client.control(run.execution_id, "pause"), { status: "paused" });
  await until(store.subscribe, () => view().status === "paused", "paused");
  assert.deepEqual(await client.control(run.execution_id, "resume"), { status: "running" });
  assert.deepEqual(await client.input(run.execution_id, "first", 1), { accepted: true });
  await until(store.subscribe, () => view().nodes.get("second")?.status === "running", "the second node");
  assert.deepEqual(await client.control(run.execution_id, "stop"), { status: "stopped" });
  await until(store.subscribe, () => view().status === "stopped", "stopped");
  assert.deepEqual(commands, ["execute", "control pause", "control resume", "input", "control stop"]);
  assert.deepEqual(violations, []);
  assert.deepEqual(errors, []);
});
