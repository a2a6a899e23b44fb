// Reference system 000 over the `type-payload` profile (issue 15): its documented client
// class and React component (test/reference/000-workflow-websocket-client.ts), in Node
// against a live flowwire server with the reference runner. The component renders the
// statuses and log lines its handlers keep; a second client, as its executor does, starts
// runs with `workflow.start` and pauses, resumes and stops them by workflow; it survives a
// server restart with the reconnect its fields describe.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { createElement as h } from "react";
import TestRenderer, { act } from "react-test-renderer";
import WebSocket from "ws";
import { restart, signal, startServer, until } from "./helpers.mjs";
import { consoleSpy, loadReference } from "./reference.mjs";

globalThis.IS_REACT_ACT_ENVIRONMENT = false; // its socket updates state from outside React
globalThis.WebSocket = WebSocket; // a browser global the client uses; Node 20 has none

const APP = "tests.clients.profile_apps:type_payload()";
let ids = 0;
const message = (type, workflowId, payload) => ({ id: `m${++ids}`, type, timestamp: Date.now(), workflowId, ...(payload ? { payload } : {}) });

test("000's client and component: statuses, logs, start, pause, resume, stop, heartbeat, restart", async () => {
  const server = await startServer({}, APP);
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const { MessageType, WorkflowCanvas, WorkflowWebSocketClient } = await loadReference("000-workflow-websocket-client.ts", [["ws://localhost:8080", url]]);
  const changed = signal();
  const spy = consoleSpy(changed);
  after(() => spy.restore());

  const executor = new WorkflowWebSocketClient(); // the executor's side: commands, echoes
  const heard = [];
  for (const type of Object.values(MessageType)) {
    executor.on(type, (msg) => {
      heard.push(msg);
      changed.fire();
    });
  }
  executor.connect(url);
  after(() => executor.disconnect());

  let root;
  await act(async () => {
    root = TestRenderer.create(h(WorkflowCanvas));
  });
  after(() => root.unmount());
  const rendered = () => root.root.findAllByType("li").map((li) => li.children.join(""));
  const tick = setInterval(() => changed.fire(), 20); // re-check the rendered tree as React commits
  after(() => clearInterval(tick));
  const opened = () => spy.logged.filter((e) => e.level === "log" && e.text.startsWith("WebSocket") && e.text.includes("建立")).length;
  await until(changed.on, () => opened() >= 2, "both connections open");

  // Its own heartbeat is answered in its own form.
  executor.send({ type: "heartbeat" });
  await until(changed.on, () => heard.some((m) => m.type === "heartbeat"), "the heartbeat answer");

  // workflow.start: the component shows the node running and the log line.
  const slow = {
    nodes: [
      { id: "hello", type: "log", data: { message: "starting" } },
      { id: "wait", type: "sleep", data: { ms: 60000 } },
    ],
    edges: [{ source: "hello", target: "wait" }],
    config: {},
  };
  executor.send(message(MessageType.WORKFLOW_START, "w000", slow));
  await until(changed.on, () => rendered().includes("wait:running") && rendered().includes("info:starting"), "node.running and execution.log rendered", 30_000);
  const started = await until(changed.on, () => heard.find((m) => m.type === "workflow.start"), "the workflow.start echo");
  await until(changed.on, () => heard.some((m) => m.type === "node.success" && m.payload.nodeId === "hello"), "node.success");
  assert.deepEqual(started.payload.nodes.map((n) => n.id), ["hello", "wait"]);
  assert.equal(typeof started.timestamp, "number");
  assert.ok(heard.some((m) => m.type === "node.success" && m.payload.nodeId === "hello" && m.payload.status === "success"));

  // Pause, resume, stop, addressed by workflow: each is done and echoed to every watcher.
  for (const [command, echo] of [
    [MessageType.WORKFLOW_PAUSE, "workflow.pause"],
    [MessageType.WORKFLOW_RESUME, "workflow.resume"],
    [MessageType.WORKFLOW_STOP, "workflow.stop"],
  ]) {
    executor.send(message(command, "w000"));
    await until(changed.on, () => heard.some((m) => m.type === echo && m.workflowId === "w000"), echo, 30_000);
  }
  const replies = () => heard.filter((m) => m.type === "system.status" && m.payload.status === "ok").map((m) => m.payload.data);
  await until(changed.on, () => replies().some((data) => data.status === "stopped"), "the reply to stop");
  assert.deepEqual(replies().slice(-3), [{ status: "paused" }, { status: "running" }, { status: "stopped" }]);

  // A run to its end: execution.progress and execution.complete in its own shape.
  const quick = { nodes: [{ id: "one", type: "sleep", data: { ms: 20 } }, { id: "two", type: "log", data: { message: "done", level: "warning" } }], edges: [{ source: "one", target: "two" }] };
  executor.send(message(MessageType.WORKFLOW_START, "w000b", quick));
  await until(changed.on, () => heard.some((m) => m.type === "execution.complete" && m.workflowId === "w000b"), "execution.complete", 30_000);
  await until(changed.on, () => rendered().includes("warn:done"), "the warning rendered");
  const progress = heard.filter((m) => m.type === "execution.progress" && m.workflowId === "w000b").at(-1);
  assert.equal(progress.payload.progress, 100);
  assert.equal(progress.payload.totalNodes, 2);
  assert.ok(rendered().includes("warn:done"), "a warning is `warn` in its levels");

  // The server restarts: both reconnect on their own and go on.
  await restart(server.id);
  await until(changed.on, () => opened() >= 4, "both connections open again", 30_000);
  executor.send(message(MessageType.WORKFLOW_START, "w000c", { nodes: [{ id: "again", type: "sleep", data: { ms: 60000 } }], edges: [] }));
  await until(changed.on, () => rendered().includes("again:running"), "a run after the restart", 30_000);
  executor.send(message(MessageType.WORKFLOW_STOP, "w000c"));
  await until(changed.on, () => heard.some((m) => m.type === "workflow.stop" && m.workflowId === "w000c"), "stopped after the restart", 30_000);
});
