// Drive the demo page in headless Chromium: run samples, answer an input, pause/resume,
// and print what the page showed as JSON. Usage: node demo_browser.mjs URL SCREENSHOT
import { chromium } from "playwright-core";

const [url, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const result = { errors: [] };
try {
  const page = await browser.newPage();
  page.on("pageerror", (error) => result.errors.push(String(error)));
  page.on("console", (message) => { if (message.type() === "error") result.errors.push(message.text()); });
  await page.goto(url);
  await page.waitForSelector("#connection.open", { timeout: 10000 });
  result.connection = await page.textContent("#connection");
  result.samples = await page.$$eval("[data-sample]", (buttons) => buttons.map((b) => b.dataset.sample));

  // The LLM agent: tokens stream into the draft node's box.
  await page.click('[data-sample="llm"]');
  await page.waitForSelector('#status[data-status="completed"]', { timeout: 20000 });
  result.llm = {
    nodes: await page.$$eval("[data-node]", (boxes) => boxes.map((b) => [b.dataset.node, b.dataset.status])),
    draft: await page.textContent('[data-node="draft"] .tokens'),
    percent: await page.$eval("#progress", (bar) => bar.style.width),
  };

  // Waits for input: the prompt appears, the answer completes the run.
  await page.click('[data-sample="approval"]');
  await page.waitForSelector("#prompt", { state: "visible", timeout: 20000 });
  result.prompt = await page.textContent("#prompt-text");
  await page.fill("#prompt-value", '{"approved": true}');
  await page.click("#prompt-send");
  await page.waitForSelector('#status[data-status="completed"]', { timeout: 20000 });
  result.approval = await page.$$eval("[data-node]", (boxes) => boxes.map((b) => [b.dataset.node, b.dataset.status]));

  // Pause and resume the parallel run from the page.
  await page.click('[data-sample="parallel"]');
  await page.waitForSelector('[data-node="fetch"][data-status="running"]', { timeout: 20000 });
  await page.click("#pause");
  await page.waitForSelector('#status[data-status="paused"]', { timeout: 10000 });
  await page.waitForSelector('[data-node="fetch"][data-status="succeeded"]', { timeout: 10000 });
  await page.waitForTimeout(700);
  result.whilePaused = await page.$$eval("[data-node]", (boxes) => boxes.map((b) => [b.dataset.node, b.dataset.status]));
  await page.click("#resume");
  await page.waitForSelector('#status[data-status="completed"]', { timeout: 20000 });
  result.runs = await page.$$eval("#runs button", (buttons) => buttons.map((b) => b.textContent));
  await page.screenshot({ path: screenshot, fullPage: true });
} catch (error) {
  result.errors.push(String(error));
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.errors.length ? 1 : 0);
