// The client against a scripted server in this process: each behaviour of the protocol
// (docs/protocol.md) driven frame by frame, deterministically.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { encode, decode } from "@msgpack/msgpack";
import { ExecutionStore, FlowwireError } from "@flowwire/client";
import { event, newClient, scripted, signal, statusIs, until } from "./helpers.mjs";

const cleanup = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
function use(server, client) {
  cleanup.push(() => {
    // A scripted server's own assertions (what the client sent) count too.
    assert.deepEqual(server.peers.flatMap((peer) => peer.errors), []);
    return server.close();
  });
  if (client) cleanup.push(() => client.close());
}

test("lifecycle: connecting, then open on welcome; ready; commands issued before wait for it", async () => {
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const server = await scripted(async (peer) => {
    await gate; // welcome held back: commands already issued must wait, not fail
    peer.welcome();
    const control = await peer.next("control");
    peer.reply(control, { status: "paused" });
  });
  const { client } = newClient(server.url);
  use(server, client);
  const states = [];
  client.onStatus((s) => states.push(s.status));
  assert.equal(client.status, "connecting");
  const answer = client.control("ex-1", "pause");
  const ready = client.ready;
  await until(server.connected.on, () => server.peers.length === 1, "a connection");
  assert.equal(server.peers[0].received.length, 0, "nothing sent before welcome");
  release();
  await ready;
  assert.deepEqual(await answer, { status: "paused" });
  assert.deepEqual(states, ["open"]);
  assert.equal(client.connection.server, "scripted/0");
});

test("request: correlated by ref, a typed error with code, message and path; timeouts", async () => {
  const server = await scripted(async (peer) => {
    peer.welcome();
    const bad = await peer.next("execute");
    const good = await peer.next("control");
    peer.reply(good, { status: "stopped" }); // answered out of order: refs match them up
    peer.send({ type: "error", ref: bad.ref, code: "invalid_workflow", message: "$.workflow.edges: a cycle", path: "$.workflow.edges" });
    await peer.next("input"); // never answered
  });
  const { client } = newClient(server.url);
  use(server, client);
  const execute = client.execute({ id: "w", nodes: [{ id: "a", kind: "k" }] });
  const stop = client.control("ex", "stop");
  assert.deepEqual(await stop, { status: "stopped" });
  const error = await execute.then(() => null, (e) => e);
  assert.ok(error instanceof FlowwireError);
  assert.equal(error.code, "invalid_workflow");
  assert.equal(error.path, "$.workflow.edges");
  assert.equal(error.message, "$.workflow.edges: a cycle");
  const late = await client.input("ex", "n", true, { timeoutMs: 150 }).then(() => null, (e) => e);
  assert.equal(late.code, "timeout");
  assert.match(late.message, /input i\d+: no answer within 150 ms$/);
});

