// Scenario 8 (tests/clients/SCENARIOS.md): the server refuses the credentials (close 4001
// on first-message auth, HTTP 403 at the handshake): no reconnect loop; a token callback
// that returns a fresh token is used. Connections are counted at a proxy of the test's.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { newClient, Proxy, startServer, statusIs } from "./helpers.mjs";

async function behindProxy(env, options) {
  const server = await startServer(env);
  const proxy = await new Proxy(server.port).listen();
  const subject = newClient(proxy.url(), { backoff: { baseMs: 50, maxMs: 200 }, ...options });
  after(() => (subject.client.close(), proxy.close()));
  return { server, proxy, ...subject };
}

test("4001 for a refused token, and the callback has no other: closed after one connection", async () => {
  const { proxy, client } = await behindProxy({ FLOWWIRE_TOKEN: "good" }, { token: () => "bad" });
  const subscribed = client.subscribe("workflow:w").then(() => null, (e) => e);
  await statusIs(client, "closed");
  assert.equal(client.connection.closeCode, 4001);
  assert.equal(proxy.accepted, 1, "no reconnect loop");
  assert.equal((await subscribed).code, "closed");
});

test("4001 without any token (a command before auth): closed, not looping", async () => {
  const { proxy, client } = await behindProxy({ FLOWWIRE_TOKEN: "good" }, {});
  void client.subscribe("workflow:w").catch(() => {});
  await statusIs(client, "closed");
  assert.equal(client.connection.closeCode, 4001);
  assert.equal(proxy.accepted, 1);
});

test("4001, then a fresh token from the callback: one reconnect, authenticated, working", async () => {
  const tokens = ["stale", "good"];
  const { server, proxy, client } = await behindProxy({ FLOWWIRE_TOKEN: "good" }, { token: () => tokens.shift() ?? "good" });
  const samples = await (await fetch(`http://127.0.0.1:${server.port}/api/workflows`)).json();
  const run = await client.execute(samples.find((w) => w.id === "legacy"));
  assert.equal(run.topic, "workflow:legacy");
  assert.equal(proxy.accepted, 2, "the refused connection and the authenticated one");
  assert.equal(client.status, "open");
  assert.deepEqual(tokens, [], "both tokens were asked for, in turn");
});

test("HTTP 403 at the handshake: closed after one attempt", async () => {
  const { proxy, client } = await behindProxy({ FLOWWIRE_REFUSE: "1" }, {});
  await statusIs(client, "closed");
  assert.equal(client.connection.closeReason, "HTTP 403");
  assert.equal(proxy.accepted, 1);
});
