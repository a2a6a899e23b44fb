// Scenario 6 (tests/clients/SCENARIOS.md): the history overflows while the client is away
// (a memory broker keeping 5 events per topic): `recovered: false`, a `reset`, and the
// store rebuilt from the snapshot equals the server's state; later events apply on top.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { comparable, newClient, nodeEvents, Proxy, publish, seqs, serverSnapshots, startServer, statusIs, until } from "./helpers.mjs";

test("history overflow while away: reset, then the state of the snapshots, then live events", async () => {
  const server = await startServer({ FLOWWIRE_HISTORY: "5" });
  const proxy = await new Proxy(server.port).listen();
  const { client, store, seen, events, resets, errors } = newClient(proxy.url(), { backoff: { baseMs: 100, maxMs: 500 } });
  after(() => (client.close(), proxy.close()));
  const topic = "workflow:hist";
  await client.subscribe(topic);
  await publish(server.port, nodeEvents("hist", "x", 11));
  await until(events.on, () => seen.length === 11, "11 events");
  proxy.down();
  await statusIs(client, "reconnecting");
  await publish(server.port, nodeEvents("hist", "x", 20, 11)); // 20 > the 5 the history keeps
  await publish(server.port, nodeEvents("hist", "y", 4));
  const reset = until((f) => client.on("reset", f), () => resets.length === 1, "the reset");
  proxy.up();
  await reset;
  await until(store.subscribe, () => store.get("x") && store.get("y"), "the snapshots of both executions");
  assert.deepEqual(resets.map((r) => r.topic), [topic]);
  assert.equal(client.stats.resets, 1);
  const { snapshots } = await serverSnapshots(server.url, topic);
  for (const id of ["x", "y"]) {
    assert.deepEqual(comparable(store.snapshot(id)), comparable(snapshots.find((s) => s.execution_id === id)), id);
  }
  await publish(server.port, nodeEvents("hist", "y", 6, 4));
  await until(events.on, () => seen.at(-1)?.seq === 41, "the live events after the snapshots");
  const after_ = await serverSnapshots(server.url, topic);
  assert.deepEqual(comparable(store.snapshot("y")), comparable(after_.snapshots.find((s) => s.execution_id === "y")));
  assert.deepEqual(client.position(topic), { seq: 41, epoch: after_.reply.data.topics[topic].epoch });
  assert.deepEqual(errors, []);
});

test("a filtered subscription: skipped seqs are no gaps, and it resumes filtered", async () => {
  const server = await startServer();
  const proxy = await new Proxy(server.port).listen();
  const { client, seen, events, errors } = newClient(proxy.url(), { backoff: { baseMs: 100, maxMs: 500 } });
  after(() => (client.close(), proxy.close()));
  const topic = "workflow:filtered";
  const reply = await client.subscribe(topic, { types: ["node.*"] });
  assert.deepEqual(reply.topics[topic].types, ["node.*"]);
  const mixed = (from, to) =>
    Array.from({ length: to - from }, (_, i) =>
      (from + i) % 2
        ? { type: "execution.log", workflow_id: "filtered", execution_id: "x", level: "info", message: `line ${from + i}` }
        : { type: "node.status", workflow_id: "filtered", execution_id: "x", node_id: `n${from + i}`, status: "running" },
    );
  await publish(server.port, mixed(0, 10)); // seqs 1..10: node.status at the odd seqs
  await until(events.on, () => seen.length === 5, "the five node events");
  proxy.down();
  await statusIs(client, "reconnecting");
  await publish(server.port, mixed(10, 20)); // while away: 11..20
  proxy.up();
  await until(events.on, () => seen.length === 10, "the five more, replayed filtered");
  assert.deepEqual(seqs(seen, topic), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
  assert.ok(seen.every((e) => e.type === "node.status"));
  assert.equal(client.stats.gaps, 0, "skips of a filtered topic are not gaps");
  assert.equal(client.stats.resets, 0, "it resumed by replay");
  assert.deepEqual(errors, []);
});