test("events: duplicates dropped, a gap answered by a resubscribe with since, batches unpacked in order", async () => {
  const server = await scripted(async (peer) => {
    peer.welcome();
    const sub = await peer.next("subscribe");
    peer.reply(sub, { topics: { "workflow:w": { epoch: "E", seq: 0, recovered: false } } });
    peer.send(event(1));
    peer.send({ type: "batch", frames: [event(2), event(3), { type: "ping", ts: 7 }, event(3)] });
    peer.send(event(2)); // duplicate
    peer.send(event(6)); // 4 and 5 missing
    const resync = await peer.next("subscribe");
    assert.deepEqual(resync.since, { "workflow:w": { seq: 3, epoch: "E" } });
    peer.send(event(7)); // still behind the hole: dropped, no second resubscribe
    peer.reply(resync, { topics: { "workflow:w": { epoch: "E", seq: 7, recovered: true } } });
    for (const seq of [4, 5, 6, 7, 8]) peer.send(event(seq));
  });
  const { client, seen, events } = newClient(server.url);
  use(server, client);
  await client.subscribe("workflow:w");
  await until(events.on, () => seen.length === 8, "8 events");
  assert.deepEqual(seen.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(client.stats.duplicates, 2);
  assert.equal(client.stats.gaps, 2);
  const pong = await server.peers[0].next("pong");
  assert.equal(pong.ts, 7, "a ping inside a batch is answered too");
  assert.equal(server.peers[0].received.filter((f) => f.type === "subscribe").length, 2);
});

test("typed handlers: a handler that throws reaches onError; the others and the connection go on", async () => {
  const server = await scripted(async (peer) => {
    peer.welcome();
    peer.reply(await peer.next("subscribe"), { topics: { "workflow:w": { epoch: "E", seq: 0, recovered: false } } });
    peer.send(event(1));
    peer.send(event(2, { type: "node.token", delta: "hi" }));
    peer.reply(await peer.next("control"), { status: "running" });
  });
  const { client, errors, seen, events } = newClient(server.url);
  use(server, client);
  const statuses = [];
  client.on("node.status", () => {
    throw new Error("boom");
  });
  const off = client.on("node.status", (e) => statuses.push(e.status));
  await client.subscribe("workflow:w");
  await until(events.on, () => seen.length === 2, "2 events");
  assert.deepEqual(statuses, ["running"]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].error.message, "boom");
  assert.equal(errors[0].context.kind, "listener");
  assert.deepEqual(await client.control("x", "resume"), { status: "running" });
  off();
  assert.equal(client.status, "open");
});

test("heartbeat: ping answered with pong; a silent connection is dropped by the watchdog and resumed", async () => {
  const server = await scripted(async (peer, index) => {
    peer.welcome({ heartbeat_ms: 600 });
    const sub = await peer.next("subscribe");
    if (index === 0) {
      peer.reply(sub, { topics: { "workflow:w": { epoch: "E", seq: 0, recovered: false } } });
      peer.send({ type: "ping", ts: 42 });
      await peer.next("pong", (f) => f.ts === 42);
      peer.send(event(1));
      return; // then silence: no ping, no close
    }
    assert.deepEqual(sub.since, { "workflow:w": { seq: 1, epoch: "E" } });
    peer.reply(sub, { topics: { "workflow:w": { epoch: "E", seq: 2, recovered: true } } });
    peer.send(event(2));
  });
  const { client, seen, events } = newClient(server.url, { heartbeatTimeoutMs: 400 });
  use(server, client);
  const closes = [];
  client.onStatus((s) => s.status === "reconnecting" && closes.push([s.closeCode, s.closeReason]));
  await client.subscribe("workflow:w");
  await until(events.on, () => seen.length === 2, "the event after the reconnect");
  assert.deepEqual(closes, [[4002, "heartbeat timeout"]]);
  assert.deepEqual(seen.map((e) => e.seq), [1, 2]);
});

test("resume: recovered false emits reset, the store drops the topic and rebuilds from the snapshot", async () => {
  const snapshot = {
    type: "execution.snapshot", topic: "workflow:w", workflow_id: "w", execution_id: "y", ts: 5000, status: "running",
    nodes: { a: { status: "succeeded", progress: 1 }, b: { status: "running", started_ts: 4000 } },
    progress: { completed: 1, total: 2, percent: 50, running: ["b"] }, last_seq: 90,
  };
  const server = await scripted(async (peer, index) => {
    peer.welcome();
    const sub = await peer.next("subscribe");
    if (index === 0) {
      peer.reply(sub, { topics: { "workflow:w": { epoch: "E1", seq: 0, recovered: false } } });
      peer.send(event(1, { type: "execution.started", nodes: [{ id: "a" }], edges: [] }));
      peer.close(1012, "stream reset");
      return;
    }
    assert.deepEqual(sub.since, { "workflow:w": { seq: 1, epoch: "E1" } });
    peer.reply(sub, { topics: { "workflow:w": { epoch: "E2", seq: 90, recovered: false } } });
    peer.send(snapshot);
    peer.send(event(91, { execution_id: "y", node_id: "b", status: "succeeded" }));
  });
  const { client, store, resets, seen, events } = newClient(server.url, { backoff: { baseMs: 10 } });
  use(server, client);
  await client.subscribe("workflow:w");
  await until(events.on, () => seen.length === 2, "the event after the snapshot");
  assert.deepEqual(resets, [{ type: "reset", topic: "workflow:w", epoch: "E2" }]);
  assert.equal(store.get("x"), undefined, "the execution of the lost stream was dropped");
  const y = store.get("y");
  assert.equal(y.nodes.get("b").status, "succeeded");
  assert.equal(y.progress.percent, 100);
  assert.deepEqual(client.position("workflow:w"), { seq: 91, epoch: "E2" });
});

