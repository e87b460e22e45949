// The live view in a real browser (Debian's chromium, driven by playwright-core): the
// page loads for networks/pipeline.ron and for a ring of 10,000 processes and shows
// the expected nodes, its counters move while the network runs, and a deadlock turns
// its cycle red. Screenshots go to target/browser/.
//
// Run: `npm ci && npm test` in tests/browser, after `cargo build` (OCCAMY_BIN names
// another binary, CHROMIUM another browser). Every wait is bounded: a test that does
// not see what it waits for fails with a message, and its occamy process is killed.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.OCCAMY_BIN || path.join(root, "target/debug/occamy");
const shots = path.join(root, "target/browser");
mkdirSync(shots, { recursive: true });
const WAIT = 30_000;

const children = new Set();
let browser = null;
after(async () => {
  for (const c of children) c.kill("SIGKILL");
  if (browser) await browser.close();
});

// Starts `occamy run ARGS --viz`, resolves with the URL it prints and the child.
function occamy(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["run", ...args, "--viz", "127.0.0.1"], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.add(child);
    let err = "";
    const timer = setTimeout(() => reject(new Error("occamy printed no URL within 30 s:\n" + err)), WAIT);
    child.stderr.on("data", (d) => {
      err += d;
      const m = /viewing at (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], stderr: () => err });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`occamy exited (${code}) before serving:\n${err}`));
    });
  });
}

// Ctrl-C, and the exit status it ends with.
function interrupt(child) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("occamy did not exit within 30 s of SIGINT")), WAIT);
    child.once("exit", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve(code);
    });
    child.kill("SIGINT");
  });
}

async function page(url) {
  if (!browser) {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"],
    });
  }
  const p = await browser.newPage({ viewport: { width: 1500, height: 820 } });
  const origin = new URL(url).origin;
  const outside = [];
  p.on("request", (r) => { if (!r.url().startsWith(origin)) outside.push(r.url()); });
  const errors = [];
  p.on("pageerror", (e) => errors.push(String(e)));
  await p.goto(url);
  return { p, outside, errors };
}

// Waits until `fn` (run in the page) returns a truthy value; fails with `what` if not.
async function until(p, what, fn, arg) {
  try {
    return await (await p.waitForFunction(fn, arg, { timeout: WAIT, polling: 100 })).jsonValue();
  } catch (e) {
    throw new Error(`the page did not show ${what} within 30 s (${e.message.split("\n")[0]})`);
  }
}

const labels = (p) => p.$$eval("g.node text.title", (ts) => ts.map((t) => t.textContent));
const rates = (p) => p.$$eval("g.edge text.rate", (ts) => ts.map((t) => t.textContent));

test("pipeline: every process shown, counters move while it runs", { timeout: 120_000 }, async () => {
  const { child, url } = await occamy(["networks/pipeline.ron", "--set", "count=1000000000"]);
  const { p, outside, errors } = await page(url);
  await until(p, "the four processes", () => document.querySelectorAll("g.node").length === 4);
  assert.deepEqual((await labels(p)).sort(), ["integrate", "numbers", "print", "succ"]);
  const first = await until(p, "a message count", () => {
    const t = document.querySelector("g.edge text.rate");
    return t && /\d/.test(t.textContent) && t.textContent;
  });
  await until(p, "the count on `nums` move", (was) => document.querySelector("g.edge text.rate").textContent !== was, first);
  await until(p, "a rate", () => [...document.querySelectorAll("g.edge text.rate")].some((t) => t.textContent.includes("/s")));
  await until(p, "the running status", () => document.getElementById("status").textContent === "running");
  await p.screenshot({ path: path.join(shots, "pipeline.png") });
  assert.deepEqual(outside, [], "requests left the machine");
  assert.deepEqual(errors, [], "script errors");
  assert.equal(await interrupt(child), 130);
});

