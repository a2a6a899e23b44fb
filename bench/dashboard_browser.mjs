// The dashboard with a large generated workflow, in headless Chromium: time to first render
// for a page opened mid-run (snapshot → graph laid out and drawn), then the main-thread
// cost per event while the rest of the run streams in, and the longest task meanwhile.
//   node bench/dashboard_browser.mjs PORT NODES REPS      → JSON on stdout
import { generated, launch, publish, runEvents } from "../clients/dashboard/test/browser.mjs";

const [port, nodes, reps] = process.argv.slice(2).map(Number);
const url = `http://127.0.0.1:${port}/`;
const browser = await launch();
const result = { nodes, edges: 0, first_render_ms: [], layout_ms: [], per_event_us: [], longest_task_ms: [], events: 0 };
try {
  for (let rep = 0; rep < reps; rep++) {
    const workflow = generated(nodes, `bench-${nodes}-${rep}`);
    result.edges = workflow.edges.length;
    const execution = `bench-${rep}`;
    const all = runEvents(workflow, execution);
    const half = runEvents(workflow, execution, Math.floor(nodes / 2));
    await publish(port, half);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.addInitScript(() => {
      window.longTasks = [];
      new PerformanceObserver((list) => list.getEntries().forEach((e) => window.longTasks.push(e.duration))).observe({ type: "longtask", buffered: true });
    });
    await page.goto(`${url}#run=${execution}`);
    await page.waitForSelector(`#graph .graph-canvas[data-nodes="${nodes}"]`, { timeout: 60_000 });
    const first = await page.evaluate(() => window.flowwireDashboard.stats);
    result.first_render_ms.push(first.firstGraphAt);
    result.layout_ms.push(first.layoutMs);
    // The rest of the run: every event through the page's client, store and views.
    const rest = all.slice(half.length);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    const task = async () => (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration").value;
    await page.evaluate(() => (window.longTasks = []));
    const before = await page.evaluate(() => window.flowwireDashboard.stats.events);
    const start = await task();
    for (let i = 0; i < rest.length; i += 200) await publish(port, rest.slice(i, i + 200));
    await page.waitForFunction((n) => window.flowwireDashboard.stats.events >= n, before + rest.length, { timeout: 60_000 });
    await page.waitForFunction((id) => document.querySelectorAll('#graph .node[data-status="succeeded"]').length === id, nodes, { timeout: 60_000 });
    const spent = (await task()) - start;
    result.events = rest.length;
    result.per_event_us.push((spent * 1e6) / rest.length);
    result.longest_task_ms.push(Math.max(0, ...(await page.evaluate(() => window.longTasks))));
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
