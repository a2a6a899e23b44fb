// The dashboard in headless Chromium against live servers the pytest harness starts
// (tests/clients/test_dashboard.py): every sample workflow, the run controls and a refused
// command, the input form, two pages on one run, a late joiner, a 300-node graph,
// accessibility (axe-core), and the dashboard mounted in the FastAPI recipe. Screenshots
// of each sample's final state go to $SCREENSHOTS.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startServer } from "../../typescript/test/helpers.mjs";
import { accessibility, generated, launch, open, publish, runEvents, runStatus, shown } from "./browser.mjs";

const SHOTS = process.env.SCREENSHOTS;
let browser;
let server;
let page; // one page for the samples and the controls, reused
before(async () => {
  [browser, server] = await Promise.all([launch(), startServer({}, "tests.servers.apps:client_app()")]);
  page = await open(browser, `http://127.0.0.1:${server.port}/`);
});
after(() => browser?.close());

const EXPECTED = {
  parallel: { status: "completed", nodes: { fetch: "succeeded", clean: "succeeded", enrich: "succeeded", merge: "succeeded", report: "succeeded" } },
  llm: { status: "completed", nodes: { plan: "succeeded", draft: "succeeded", review: "succeeded" } },
  failing: { status: "failed", nodes: { extract: "succeeded", transform: "failed", load: "skipped", audit: "succeeded" } },
  legacy: { status: "completed", nodes: { crunch: "succeeded", notify: "succeeded" } },
};

async function runSample(id) {
  const before = await page.evaluate(() => document.querySelector("main").dataset.run);
  await page.click(`[data-sample="${id}"]`);
  await page.waitForFunction((old) => document.querySelector("main").dataset.run && document.querySelector("main").dataset.run !== old, before);
  return page.evaluate(() => document.querySelector("main").dataset.run);
}

async function panel(nodeId) {
  await page.click(`#graph .node[data-node="${nodeId}"]`);
  await page.waitForSelector(`#node-panel[data-node="${nodeId}"]:not([hidden])`);
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll("#node-panel [data-field]")].map((e) => [e.dataset.field, e.textContent])));
}

for (const [sample, expected] of Object.entries(EXPECTED)) {
  test(`sample ${sample}: graph colours and edges, progress, timeline, node panel, log filters`, async () => {
    const id = await runSample(sample);
    await runStatus(page, expected.status);
    const state = await shown(page);
    assert.equal(state.run, id);
    assert.deepEqual(Object.fromEntries(Object.entries(state.nodes).map(([n, v]) => [n, v.status])), expected.nodes);
    // Node colours follow the status attribute (the stylesheet's rules).
    const colours = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll("#graph .node")].map((n) => [n.dataset.status, getComputedStyle(n.querySelector(".box")).stroke])));
    assert.equal(new Set(Object.values(colours)).size, Object.keys(colours).length, `one colour per status: ${JSON.stringify(colours)}`);
    const workflow = (await (await fetch(`http://127.0.0.1:${server.port}/api/workflows`)).json()).find((w) => w.id === sample);
    assert.deepEqual(state.edges, workflow.edges.map((e) => `${e.source}->${e.target}`).sort());
    // Data flowed along every edge out of a node that succeeded (edge.flow, counted).
    const flows = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll("#graph .edge")].map((e) => [e.dataset.edge, Number(e.dataset.flows ?? 0)])));
    for (const edge of workflow.edges) {
      assert.equal(flows[`${edge.source}->${edge.target}`] > 0, expected.nodes[edge.source] === "succeeded", `${edge.source}->${edge.target}`);
    }
    assert.equal(state.percent, "100%");
    for (const [node, status] of Object.entries(expected.nodes)) {
      const bars = state.bars[node];
      if (status === "skipped") assert.deepEqual(bars, []);
      else assert.equal(bars.at(-1).split(":")[1], status, `${node}: ${bars}`);
    }
    if (sample === "failing") {
      assert.deepEqual(state.bars.transform, ["1:retried", "2:failed"], "the retry is on the timeline");
      assert.equal(state.nodes.transform.attempt, "2");
      const fields = await panel("transform");
      assert.equal(fields.status, "failed");
      assert.equal(fields.attempts, "2");
      assert.match(fields.error, /schema mismatch in column 'price'/);
      assert.match(await page.textContent("#run-error"), /schema mismatch/);
      // The log: one warning (the retry); the level filter keeps it alone.
      await page.selectOption("#log-level", "warning");
      const rows = await page.$$eval("#log-lines .log-row", (r) => r.map((e) => e.dataset.level));
      assert.deepEqual(rows, ["warning"]);
      assert.match(await page.textContent("#log-count"), /^1 of \d+ lines$/);
      await page.selectOption("#log-level", "");
    }
    if (sample === "llm") {
      const fields = await panel("draft");
      assert.equal(fields.kind, "llm");
      assert.equal(fields.text.trim(), workflow.nodes[1].params.text);
      assert.match(fields.text, /^flowwire streams every token/);
      assert.match(fields.output, /flowwire streams/);
      const usage = await page.textContent('#node-panel dd[data-field="tokens"]');
      assert.match(usage, /^\d+ \(\d+ prompt, \d+ completion\)$/);
      assert.match(await page.textContent('#node-panel dd[data-field="model"]'), /demo-llm/);
    }
    if (sample === "parallel") {
      const fields = await panel("clean");
      assert.deepEqual([fields.kind, fields.status, fields.attempts], ["sleep", "succeeded", "1"]);
      assert.match(fields.duration, /ms|s$/);
      assert.match(fields.output, /"slept_ms": 900/);
      // The node filter and the search.
      await page.selectOption("#log-node", "report");
      assert.deepEqual(await page.$$eval("#log-lines .log-row", (r) => r.map((e) => e.dataset.node)), ["report"]);
      await page.selectOption("#log-node", "");
      await page.fill("#log-search", "no such line");
      assert.equal(await page.$$eval("#log-lines .log-row", (r) => r.length), 0);
      await page.fill("#log-search", "");
      await page.keyboard.press("Escape");
      await page.waitForSelector("#node-panel", { state: "hidden" });
    }
    if (SHOTS) await page.screenshot({ path: join(SHOTS, `${sample}.png`) });
    assert.deepEqual(page.errors, []);
  });
}

