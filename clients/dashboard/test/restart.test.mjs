// The process the page is connected to is SIGKILLed mid-run and restarted on the same
// socket (the pytest harness holds it), the run going on on another process through Redis:
// the page shows that it reconnects, then the run's right final state, without a reload.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { kill, newClient, restart, startRedis, startServer, until } from "../../typescript/test/helpers.mjs";
import { launch, open, runStatus, shown } from "./browser.mjs";

test("Redis, the run on B, the page on A; A killed and restarted: reconnecting, then the final state", async () => {
  const redis = await startRedis();
  const env = { FLOWWIRE_REDIS_URL: redis.url };
  const app = "tests.servers.apps:redis_demo()";
  const [browser, a, b] = await Promise.all([launch(), startServer(env, app), startServer(env, app)]);
  after(() => browser.close());
  const page = await open(browser, `http://127.0.0.1:${a.port}/`);
  await page.evaluate(() => (window.notReloaded = true));
  const samples = await (await fetch(`http://127.0.0.1:${b.port}/api/workflows`)).json();
  const onB = newClient(b.url);
  after(() => onB.client.close());
  const run = await onB.client.execute(samples.find((s) => s.id === "parallel"));
  await page.waitForSelector(`.run[data-execution="${run.execution_id}"]`);
  await page.evaluate((id) => window.flowwireDashboard.select(id), run.execution_id);
  await page.waitForSelector('#graph .node[data-node="fetch"][data-status="running"], #graph .node[data-node="fetch"][data-status="succeeded"]');
  await kill(a.id);
  await page.waitForSelector('#connection[data-state="reconnecting"]:not([hidden])', { timeout: 15_000 });
  assert.match(await page.textContent("#connection"), /^Reconnecting \(attempt \d+\)…$/);
  await restart(a.id);
  await runStatus(page, "completed", 60_000);
  await until(onB.store.subscribe, () => onB.store.get(run.execution_id)?.status === "completed", "the run's end on B", 30_000);
  const state = await shown(page);
  assert.deepEqual(
    Object.fromEntries(Object.entries(state.nodes).map(([n, v]) => [n, v.status])),
    Object.fromEntries([...onB.store.get(run.execution_id).nodes].map(([n, v]) => [n, v.status])),
  );
  assert.equal(state.percent, "100%");
  const log = await page.evaluate(() => window.flowwireDashboard.connectionLog);
  assert.ok(log.some((s) => s.startsWith("reconnecting")), log.join(", "));
  assert.ok(log.includes("resynchronised"), log.join(", "));
  assert.equal(await page.evaluate(() => window.notReloaded), true, "the same page, not a reload");
  assert.deepEqual(page.errors.filter((e) => !/WebSocket|ERR_CONNECTION|Failed to load resource/.test(e)), []);
});
