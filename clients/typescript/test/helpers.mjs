// Shared by the client's Node tests: the pytest harness (servers it starts for us), a TCP
// proxy we own, a scripted in-process server, and waits for events bounded by deadlines.
import { once } from "node:events";
import net from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { ExecutionStore, FlowwireClient } from "@flowwire/client";

// -- waiting: for an event, never for a while ---------------------------------------------

/** Resolves once `check()` is truthy, re-checked whenever `subscribe` signals a change;
 * rejects after `ms` with `what` (a deadline, not a delay: no timer stands for an event). */
export function until(subscribe, check, what, ms = 20_000) {
  return new Promise((resolve, reject) => {
    let off = () => {};
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const test = () => {
      let value;
      try {
        value = check();
      } catch (error) {
        clearTimeout(timer);
        off();
        reject(error);
        return;
      }
      if (value) {
        clearTimeout(timer);
        off();
        resolve(value);
      }
    };
    off = subscribe(test);
    test();
  });
}

export const statusIs = (client, status, ms) =>
  until((f) => client.onStatus(f), () => client.status === status, `status ${status} (is ${client.status})`, ms);

/** A listener registry: `signal.on(f)` for `until`, `signal.fire()` from anywhere. */
export function signal() {
  const listeners = new Set();
  return {
    on: (f) => (listeners.add(f), () => listeners.delete(f)),
    fire: () => [...listeners].forEach((f) => f()),
  };
}

// -- the pytest harness: real servers on sockets it holds ---------------------------------

const HARNESS = process.env.FLOWWIRE_HARNESS;

export async function control(path, body) {
  if (!HARNESS) throw new Error("FLOWWIRE_HARNESS is not set: run these tests through pytest (tests/clients/test_typescript.py)");
  const response = await fetch(HARNESS + path, { method: "POST", body: JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${path}: ${answer.error}`);
  return answer;
}

export const startServer = (env = {}, app) => control("/start", { kind: "server", env, ...(app ? { app } : {}) });
export const startDemo = (...args) => control("/start", { kind: "demo", args });
export const startRedis = () => control("/start", { kind: "redis" });
export const kill = (id) => control("/kill", { id });
export const restart = (id) => control("/restart", { id });

/** POST /ws/publish (the test apps' key). */
export async function publish(port, events) {
  const response = await fetch(`http://127.0.0.1:${port}/ws/publish`, {
    method: "POST",
    headers: { authorization: "Bearer test-key", "content-type": "application/json" },
    body: JSON.stringify(events),
  });
  const answer = await response.json();
  if (response.status !== 200) throw new Error(`publish: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

let counter = 0;
/** Events of one execution, as an engine publishes them: started, then node statuses. */
export function nodeEvents(workflow, execution, count, first = 0) {
  const common = { workflow_id: workflow, execution_id: execution };
  const nodes = Array.from({ length: 8 }, (_, i) => `n${i}`);
  const events = [];
  if (first === 0) events.push({ type: "execution.started", ...common, name: "load", nodes: nodes.map((id) => ({ id, kind: "k" })), edges: [] });
  for (let i = first; events.length < count; i++) {
    const node = nodes[i % nodes.length];
    events.push({ type: "node.status", ...common, node_id: node, status: i % 3 === 2 ? "succeeded" : "running", ...(i % 3 === 1 ? { progress: 0.5 } : {}), attempt: 1 + (counter++ % 2) });
  }
  return events;
}

/** Every execution's state as the server renders it: a fresh connection that subscribes
 * with an unknown position gets a snapshot of each execution, finished ones included. */
export async function serverSnapshots(url, topic) {
  const ws = new WebSocket(url, "flowwire.v1.json");
  const frames = [];
  const got = signal();
  ws.on("message", (data) => {
    frames.push(JSON.parse(String(data)));
    got.fire();
  });
  await until(got.on, () => frames.some((f) => f.type === "welcome"), "welcome");
  ws.send(JSON.stringify({ type: "subscribe", ref: "x", topics: [topic], since: { [topic]: { seq: 0, epoch: "-" } } }));
  const reply = await until(got.on, () => frames.find((f) => f.ref === "x"), "the subscribe reply");
  // Snapshots follow the reply at once; a ping (answered) marks the end of them.
  ws.send(JSON.stringify({ type: "ping", ts: 1 }));
  await until(got.on, () => frames.some((f) => f.type === "pong"), "the pong after the snapshots");
  ws.terminate();
  return { reply, snapshots: frames.filter((f) => f.type === "execution.snapshot") };
}

// -- clients ------------------------------------------------------------------------------

/** A client on `ws` (Node 20 has no global WebSocket) that records what reaches onError. */
export function newClient(url, options = {}) {
  const errors = [];
  const client = new FlowwireClient(url, {
    WebSocket,
    onError: (error, context) => errors.push({ error, context }),
    ...options,
  });
  const store = new ExecutionStore(client);
  const seen = [];
  const events = signal();
  client.on("*", (event) => {
    seen.push(event);
    events.fire();
  });
  const resets = [];
  client.on("reset", (reset) => resets.push(reset));
  return { client, store, errors, seen, events, resets };
}

/** The seqs a client applied on one topic. */
export const seqs = (seen, topic) => seen.filter((e) => e.topic === topic).map((e) => e.seq);
export const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A store's view of an execution next to the server's snapshot of it, as JSON (the topic
 * position `last_seq` aside: the server's is the topic's, the store's its last event's). */
export function comparable(snapshot) {
  const { last_seq: _, ...rest } = JSON.parse(JSON.stringify(snapshot));
  return rest;
}

// -- a TCP proxy owned by the test ------------------------------------------------------

/** Forwards 127.0.0.1:port to the target. `drop()` cuts every connection; `stall()` stops
 * forwarding on the current ones without a word (half-open); `down()` refuses new ones. */
export class Proxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.pairs = new Set();
    this.refusing = false;
    this.accepted = 0;
    this.changed = signal();
    this.server = net.createServer((socket) => this.accept(socket));
  }

  async listen() {
    this.server.listen(0, "127.0.0.1"); // the OS picks the port; we read it back
    await once(this.server, "listening");
    this.port = this.server.address().port;
    return this;
  }

  url(path = "/ws") {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  accept(socket) {
    if (this.refusing) {
      socket.destroy();
      return;
    }
    this.accepted++;
    const upstream = net.connect(this.targetPort, "127.0.0.1");
    const pair = { socket, upstream, stalled: false };
    this.pairs.add(pair);
    const forward = (from, to) => {
      from.on("data", (data) => {
        if (!pair.stalled) to.write(data);
      });
      from.on("close", () => {
        if (pair.stalled) return; // half-open: the other side hears nothing
        to.destroy();
        this.pairs.delete(pair);
        this.changed.fire();
      });
      from.on("error", () => {});
    };
    forward(socket, upstream);
    forward(upstream, socket);
    this.changed.fire();
  }

  drop() {
    for (const pair of this.pairs) {
      pair.socket.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
  }

  stall() {
    for (const pair of this.pairs) pair.stalled = true;
  }

  down() {
    this.refusing = true;
    this.drop();
  }

  up() {
    this.refusing = false;
  }

  async close() {
    this.drop();
    this.server.close();
  }
}

// -- a scripted server in this process ------------------------------------------------------

/** A WebSocket server whose every connection is handed to `script(peer, index)`. */
export async function scripted(script, options = {}) {
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    handleProtocols: (protocols) => [...protocols][0] ?? false,
    ...options,
  });
  await once(wss, "listening");
  const peers = [];
  const connected = signal();
  wss.on("connection", (ws) => {
    const peer = new Peer(ws);
    peers.push(peer);
    connected.fire();
    Promise.resolve(script(peer, peers.length - 1)).catch((error) => peer.fail(error));
  });
  return {
    url: `ws://127.0.0.1:${wss.address().port}/ws`,
    peers,
    connected,
    close: () => new Promise((resolve) => {
      for (const client of wss.clients) client.terminate();
      wss.close(() => resolve());
    }),
  };
}