test("controls: pause, a refused pause shown as an error, resume, stop", async () => {
  const workflow = {
    id: "controlled",
    name: "Controlled",
    nodes: [
      { id: "prepare", kind: "sleep", params: { ms: 50 } },
      { id: "wait", kind: "input", params: { prompt: "Go on?" } },
      { id: "ship", kind: "log", params: { message: "shipped" } },
    ],
    edges: [
      { source: "prepare", target: "wait" },
      { source: "wait", target: "ship" },
    ],
  };
  const id = await page.evaluate(async (w) => {
    const { execution_id } = await window.flowwireDashboard.client.execute(w);
    window.flowwireDashboard.select(execution_id);
    return execution_id;
  }, workflow);
  await page.waitForSelector('#graph .node[data-node="wait"][data-status="running"]');
  await page.click("#pause");
  await runStatus(page, "paused");
  await page.waitForSelector('#command-result[data-outcome="ok"]');
  assert.equal(await page.textContent("#command-result"), "pause: the run is paused");
  await page.click("#pause"); // the server refuses: it is paused already
  await page.waitForSelector('#command-result[data-outcome="error"][role="alert"]');
  assert.match(await page.textContent("#command-result"), /^pause refused: conflict: cannot pause execution '.+': it is paused$/);
  await page.click("#resume");
  await runStatus(page, "running");
  await page.waitForSelector('#command-result[data-outcome="ok"]');
  await page.click("#stop");
  await runStatus(page, "stopped");
  assert.equal(await page.textContent("#command-result"), "stop: the run is stopped");
  const state = await shown(page);
  assert.equal(state.run, id);
  assert.deepEqual(Object.fromEntries(Object.entries(state.nodes).map(([n, v]) => [n, v.status])), { prepare: "succeeded", wait: "cancelled", ship: "skipped" });
  assert.ok(await page.isDisabled("#pause"), "nothing to control once it stopped");
  assert.deepEqual(page.errors, []);
});

test("input: the form from input_schema answers the waiting node; two pages end identical; a late joiner renders at once", async () => {
  const id = await runSample("approval");
  await page.waitForSelector("#input-form:not([hidden])");
  assert.equal(await page.textContent("#input-prompt"), "approve asks: Ship release 1.2 to production?");
  // A second page opened now, mid-run, by the run's address: the state from the snapshot
  // at once, the same as the first page's.
  const late = await open(browser, `http://127.0.0.1:${server.port}/#run=${id}`);
  await late.waitForSelector('#graph[data-nodes], #graph .node[data-node="approve"]');
  await late.waitForSelector('#graph .node[data-node="approve"][data-status="running"]');
  assert.deepEqual(await shown(late), await shown(page));
  // Answer with the form: a checkbox and a text field, from the schema.
  await page.check("#input-approved");
  await page.fill("#input-note", "ship it");
  await page.click("#input-send");
  await runStatus(page, "completed");
  await runStatus(late, "completed");
  assert.equal(await page.textContent("#command-result"), "approve: input accepted");
  const fields = await panel("approve");
  assert.deepEqual(JSON.parse(fields.output), { approved: true, note: "ship it" });
  assert.deepEqual(await shown(late), await shown(page), "both pages end identical");
  if (SHOTS) await page.screenshot({ path: join(SHOTS, "approval.png") });
  assert.deepEqual([...page.errors, ...late.errors], []);
  await late.close();
});