test("close codes: 4001 without a fresh token does not reconnect", async () => {
  const server = await scripted(async (peer) => {
    peer.welcome();
    await peer.next("auth");
    peer.close(4001, "invalid credentials");
  });
  const tokens = [];
  const { client } = newClient(server.url, { token: () => (tokens.push("same"), "same") });
  use(server, client);
  await statusIs(client, "closed");
  assert.equal(client.connection.closeCode, 4001);
  assert.equal(server.peers.length, 1, "one connection: no loop");
  assert.equal(tokens.length, 2, "asked once to connect, once after the refusal");
  const error = await client.control("x", "stop").then(() => null, (e) => e);
  assert.equal(error.code, "closed");
});

test("close codes: 4001 then a fresh token from the callback reconnects with it", async () => {
  const server = await scripted(async (peer) => {
    peer.welcome();
    const auth = await peer.next("auth");
    if (auth.token === "old") return peer.close(4001, "invalid credentials");
    peer.reply(auth, { principal: "ada" });
    peer.reply(await peer.next("control"), { status: "paused" });
  });
  const offered = ["old", "new"];
  const { client } = newClient(server.url, { token: () => offered.shift(), backoff: { baseMs: 10 } });
  use(server, client);
  assert.deepEqual(await client.control("x", "pause"), { status: "paused" });
  assert.equal(server.peers.length, 2);
  assert.deepEqual(server.peers.map((p) => p.received.find((f) => f.type === "auth").token), ["old", "new"]);
});

test("close codes: a handshake refused with HTTP 403 does not reconnect", async () => {
  const server = await scripted(() => {}, { verifyClient: (_info, done) => done(false, 403) });
  const { client } = newClient(server.url);
  use(server, client);
  await statusIs(client, "closed");
  assert.equal(client.connection.closeReason, "HTTP 403");
});

test("close codes: goaway's reconnect_ms, the longer backoff of 4029, backoff for the others", async () => {
  const delays = {};
  const codes = [[1001, "goaway"], [4029, "flood"], [1012, "restart"], [4008, "slow"], [1011, "internal"], [1013, "later"]];
  const server = await scripted(async (peer, index) => {
    peer.welcome();
    const [code, reason] = codes[index] ?? [];
    if (!code) return;
    if (code === 1001) peer.send({ type: "goaway", reason: "server shutdown", reconnect_ms: 700 });
    peer.close(code, reason);
  });
  const { client } = newClient(server.url, { backoff: { baseMs: 20, maxMs: 40 }, slowDownMs: 300 });
  use(server, client);
  const done = signal();
  client.onStatus((s) => {
    if (s.status === "reconnecting") delays[s.closeCode] = s.retryInMs;
    done.fire();
  });
  await until(done.on, () => server.peers.length === codes.length + 1 && client.status === "open", "every close code", 20_000);
  assert.ok(delays[1001] >= 700 && delays[1001] <= 720, `goaway: ${delays[1001]}`);
  assert.ok(delays[4029] >= 300 && delays[4029] <= 340, `4029: ${delays[4029]}`);
  assert.ok(delays[1013] >= 300, `1013: ${delays[1013]}`);
  for (const code of [1012, 4008, 1011]) assert.ok(delays[code] <= 20, `${code}: ${delays[code]} within the first backoff step`);
});

