// Reference system 004 over the `type-data` profile (issue 15): its documented React hook,
// verbatim (test/reference/004-use-workflow-websocket.ts), rendered with react-test-renderer
// in Node against a live flowwire server running the reference runner. Runs start over HTTP
// as in that system; its heartbeat is its text `ping` (every 30 s: the test runs its
// interval at 50 ms); it receives every message type its handler handles, in its own format.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { createElement as h } from "react";
import TestRenderer, { act } from "react-test-renderer";
import WebSocket from "ws";
import { restart, signal, startServer, until } from "./helpers.mjs";
import { consoleSpy, loadReference } from "./reference.mjs";

// The hook's socket updates its state from outside React, as in a browser: renders are
// scheduled by React itself, and the test waits for them (no act around the waits).
globalThis.IS_REACT_ACT_ENVIRONMENT = false;
globalThis.WebSocket = WebSocket; // a browser global the hook uses; Node 20 has none
const realSetInterval = globalThis.setInterval;
const intervals = [];
globalThis.setInterval = (fn, ms, ...args) => {
  const id = realSetInterval(fn, ms === 30000 ? 50 : ms, ...args);
  intervals.push(id);
  return id;
};
// The hook never clears its ping interval (its `onopen` returns the cleanup, which the
// socket ignores): clear them when the test is done, or Node never exits.
after(() => intervals.forEach((id) => clearInterval(id)));

const APP = "tests.clients.profile_apps:type_data()";

async function execute(port, workflow) {
  const response = await fetch(`http://127.0.0.1:${port}/api/workflows/${workflow}/execute`, { method: "POST" });
  assert.equal(response.status, 200);
  return (await response.json()).execution_id;
}

test("004's hook: every message it handles, its ping, a failure, a server restart", async () => {
  const server = await startServer({}, APP);
  const { useWorkflowWebSocket } = await loadReference("004-use-workflow-websocket.ts", [
    ["ws://localhost:8000", `ws://127.0.0.1:${server.port}`],
  ]);
  const changed = signal();
  const spy = consoleSpy(changed);
  after(() => spy.restore());
  const hooks = {};
  const edgesSeen = new Set();
  function Probe({ workflowId }) {
    const state = useWorkflowWebSocket(workflowId);
    hooks[workflowId] = state;
    for (const flow of state.edgeFlows) edgesSeen.add(`${flow.sourceNodeId}->${flow.targetNodeId}`);
    changed.fire();
    return null;
  }
  const seen = (text) => spy.logged.filter((entry) => entry.text === text);
  let root;
  await act(async () => {
    root = TestRenderer.create(h(Probe, { workflowId: "parallel", key: "one" }));
  });
  await until(changed.on, () => hooks.parallel?.isConnected && seen("pong received").length > 0, "connected, and its ping answered");

  await execute(server.port, "parallel");
  await until(changed.on, () => seen("Workflow completed:").length === 1, "workflow_complete", 30_000);
  const run = hooks.parallel;
  assert.deepEqual(Object.keys(run.nodeStatuses).sort(), ["clean", "enrich", "fetch", "merge", "report"]);
  assert.ok(Object.values(run.nodeStatuses).every((node) => node.status === "completed"), JSON.stringify(run.nodeStatuses));
  assert.equal(run.progress, 100);
  const started = seen("Workflow started:")[0].value;
  assert.deepEqual(started.execution_order.length, 5);
  assert.ok(seen("Node status changed:").length >= 10, "running and completed of each node");
  assert.ok(seen("Progress:").length >= 1);
  assert.ok(edgesSeen.has("fetch->clean") && edgesSeen.has("merge->report"), [...edgesSeen].join(","));

  // A failing run: its node turns `error`, the hook logs the `error` message.
  await act(async () => {
    root.update(h(Probe, { workflowId: "failing", key: "two" }));
  });
  await until(changed.on, () => hooks.failing?.isConnected && seen("pong received").length > 1, "connected to failing");
  await execute(server.port, "failing");
  await until(changed.on, () => spy.logged.some((e) => e.level === "error" && e.text === "Workflow error:"), "the error message", 30_000);
  assert.equal(hooks.failing.nodeStatuses.transform.status, "error");
  assert.match(hooks.failing.nodeStatuses.transform.error, /schema mismatch/);

  // The server restarts: the hook sees the close; remounting it (the reconnect its document
  // asks the app to add) connects again and follows a new run.
  await restart(server.id);
  await until(changed.on, () => hooks.failing.isConnected === false, "the close on restart", 30_000);
  const pongs = seen("pong received").length;
  await act(async () => {
    root.update(h(Probe, { workflowId: "parallel", key: "three" }));
  });
  await until(changed.on, () => hooks.parallel.isConnected && seen("pong received").length > pongs, "connected again", 30_000);
  await execute(server.port, "parallel");
  await until(changed.on, () => seen("Workflow completed:").length === 2, "a run after the restart", 30_000);
  assert.equal(hooks.parallel.progress, 100);
  await act(async () => root.unmount());
});
