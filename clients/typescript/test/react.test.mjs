// The React bindings (@flowwire/client/react) rendered with react-test-renderer in Node,
// against a scripted server: one socket shared by the components below the provider.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { createElement as h } from "react";
import TestRenderer, { act } from "react-test-renderer";
import { FlowwireProvider, useConnectionStatus, useEvents, useExecution, useExecutions } from "@flowwire/client/react";
import { event, newClient, scripted, signal, until } from "./helpers.mjs";

globalThis.IS_REACT_ACT_ENVIRONMENT = true;

test("provider, useConnectionStatus, useExecution, useExecutions and useEvents", async () => {
  let release;
  const go = new Promise((resolve) => (release = resolve));
  const server = await scripted(async (peer) => {
    peer.welcome();
    peer.reply(await peer.next("subscribe"), { topics: { "workflow:w": { epoch: "E", seq: 0, recovered: false } } });
    await go;
    peer.send(event(1, { type: "execution.started", name: "Nightly", nodes: [{ id: "a" }, { id: "b" }], edges: [] }));
    peer.send(event(2, { node_id: "a", status: "succeeded" }));
    peer.send(event(3, { type: "execution.log", level: "info", message: "half way" }));
  });
  const { client, store } = newClient(server.url);
  after(() => (client.close(), server.close()));
  const rendered = signal();
  const renders = { status: 0, run: 0 };
  const logs = [];

  function Status() {
    const connection = useConnectionStatus();
    renders.status++;
    return h("span", null, connection.status);
  }
  function Run({ id }) {
    const run = useExecution(id);
    renders.run++;
    useEvents("execution.log", (line) => logs.push(line.message));
    rendered.fire();
    return run ? h("p", null, `${run.name}: ${run.progress.percent}% ${[...run.nodes.values()].map((n) => n.status).join(",")}`) : h("p", null, "waiting");
  }
  function List() {
    return h("ul", null, useExecutions().map((run) => h("li", { key: run.execution_id }, run.execution_id)));
  }

  let root;
  await act(async () => {
    root = TestRenderer.create(h(FlowwireProvider, { client, store }, h(Status), h(Run, { id: "x" }), h(List)));
  });
  await act(() => client.subscribe("workflow:w"));
  assert.equal(root.root.findByType("span").children[0], "open");
  assert.equal(root.root.findByType("p").children[0], "waiting");
  await act(async () => {
    release();
    await until(rendered.on, () => logs.length === 1, "the log line to reach useEvents");
  });
  assert.equal(root.root.findByType("p").children[0], "Nightly: 50% succeeded,pending");
  assert.deepEqual(root.root.findAllByType("li").map((li) => li.children[0]), ["x"]);
  assert.deepEqual(logs, ["half way"]);
  const before = renders.status;
  await act(async () => {
    store.apply(event(4, { node_id: "b", status: "running" }));
  });
  assert.equal(renders.status, before, "a store change does not re-render the connection status");
  assert.equal(root.root.findByType("p").children[0], "Nightly: 50% succeeded,running");
  await act(async () => root.unmount());
});

test("useFlowwire outside a provider says what is missing", async () => {
  function Orphan() {
    useConnectionStatus();
    return null;
  }
  const errors = [];
  const original = console.error;
  console.error = () => {};
  try {
    await act(async () => {
      try {
        TestRenderer.create(h(Orphan));
      } catch (error) {
        errors.push(error);
      }
    });
  } catch (error) {
    errors.push(error);
  } finally {
    console.error = original;
  }
  assert.match(String(errors[0]), /no <FlowwireProvider> above this component/);
});