export class Peer {
  constructor(ws) {
    this.ws = ws;
    this.received = [];
    this.got = signal();
    this.closed = false;
    this.errors = [];
    ws.on("message", (data, binary) => {
      this.received.push(binary ? data : JSON.parse(String(data)));
      this.got.fire();
    });
    ws.on("close", () => {
      this.closed = true;
      this.got.fire();
    });
  }

  send(frame) {
    this.ws.send(JSON.stringify(frame));
  }

  welcome(extra = {}) {
    this.send({ type: "welcome", protocol: "flowwire.v1", connection_id: "c1", heartbeat_ms: 25000, max_frame_bytes: 1048576, server: "scripted/0", ...extra });
  }

  /** The next frame received of a type (and matching `where`), waiting for it. */
  next(type, where = () => true, ms = 10_000) {
    const taken = (this.taken ??= new Set());
    return until(this.got.on, () => {
      const frame = this.received.find((f) => !taken.has(f) && f.type === type && where(f));
      if (frame) taken.add(frame);
      return frame;
    }, `a ${type} frame`, ms);
  }

  reply(frame, data) {
    this.send({ type: "reply", ref: frame.ref, data });
  }

  close(code, reason = "") {
    this.ws.close(code, reason);
  }

  fail(error) {
    this.errors.push(error);
    process.stderr.write(`scripted server: ${error?.stack ?? error}\n`);
    this.ws.terminate();
  }
}

export const event = (seq, extra = {}) => ({
  type: "node.status",
  topic: "workflow:w",
  seq,
  ts: 1_000 + seq,
  workflow_id: "w",
  execution_id: "x",
  node_id: `n${seq % 3}`,
  status: "running",
  ...extra,
});
