// Scenarios 2 and 3 (tests/clients/SCENARIOS.md): the server process the client is on is
// SIGKILLed mid-run and restarted on the same socket (the harness holds it): the client
// reconnects by itself; on the memory broker the stream is new (reset, rebuilt from
// snapshots), on Redis it resumes with every seq exactly once, in order.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { comparable, kill, newClient, range, restart, seqs, serverSnapshots, startRedis, startServer, until } from "./helpers.mjs";

const FINISHED = new Set(["completed", "failed", "stopped"]);
const workflows = async (port) => Object.fromEntries((await (await fetch(`http://127.0.0.1:${port}/api/workflows`)).json()).map((w) => [w.id, w]));

test("memory broker: SIGKILL and restart mid-run: reconnect, reset, the store rebuilt from snapshots", async () => {
  const server = await startServer();
  const samples = await workflows(server.port);
  const { client, store, errors, seen, events, resets } = newClient(server.url, { backoff: { baseMs: 100, maxMs: 1000 } });
  after(() => client.close());
  const first = await client.execute(samples.parallel);
  await until(events.on, () => seen.length >= 3, "the run's first events");
  await kill(server.id);
  await until((f) => client.onStatus(f), () => client.status === "reconnecting", "the client to notice");
  await restart(server.id); // the same socket: the client's attempts wait in its backlog
  await until((f) => client.onStatus(f), () => client.status === "open", "the reconnect", 30_000);
  await until((f) => client.on("reset", f), () => resets.length === 1, "the reset of the topic", 20_000);
  assert.deepEqual(resets.map((r) => r.topic), [first.topic]);
  assert.equal(store.get(first.execution_id), undefined, "the killed process took the run with it");
  // The new process serves the client as any other.
  const second = await client.execute(samples.llm);
  await until(store.subscribe, () => FINISHED.has(store.get(second.execution_id)?.status), "the new run to finish", 30_000);
  const { snapshots } = await serverSnapshots(server.url, second.topic);
  assert.deepEqual(comparable(store.snapshot(second.execution_id)), comparable(snapshots.find((s) => s.execution_id === second.execution_id)));
  assert.deepEqual(errors, []);
  assert.equal(client.stats.reconnects, 1);
});

test("Redis, two processes: the run on B, the client on A; A SIGKILLed and restarted: every seq once, in order", async () => {
  const redis = await startRedis();
  const env = { FLOWWIRE_REDIS_URL: redis.url };
  const app = "tests.servers.apps:redis_demo()";
  const [a, b] = await Promise.all([startServer(env, app), startServer(env, app)]);
  const samples = await workflows(a.port);
  const onA = newClient(a.url, { backoff: { baseMs: 100, maxMs: 1000 } });
  const onB = newClient(b.url);
  after(() => (onA.client.close(), onB.client.close()));
  const topic = "workflow:parallel";
  await onA.client.subscribe(topic);
  const run = await onB.client.execute(samples.parallel);
  await until(onA.events.on, () => onA.seen.length >= 3, "the first events on A");
  await kill(a.id);
  await restart(a.id);
  await until(onA.store.subscribe, () => FINISHED.has(onA.store.get(run.execution_id)?.status), "the run's end on A", 30_000);
  await until(onB.store.subscribe, () => FINISHED.has(onB.store.get(run.execution_id)?.status), "the run's end on B", 30_000);
  const last = onB.seen.at(-1).seq;
  assert.deepEqual(seqs(onB.seen, topic), range(1, last));
  assert.deepEqual(seqs(onA.seen, topic), range(1, last), "every seq exactly once, in order, across the restart");
  assert.equal(onA.client.stats.reconnects, 1);
  assert.deepEqual(onA.resets, [], "resumed by replay: nothing to reset");
  const { snapshots } = await serverSnapshots(a.url, topic);
  assert.deepEqual(comparable(onA.store.snapshot(run.execution_id)), comparable(snapshots.find((s) => s.execution_id === run.execution_id)));
  assert.deepEqual(onA.errors, []);
});

test("graceful restart (SIGTERM): goaway, close 1001, the reconnect waits reconnect_ms, then resumes", async () => {
  const server = await startServer({ FLOWWIRE_OPTIONS: JSON.stringify({ reconnect_ms: 800 }) });
  const { client, errors, resets } = newClient(server.url);
  after(() => client.close());
  await client.subscribe("workflow:w");
  const closes = [];
  client.onStatus((s) => s.status === "reconnecting" && closes.push(s));
  await restart(server.id); // SIGTERM, the server drains (goaway, 1001), a new process on the socket
  await until((f) => client.onStatus(f), () => client.status === "open", "the reconnect", 30_000);
  assert.equal(closes[0].closeCode, 1001);
  assert.ok(closes[0].retryInMs >= 800 && closes[0].retryInMs <= 1300, `waited ${closes[0].retryInMs} ms`);
  await until((f) => client.on("reset", f), () => resets.length === 1, "the reset (a new process: a new epoch)");
  assert.deepEqual(errors, []);
});