test("a ring of 10,000 processes: the group collapsed, expandable, counters moving", { timeout: 180_000 }, async () => {
  const { child, url } = await occamy(["networks/ring.ron", "--set", "n=9999", "--set", "laps=100000000"]);
  const { p, outside, errors } = await page(url);
  await until(p, "start, the group, tap and watch", () => document.querySelectorAll("g.node").length === 4);
  const shown = await labels(p);
  assert.ok(shown.includes("node[0..9996] ×9997"), shown.join(", "));
  for (const n of ["start", "tap", "watch"]) assert.ok(shown.includes(n), `${n} in ${shown}`);
  await until(p, "the group's states", () => /recv|running|send/.test(document.querySelector("#n-g\\:node text.state").textContent));
  const before = await until(p, "message counts", () => {
    const ts = [...document.querySelectorAll("g.edge text.rate")].map((t) => t.textContent);
    return ts.some((t) => /[1-9]/.test(t)) && ts.join("|");
  });
  await until(p, "the counts move", (was) => [...document.querySelectorAll("g.edge text.rate")].map((t) => t.textContent).join("|") !== was, before);
  await until(p, "the processes table", () => document.querySelectorAll("#table tr").length > 100);
  assert.match(await p.textContent("#rows-note"), /showing 300 of 10,000/);
  await p.screenshot({ path: path.join(shots, "ring10000.png") });
  // Expanding the group shows its first members and the rest as one node.
  await p.click("#n-g\\:node");
  await until(p, "the expanded group", () => document.querySelector("[id='n-r:node']") !== null);
  const expanded = await labels(p);
  assert.ok(expanded.includes("node[0]") && expanded.includes("node[15]"), expanded.join(", "));
  assert.ok(expanded.some((l) => l.startsWith("node[16..9996]")), expanded.join(", "));
  await p.screenshot({ path: path.join(shots, "ring10000-expanded.png") });
  assert.deepEqual(outside, [], "requests left the machine");
  assert.deepEqual(errors, [], "script errors");
  assert.equal(await interrupt(child), 130);
});

test("a farm in a sub-network: the box, its workers, shared channels", { timeout: 120_000 }, async () => {
  const { child, url } = await occamy(["networks/farm_main.ron", "--set", "n=1000000000", "--set", "workers=6"]);
  const { p, outside, errors } = await page(url);
  await until(p, "the farm's box", () => document.querySelector("g.cluster text")?.textContent === "farm");
  await until(p, "ten processes", () => document.querySelectorAll("g.node.process").length === 10);
  const shown = await labels(p);
  for (const n of ["numbers", "farm.deal", "farm.worker[0]", "farm.worker[5]", "farm.gather", "count"]) {
    assert.ok(shown.includes(n), `${n} in ${shown}`);
  }
  await until(p, "messages moving on every edge", () =>
    [...document.querySelectorAll("g.edge text.rate")].every((t) => t.textContent.includes("/s")));
  await p.screenshot({ path: path.join(shots, "farm.png") });
  assert.deepEqual(outside, [], "requests left the machine");
  assert.deepEqual(errors, [], "script errors");
  assert.equal(await interrupt(child), 130);
});

test("a deadlock turns its cycle red, and the view stays after the network ended", { timeout: 120_000 }, async () => {
  const { child, url, stderr } = await occamy(["tests/networks/deadlock_ring3.ron"]);
  const { p, errors } = await page(url);
  await until(p, "the deadlock banner", () => !document.getElementById("deadlock").hidden);
  assert.match(await p.textContent("#deadlock"), /deadlock: node\[\d\] waits to receive on ring\[\d\]/);
  await until(p, "three red processes", () => document.querySelectorAll("g.node.cycle").length === 3);
  await until(p, "three red channels", () => document.querySelectorAll("g.edge.cycle").length === 3);
  const stroke = await p.$eval("g.edge.cycle path", (e) => getComputedStyle(e).stroke);
  assert.equal(stroke, "rgb(214, 39, 40)");
  assert.equal(await p.textContent("#status"), "deadlock");
  await until(p, "the final state", () => /deadlocked/.test(document.querySelector("g.node text.state").textContent));
  await p.screenshot({ path: path.join(shots, "deadlock.png") });
  assert.match(stderr(), /the view stays at/);
  assert.deepEqual(errors, [], "script errors");
  // The network ended in a deadlock: Ctrl-C now only closes the view, with its status.
  assert.equal(await interrupt(child), 3);
});