test("backoff: full jitter under a growing cap, up to maxAttempts, then closed", async () => {
  const server = await scripted((peer) => peer.close(1011, "internal"));
  const seenDelays = [];
  const { client } = newClient(server.url, { backoff: { baseMs: 4, maxMs: 16, maxAttempts: 5 } });
  use(server, client);
  client.onStatus((s) => s.status === "connecting" && seenDelays.push([s.attempt, s.retryInMs]));
  await statusIs(client, "closed");
  assert.deepEqual(seenDelays.map(([a]) => a), [1, 2, 3, 4, 5]);
  seenDelays.forEach(([attempt, ms]) => assert.ok(ms >= 0 && ms <= Math.min(16, 4 * 2 ** (attempt - 1)), `attempt ${attempt}: ${ms}`));
  assert.equal(server.peers.length, 6);
});

test("offline queue: bounded, each command with its own timeout; close() rejects what waits", async () => {
  const server = await scripted(() => {}); // accepts, never welcomes
  const { client } = newClient(server.url, { maxQueued: 2 });
  use(server, client);
  const first = client.control("x", "pause", { timeoutMs: 100 }).then(() => null, (e) => e);
  const second = client.control("x", "resume").then(() => null, (e) => e);
  const third = await client.control("x", "stop").then(() => null, (e) => e);
  assert.equal(third.code, "queue_full");
  assert.match((await first).message, /no answer within 100 ms \(never sent: the connection is connecting\)/);
  client.close();
  assert.equal((await second).code, "closed");
  assert.equal(client.status, "closed");
});

test("msgpack: the codec is loaded for the msgpack subprotocol; frames are binary", async () => {
  const server = await scripted(async (peer) => {
    assert.equal(peer.ws.protocol, "flowwire.v1.msgpack");
    peer.ws.send(encode({ type: "welcome", protocol: "flowwire.v1", connection_id: "m", heartbeat_ms: 25000, max_frame_bytes: 1 << 20, server: "s" }));
    const frame = await until(peer.got.on, () => peer.received[0], "a frame");
    const sub = decode(frame);
    assert.equal(sub.type, "subscribe");
    peer.ws.send(encode({ type: "reply", ref: sub.ref, data: { topics: { t: { epoch: "E", seq: 0, recovered: false } } } }));
    peer.ws.send(encode({ type: "node.token", topic: "t", seq: 1, ts: 1, workflow_id: "w", execution_id: "x", node_id: "n", delta: "ü" }));
  });
  const { client, seen, events } = newClient(server.url, { protocol: "msgpack" });
  use(server, client);
  await client.subscribe("t");
  await until(events.on, () => seen.length === 1, "an event");
  assert.equal(seen[0].delta, "ü");
});

test("store: a snapshot, then events; immutable views; logs, tokens, usage, the input awaited", () => {
  const store = new ExecutionStore();
  let changes = 0;
  store.subscribe(() => changes++);
  const started = event(1, { type: "execution.started", name: "N", nodes: [{ id: "a", kind: "llm" }, { id: "b" }], edges: [{ source: "a", target: "b" }] });
  store.apply(started);
  const before = store.get("x");
  store.apply(event(2, { node_id: "a", status: "running", attempt: 1 }));
  store.apply(event(3, { type: "node.token", node_id: "a", delta: "Hel" }));
  store.apply(event(4, { type: "node.token", node_id: "a", delta: "lo" }));
  store.apply(event(5, { type: "node.usage", node_id: "a", prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, cost: 0.5 }));
  store.apply(event(6, { type: "execution.log", level: "info", message: "hi" }));
  store.apply(event(7, { type: "input.requested", node_id: "b", prompt: "ok?" }));
  const view = store.get("x");
  assert.notEqual(view, before);
  assert.equal(before.nodes.get("a").status, "pending", "an earlier view never changes");
  assert.equal(view.nodes.get("a").text, "Hello");
  assert.deepEqual(view.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, cost: 0.5 });
  assert.equal(view.logs.length, 1);
  assert.equal(view.waiting.prompt, "ok?");
  assert.deepEqual(view.progress, { completed: 0, total: 2, percent: 0, running: ["a"] });
  assert.deepEqual(view.nodes.get("a").usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, cost: 0.5 });
  assert.deepEqual(view.inputs.map((input) => [input.node_id, input.execution_id]), [["b", "x"]]);
  store.apply(event(8, { type: "node.token", node_id: "a", delta: "!" }));
  assert.equal(store.get("x").last_seq, 7, "tokens and logs do not move last_seq; usage and input requests do, as on the server");
  store.apply(event(9, { type: "input.received", node_id: "b", by: "ada" }));
  assert.equal(store.get("x").waiting, undefined, "answered (by anyone): no form to show");
  assert.equal(changes, 9);
  assert.equal(store.list().length, 1);
  assert.equal(store.list(), store.list(), "the same list until something changes");
});

