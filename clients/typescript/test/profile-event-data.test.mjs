// Reference system 001 over the `event-data` profile (issue 15): its client and hook, as
// completed from its document (test/reference/001-websocket-client.ts), with its documented
// usage example (`MyComponent`) under react-test-renderer, against a live server with the
// reference runner. Sessions start over HTTP as in that system; its heartbeat (every 30 s:
// run at 50 ms here) is answered; it comes back after a server restart on its own.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { createElement as h } from "react";
import TestRenderer, { act } from "react-test-renderer";
import WebSocket from "ws";
import { restart, signal, startServer, until } from "./helpers.mjs";
import { consoleSpy, loadReference } from "./reference.mjs";

globalThis.IS_REACT_ACT_ENVIRONMENT = false; // its socket calls the handlers from outside React
globalThis.WebSocket = WebSocket; // a browser global it uses; Node 20 has none
const realSetInterval = globalThis.setInterval;
globalThis.setInterval = (fn, ms, ...args) => realSetInterval(fn, ms === 30000 ? 50 : ms, ...args);

const APP = "tests.clients.profile_apps:event_data()";

async function execute(port, workflow) {
  const response = await fetch(`http://127.0.0.1:${port}/api/workflows/${workflow}/execute`, { method: "POST" });
  assert.equal(response.status, 200);
  return (await response.json()).execution_id;
}

test("001's client and hook: sessions, tasks, progress, errors, heartbeat, restart", async () => {
  const server = await startServer({}, APP);
  const { getWebSocketClient, useWebSocket } = await loadReference("001-websocket-client.ts", [
    ["ws://localhost:8000/ws/ws", `ws://127.0.0.1:${server.port}/ws/ws`],
  ]);
  const changed = signal();
  const spy = consoleSpy(changed);
  after(() => spy.restore());
  const client = getWebSocketClient();
  after(() => client.disconnect());
  const pongs = [];
  client.subscribe("pong", (message) => (pongs.push(message), changed.fire()));

  // Its documented usage example, verbatim.
  const MyComponent = () => {
    useWebSocket({
      onSessionUpdate: (data) => {
        console.log('Session updated:', data);
      },
      onTaskUpdate: (data) => {
        console.log('Task updated:', data);
      },
      onProgress: (data) => {
        console.log('Progress:', data);
      },
      onError: (data) => {
        console.error('Error:', data);
      },
    });

    // Component logic...
    return null;
  };
  let root;
  await act(async () => {
    root = TestRenderer.create(h(MyComponent));
  });
  after(() => root.unmount());
  const logged = (text) => spy.logged.filter((entry) => entry.text === text).map((entry) => entry.value);
  await until(changed.on, () => client.status === "connected" && pongs.length > 0, "connected, its heartbeat answered");

  const first = await execute(server.port, "parallel");
  await until(changed.on, () => logged("Session updated:").some((m) => m.session_id === first && m.data.status === "completed"), "the session completed", 30_000);
  const started = logged("Session updated:").find((m) => m.session_id === first && m.data.status === "running");
  assert.deepEqual([started.data.completed_tasks, started.data.total_tasks], [0, 5]);
  const tasks = logged("Task updated:").filter((m) => m.session_id === first && m.data.status === "completed");
  assert.deepEqual(tasks.map((m) => m.data.task_id).sort(), ["clean", "enrich", "fetch", "merge", "report"]);
  const progress = logged("Progress:").filter((m) => m.session_id === first).at(-1);
  assert.deepEqual([progress.data.completed_tasks, progress.data.total_tasks], [5, 5]);

  const failing = await execute(server.port, "failing");
  await until(changed.on, () => logged("Session updated:").some((m) => m.session_id === failing && m.data.status === "failed"), "the session failed", 30_000);
  const failed = logged("Task updated:").find((m) => m.session_id === failing && m.data.status === "failed");
  assert.equal(failed.data.task_id, "transform");
  assert.match(failed.data.error, /schema mismatch/);

  assert.equal(client.send({ type: "jump" }), true);
  await until(changed.on, () => logged("Error:").length === 1, "the error event");
  assert.equal(logged("Error:")[0].data.code, "unknown_type");

  // The server restarts: its client reconnects on its own (1 s later, its first delay).
  await restart(server.id);
  const back = pongs.length;
  await until(changed.on, () => client.status === "connected" && pongs.length > back, "reconnected", 30_000);
  const again = await execute(server.port, "parallel");
  await until(changed.on, () => logged("Session updated:").some((m) => m.session_id === again && m.data.status === "completed"), "a session after the restart", 30_000);
});