test("accessibility: no serious or critical axe-core violations, light and dark, wide and narrow", async () => {
  for (const theme of ["light", "dark"]) {
    await page.evaluate((t) => (document.documentElement.dataset.theme = t), theme);
    await page.click('#graph .node[data-node="approve"]'); // the panel open too
    assert.deepEqual(await accessibility(page), [], `${theme}, 1280×800`);
  }
  await page.setViewportSize({ width: 420, height: 860 });
  assert.deepEqual(await accessibility(page), [], "narrow");
  if (SHOTS) await page.screenshot({ path: join(SHOTS, "narrow-dark.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.evaluate(() => (document.documentElement.dataset.theme = "light"));
  // Keyboard: a node is reached with Tab and opened with Enter.
  await page.focus('#graph .node[data-node="prepare"]');
  await page.keyboard.press("Enter");
  await page.waitForSelector('#node-panel[data-node="prepare"]:not([hidden])');
  assert.deepEqual(page.errors, []);
});

test("a generated 300-node run renders, and 10,000 log lines stay bounded and filterable", async () => {
  const workflow = generated(300);
  const events = runEvents(workflow, "big-1", 100);
  await publish(server.port, events);
  // Opened mid-run: its snapshot brings the log's tail (the most recent 100 lines).
  const tail = Math.min(100, events.filter((e) => e.type === "execution.log").length);
  const big = await open(browser, `http://127.0.0.1:${server.port}/#run=big-1`);
  await big.waitForSelector('#graph .graph-canvas[data-nodes="300"]');
  const state = await shown(big);
  assert.equal(Object.keys(state.nodes).length, 300);
  assert.equal(state.edges.length, workflow.edges.length);
  assert.equal(Object.values(state.nodes).filter((n) => n.status === "succeeded").length, 100);
  // Still responsive: a click on a node deep in the graph opens its panel.
  await big.click(".graph-tools button[aria-label='Fit the graph']");
  await big.evaluate(() => document.querySelector('#graph .node[data-node="n150"]').dispatchEvent(new MouseEvent("click", { bubbles: true })));
  await big.waitForSelector('#node-panel[data-node="n150"]:not([hidden])');
  // Logs: 10,000 more lines; only the rows in view exist.
  const lines = Array.from({ length: 10_000 }, (_, i) => ({ type: "execution.log", workflow_id: workflow.id, execution_id: "big-1", level: i % 100 ? "info" : "error", message: `line ${i}`, node_id: `n${i % 300}` }));
  for (let i = 0; i < lines.length; i += 2000) await publish(server.port, lines.slice(i, i + 2000));
  const total = 10_000 + tail;
  await big.waitForFunction((n) => document.querySelector("#log-count").textContent === `${n} lines`, total);
  assert.ok((await big.$$eval("#log-lines .log-row", (r) => r.length)) < 80, "virtualised");
  assert.match(await big.textContent("#log-lines .log-row:last-child .message"), /^line 9999$/, "follow mode shows the newest");
  await big.selectOption("#log-level", "error");
  assert.equal(await big.textContent("#log-count"), `100 of ${total} lines`);
  assert.deepEqual(big.errors, []);
  await big.close();
});

test("mounted: FlowwireApp(dashboard=True) in the FastAPI recipe of docs/mounting.md", async () => {
  const fastapi = await startServer({ FLOWWIRE_API_KEY: "test-key" }, "examples.fastapi_app:app");
  const redirect = await fetch(`http://127.0.0.1:${fastapi.port}/ws/dashboard`, { redirect: "manual" });
  assert.equal(redirect.status, 308);
  const workflow = generated(20, "etl");
  const mounted = await open(browser, `http://127.0.0.1:${fastapi.port}/ws/dashboard/`);
  await publish(fastapi.port, runEvents(workflow, "etl-1", 20));
  await publish(fastapi.port, [{ type: "execution.completed", workflow_id: "etl", execution_id: "etl-1", duration_ms: 100, summary: { total: 20, succeeded: 20, failed: 0, skipped: 0 } }]);
  await mounted.waitForSelector('.run[data-execution="etl-1"][data-status="completed"]');
  await runStatus(mounted, "completed");
  assert.equal(Object.keys((await shown(mounted)).nodes).length, 20);
  // A page opened afterwards finds the finished run through `list`, graph included.
  const later = await open(browser, `http://127.0.0.1:${fastapi.port}/ws/dashboard/#run=etl-1`);
  await later.waitForSelector('#graph .graph-canvas[data-nodes="20"]');
  assert.deepEqual(await shown(later), await shown(mounted));
  assert.deepEqual([...mounted.errors, ...later.errors], []);
});