test("store: maxLogs keeps that many lines and counts the rest", () => {
  for (const maxLogs of [1, 3]) {
    const store = new ExecutionStore(undefined, { maxLogs });
    store.apply(event(1, { type: "execution.started", nodes: [], edges: [] }));
    for (let i = 2; i < 7; i++) store.apply(event(i, { type: "execution.log", level: "info", message: `${i}` }));
    const view = store.get("x");
    assert.deepEqual(view.logs.map((line) => line.message), ["2", "3", "4", "5", "6"].slice(-maxLogs));
    assert.equal(view.logs_omitted, 5 - maxLogs);
  }
});

test("execute: the run's topic is held and resumed; events held back by the server are asked for again", async () => {
  const server = await scripted(async (peer, index) => {
    peer.welcome();
    if (index === 0) {
      const execute = await peer.next("execute");
      assert.equal(execute.subscribe, undefined, "the server subscribes the connection (default)");
      peer.reply(execute, { execution_id: "x", topic: "workflow:w" });
      peer.send(event(1, { type: "execution.started", nodes: [{ id: "n1" }, { id: "n2" }], edges: [] }));
      peer.send(event(2));
      const sub = await peer.next("subscribe"); // for the epoch, without snapshots
      assert.equal(sub.snapshot, false);
      peer.reply(sub, { topics: { "workflow:w": { epoch: "E", seq: 4, recovered: false } } });
      const again = await peer.next("subscribe");
      assert.deepEqual(again.since, { "workflow:w": { seq: 2, epoch: "E" } });
      peer.reply(again, { topics: { "workflow:w": { epoch: "E", seq: 4, recovered: true } } });
      peer.send(event(3));
      peer.send(event(4));
      peer.close(1012, "restart");
      return;
    }
    const sub = await peer.next("subscribe");
    assert.deepEqual(sub.since, { "workflow:w": { seq: 4, epoch: "E" } });
    peer.reply(sub, { topics: { "workflow:w": { epoch: "E", seq: 5, recovered: true } } });
    peer.send(event(5, { node_id: "n2", status: "succeeded" }));
  });
  const { client, store, seen, events } = newClient(server.url, { backoff: { baseMs: 10 } });
  use(server, client);
  await client.execute({ id: "w", nodes: [{ id: "n1", kind: "k" }, { id: "n2", kind: "k" }] });
  await until(events.on, () => seen.length === 5, "5 events");
  assert.deepEqual(seen.map((e) => e.seq), [1, 2, 3, 4, 5]);
  assert.equal(store.get("x").nodes.get("n2").status, "succeeded");
});

