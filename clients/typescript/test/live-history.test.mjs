// Scenario 6 (tests/clients/SCENARIOS.md): the history overflows while the client is away
// (a memory broker keeping 5 events per topic): `recovered: false`, a `reset`, and the
// store rebuilt from the snapshot equals the server's state; later events apply on top.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { comparable, newClient, nodeEvents, Proxy, publish, serverSnapshots, startServer, statusIs, until } from "./helpers.mjs";

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
