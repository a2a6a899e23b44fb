// Scenarios 4, 5 and 7 (tests/clients/SCENARIOS.md), through a TCP proxy this test owns:
// a dropped connection, a silently stalled one (half-open), commands while disconnected.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { newClient, nodeEvents, Proxy, publish, range, seqs, startServer, statusIs, until } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ FLOWWIRE_OPTIONS: JSON.stringify({ heartbeat_ms: 300 }) });
});

async function proxied(options = {}) {
  const proxy = await new Proxy(server.port).listen();
  const subject = newClient(proxy.url(), { backoff: { baseMs: 100, maxMs: 500 }, ...options });
  after(() => (subject.client.close(), proxy.close()));
  return { proxy, ...subject };
}

test("the proxy drops the connection mid-stream: reconnect, resume with since, no gap, no duplicate", async () => {
  const { proxy, client, seen, events, resets, errors } = await proxied();
  const topic = "workflow:drop";
  await client.subscribe(topic);
  const sent = publish(server.port, nodeEvents("drop", "x", 300));
  await until(events.on, () => seen.length >= 50, "50 events");
  proxy.drop();
  await sent;
  await publish(server.port, nodeEvents("drop", "x", 50, 300));
  await until(events.on, () => seen.length === 350, "every event", 30_000);
  assert.deepEqual(seqs(seen, topic), range(1, 350));
  assert.ok(proxy.accepted >= 2 && client.stats.reconnects >= 1);
  assert.deepEqual(resets, []);
  assert.deepEqual(errors, []);
});

test("the proxy stalls silently: the heartbeat watchdog gives up on the connection, resume, no gap", async () => {
  const { proxy, client, seen, events, resets } = await proxied({ heartbeatTimeoutMs: 300 });
  const topic = "workflow:stall";
  const closes = [];
  client.onStatus((s) => s.status === "reconnecting" && closes.push([s.closeCode, s.closeReason]));
  await client.subscribe(topic);
  await publish(server.port, nodeEvents("stall", "x", 20));
  await until(events.on, () => seen.length === 20, "20 events");
  proxy.stall(); // nothing more passes, and nothing says so
  await publish(server.port, nodeEvents("stall", "x", 20, 20));
  await until(events.on, () => seen.length === 40, "the events published during the stall", 30_000);
  assert.deepEqual(closes[0], [4002, "heartbeat timeout"]);
  assert.deepEqual(seqs(seen, topic), range(1, 40));
  assert.deepEqual(resets, []);
});

test("commands while disconnected: sent after the reconnect, or rejected with a clear timeout", async () => {
  const { proxy, client, store } = await proxied();
  const samples = await (await fetch(`http://127.0.0.1:${server.port}/api/workflows`)).json();
  const run = await client.execute(samples.find((w) => w.id === "approval"));
  await until(store.subscribe, () => store.get(run.execution_id)?.waiting, "the input request");
  proxy.down();
  await statusIs(client, "reconnecting");
  const late = await client.control(run.execution_id, "pause", { timeoutMs: 300 }).then(() => null, (e) => e);
  assert.equal(late.code, "timeout");
  assert.match(late.message, /^control c\d+: no answer within 300 ms \(never sent: the connection is reconnecting\)$/);
  const answer = client.input(run.execution_id, "approve", "yes"); // waits in the queue
  proxy.up();
  assert.deepEqual(await answer, { accepted: true });
  await until(store.subscribe, () => store.get(run.execution_id)?.status === "completed", "the run to complete", 30_000);
  assert.equal(store.get(run.execution_id).nodes.get("ship").status, "succeeded");
});
