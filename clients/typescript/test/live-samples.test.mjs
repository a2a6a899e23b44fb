// Scenario 1 (tests/clients/SCENARIOS.md): every sample workflow of `flowwire demo`, run by
// the client, ends in the same store state as the server's own snapshot of the run.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { comparable, newClient, serverSnapshots, startDemo, until } from "./helpers.mjs";

const FINISHED = new Set(["completed", "failed", "stopped"]);
let demo;
let samples;
before(async () => {
  demo = await startDemo();
  samples = await (await fetch(`http://127.0.0.1:${demo.port}/api/workflows`)).json();
});

test("every sample's final store state equals the server's snapshot", async () => {
  // batch: true, so that bursts (the LLM's tokens) may come as batch frames.
  const { client, store, errors } = newClient(demo.url, { batch: true });
  after(() => client.close());
  client.on("input.requested", (request) => {
    void client.input(request.execution_id, request.node_id, "yes");
  });
  client.on("node.token", () => {
    throw new Error("a broken token handler"); // isolated: the store still gets every token
  });
  const runs = await Promise.all(samples.map((workflow) => client.execute(workflow)));
  const ids = runs.map((run) => run.execution_id);
  await until(store.subscribe, () => ids.every((id) => FINISHED.has(store.get(id)?.status)), "every sample to finish", 60_000);
  assert.deepEqual(
    ids.map((id) => store.get(id).status),
    samples.map((s) => (s.id === "failing" ? "failed" : "completed")),
  );
  for (const [index, run] of runs.entries()) {
    const { snapshots } = await serverSnapshots(demo.url, run.topic);
    const server = snapshots.find((s) => s.execution_id === run.execution_id);
    assert.ok(server, `the server has a snapshot of ${samples[index].id}`);
    assert.deepEqual(comparable(store.snapshot(run.execution_id)), comparable(server), samples[index].id);
  }
  const llm = store.get(ids[samples.findIndex((s) => s.id === "llm")]);
  assert.equal(llm.nodes.get("draft").text.trim(), samples.find((s) => s.id === "llm").nodes[1].params.text);
  assert.ok(llm.usage.total_tokens > 0);
  assert.ok(errors.length > 0 && errors.every((e) => e.context.kind === "listener"), "only the broken handler's errors");
  assert.equal(client.stats.gaps + client.stats.duplicates + client.stats.resets, 0);
});

test("list: the runs the server keeps, live and finished, newest first, with their graph when asked", async () => {
  const { client, store, errors } = newClient(demo.url);
  after(() => client.close());
  const parallel = samples.find((s) => s.id === "parallel");
  const run = await client.execute(parallel);
  await until(store.subscribe, () => FINISHED.has(store.get(run.execution_id)?.status), "the run to finish", 30_000);
  const { executions } = await client.list({ topics: ["workflow:par*"], limit: 1, nodes: true });
  assert.equal(executions.length, 1);
  const [listed] = executions;
  assert.equal(listed.execution_id, run.execution_id);
  assert.equal(listed.status, "completed");
  assert.deepEqual(Object.keys(listed.nodes).sort(), parallel.nodes.map((n) => n.id).sort());
  assert.equal(listed.edges.length, parallel.edges.length);
  const all = await client.list();
  assert.ok(all.executions.some((e) => e.execution_id === run.execution_id && e.nodes === undefined));
  assert.deepEqual(errors, []);
});

test("over flowwire.v1.msgpack: the LLM sample, state equal to the server's", async () => {
  const { client, store, errors } = newClient(demo.url, { protocol: "msgpack" });
  after(() => client.close());
  const run = await client.execute(samples.find((s) => s.id === "llm"));
  await until(store.subscribe, () => FINISHED.has(store.get(run.execution_id)?.status), "the run to finish", 60_000);
  const { snapshots } = await serverSnapshots(demo.url, run.topic);
  assert.deepEqual(comparable(store.snapshot(run.execution_id)), comparable(snapshots.find((s) => s.execution_id === run.execution_id)));
  assert.ok(store.get(run.execution_id).nodes.get("draft").text.startsWith("flowwire streams"));
  assert.deepEqual(errors, []);
});
