// Shared by the dashboard's browser tests and its benchmark: Chromium through
// playwright-core (the system's /usr/bin/chromium), what a page shows as plain data, a
// generated workflow of any size, and publishing over HTTP.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

export const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: FLAGS });
}

/** A page that records its errors (uncaught exceptions, console errors, CSP refusals). */
export async function open(browser, url, { width = 1280, height = 800 } = {}) {
  const page = await browser.newPage({ viewport: { width, height } });
  page.errors = [];
  page.on("pageerror", (error) => page.errors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") page.errors.push(message.text());
  });
  await page.goto(url);
  await page.waitForFunction(() => window.flowwireDashboard?.client.status === "open", null, { timeout: 15_000 });
  return page;
}

/** What the page shows of the selected run, as data: comparable between pages. */
export function shown(page) {
  return page.evaluate(() => {
    const all = (selector, f) => [...document.querySelectorAll(selector)].map(f);
    return {
      run: document.querySelector("main")?.dataset.run,
      title: document.querySelector("#run-title")?.textContent,
      status: document.querySelector("#run-status")?.dataset.status,
      percent: document.querySelector("#run-percent")?.textContent,
      counts: document.querySelector("#run-counts")?.dataset.counts,
      nodes: Object.fromEntries(all("#graph .node", (n) => [n.dataset.node, { status: n.dataset.status, attempt: n.dataset.attempt ?? null }])),
      edges: all("#graph .edge", (e) => e.dataset.edge).sort(),
      bars: Object.fromEntries(all("#timeline .row", (r) => [r.dataset.node, all(`#timeline .row[data-node="${r.dataset.node}"] .bar`, (b) => `${b.dataset.attempt}:${b.dataset.status}`)])),
    };
  });
}

/** Until the selected run has `status` (data-status of the run header). */
export function runStatus(page, status, timeout = 30_000) {
  return page.waitForSelector(`#run-status[data-status="${status}"]`, { timeout });
}

const require = createRequire(import.meta.url);
export const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's violations of impact serious or critical, as `rule: targets`. */
export async function accessibility(page) {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations);
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** A layered DAG of `n` nodes, `width` per layer, each node fed by two of the layer before. */
export function generated(n, id = `generated-${n}`, width = 15) {
  const nodes = Array.from({ length: n }, (_, i) => ({ id: `n${i}`, name: `step ${i}`, kind: i % 3 ? "sleep" : "llm" }));
  const edges = [];
  for (let i = width; i < n; i++) {
    const layer = Math.floor(i / width);
    const below = (layer - 1) * width;
    edges.push({ id: `e${i}a`, source: `n${below + (i % width)}`, target: `n${i}` });
    const other = below + ((i + 1) % width);
    if (other !== below + (i % width)) edges.push({ id: `e${i}b`, source: `n${other}`, target: `n${i}` });
  }
  return { id, name: `Generated, ${n} nodes`, nodes, edges };
}

/** POST /ws/publish with the test apps' key. */
export async function publish(port, events, key = "test-key", path = "/ws/publish") {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(events),
  });
  const answer = await response.json();
  if (response.status !== 200) throw new Error(`publish: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** The events of a generated run as an engine would publish them (no `seq`, no `ts`:
 * the server stamps them), in order; `done` of its nodes finished. */
export function runEvents(workflow, execution, done = workflow.nodes.length) {
  const base = { workflow_id: workflow.id, execution_id: execution };
  const events = [{ type: "execution.started", ...base, name: workflow.name, nodes: workflow.nodes, edges: workflow.edges }];
  workflow.nodes.slice(0, done).forEach((node, i) => {
    events.push({ type: "node.status", ...base, node_id: node.id, status: "running" });
    events.push({ type: "execution.log", ...base, level: i % 10 ? "info" : "warning", message: `${node.id} working`, node_id: node.id });
    events.push({ type: "node.status", ...base, node_id: node.id, status: "succeeded", duration_ms: 5, output: { i } });
  });
  return events;
}