test("execute: events the server held while it answered the subscribe for the epoch follow its reply, and are applied", async () => {
  // The reply's seq counts events still on their way: on Redis the execution's first
  // events may reach this server's listener while it reads the position.
  const server = await scripted(async (peer) => {
    peer.welcome();
    const execute = await peer.next("execute");
    peer.reply(execute, { execution_id: "x", topic: "workflow:w" });
    const sub = await peer.next("subscribe");
    peer.reply(sub, { topics: { "workflow:w": { epoch: "E", seq: 2, recovered: false } } });
    peer.send(event(1, { type: "execution.started", nodes: [{ id: "n1" }], edges: [] }));
    peer.send(event(2));
    peer.send(event(3, { node_id: "n1", status: "succeeded" }));
  });
  const { client, store, seen, events } = newClient(server.url);
  use(server, client);
  await client.execute({ id: "w", nodes: [{ id: "n1", kind: "k" }] });
  await until(events.on, () => seen.length === 3, "3 events");
  assert.deepEqual(seen.map((e) => e.seq), [1, 2, 3]);
  assert.deepEqual(client.position("workflow:w"), { seq: 3, epoch: "E" });
  assert.equal(store.get("x").nodes.get("n1").status, "succeeded");
});

test("commands with an idempotency key are sent again, with the same key, after a lost connection; the others are rejected", async () => {
  const keys = [];
  const server = await scripted(async (peer, index) => {
    peer.welcome();
    const control = await peer.next("control");
    keys.push(control.idempotency_key);
    if (index === 0) {
      await peer.next("list");
      return peer.close(1012, "restart"); // before either answer
    }
    peer.reply(control, { status: "paused" });
    const input = await peer.next("input");
    peer.reply(input, { accepted: input.idempotency_key === "mine" });
  });
  const { client } = newClient(server.url, { backoff: { baseMs: 10 } });
  use(server, client);
  const paused = client.control("x", "pause");
  const listed = client.list();
  await assert.rejects(listed, (error) => error.code === "disconnected", "a list may be asked again by its caller");
  assert.deepEqual(await paused, { status: "paused" }, "the pause was sent again and answered");
  assert.equal(keys.length, 2);
  assert.equal(keys[0], keys[1], "with the key it was first sent with: the server runs it once");
  assert.ok(keys[0].length >= 16);
  assert.deepEqual(await client.input("x", "n", true, { idempotencyKey: "mine" }), { accepted: true });
});

test("subscribe while offline: answered by the subscribe after welcome, even across a lost connection", async () => {
  const server = await scripted(async (peer, index) => {
    peer.welcome();
    const sub = await peer.next("subscribe");
    assert.deepEqual(sub.topics, ["workflow:a", "workflow:b"], "one subscribe for every topic");
    if (index === 0) return peer.close(1011, "internal"); // before the reply
    peer.reply(sub, { topics: { "workflow:a": { epoch: "A", seq: 3, recovered: false }, "workflow:b": { epoch: "B", seq: 0, recovered: false } } });
  });
  const { client } = newClient(server.url, { backoff: { baseMs: 10 } });
  use(server, client);
  const a = client.subscribe("workflow:a");
  const b = client.subscribe(["workflow:b"]);
  assert.deepEqual(await a, { topics: { "workflow:a": { epoch: "A", seq: 3, recovered: false } } });
  assert.deepEqual(await b, { topics: { "workflow:b": { epoch: "B", seq: 0, recovered: false } } });
  assert.equal(server.peers.length, 2);
});

test("a token for a server without first-message auth: its error is reported, the client opens", async () => {
  const server = await scripted(async (peer) => {
    peer.welcome();
    const auth = await peer.next("auth");
    peer.send({ type: "error", ref: auth.ref, code: "unauthorized", message: "this server does not take `auth` commands" });
    peer.reply(await peer.next("control"), { status: "running" });
  });
  const { client, errors } = newClient(server.url, { token: () => "t" });
  use(server, client);
  assert.deepEqual(await client.control("x", "resume"), { status: "running" });
  assert.equal(errors.length, 1);
  assert.equal(errors[0].error.code, "unauthorized");
  assert.equal(errors[0].context.kind, "auth");
});
