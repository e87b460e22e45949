// The replay of a recorded run in a real browser (Debian's chromium, driven by
// playwright-core): `occamy run networks/pipeline.ron --record T`, then `occamy replay T
// --viz`; the slider changes the state shown, step moves one position on, play moves
// on by itself. Every wait is bounded: a test that does not see what it waits for fails
// with a message, and its occamy process is killed. Screenshots go to target/browser/.
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

// Runs occamy with ARGS to its end; resolves with its exit status and stderr.
function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    children.add(child);
    let err = "";
    child.stderr.on("data", (d) => { err += d; });
    const timer = setTimeout(() => reject(new Error(`occamy ${args.join(" ")} did not end within 30 s:\n${err}`)), WAIT);
    child.on("exit", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, err });
    });
  });
}

// Starts occamy with ARGS, resolves with the URL it prints and the child.
function serve(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    children.add(child);
    let err = "";
    const timer = setTimeout(() => reject(new Error("occamy printed no URL within 30 s:\n" + err)), WAIT);
    child.stderr.on("data", (d) => {
      err += d;
      const m = /viewing at (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`occamy exited (${code}) before serving:\n${err}`));
    });
  });
}

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

async function until(p, what, fn, arg) {
  try {
    return await (await p.waitForFunction(fn, arg, { timeout: WAIT, polling: 100 })).jsonValue();
  } catch (e) {
    throw new Error(`the page did not show ${what} within 30 s (${e.message.split("\n")[0]})`);
  }
}

// The state line of every node, by its title.
const states = (p) => p.$$eval("g.node", (gs) => Object.fromEntries(gs.map((g) =>
  [g.querySelector("text.title").textContent, g.querySelector("text.state").textContent])));
const slide = (p, to) => p.$eval("#slider", (s, to) => {
  s.value = to === "max" ? s.max : String(to);
  s.dispatchEvent(new Event("input"));
}, to);

test("replay: the slider changes the state shown; step and play move on", { timeout: 120_000 }, async () => {
  const trace = path.join(shots, "pipeline.trace");
  const rec = await run(["run", "networks/pipeline.ron", "--record", trace]);
  assert.equal(rec.code, 0, rec.err);
  const { child, url } = await serve(["replay", trace, "--viz", "127.0.0.1"]);
  if (!browser) {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"],
    });
  }
  const p = await browser.newPage({ viewport: { width: 1500, height: 820 } });
  const errors = [];
  p.on("pageerror", (e) => errors.push(String(e)));
  await p.goto(url);
  await until(p, "the replay's first position", () => document.body.dataset.frame === "0" && document.querySelectorAll("g.node").length === 4);
  assert.equal(await p.isVisible("#slider"), true);
  const max = Number(await p.$eval("#slider", (s) => s.max));
  assert.ok(max > 10, `only ${max} positions`);
  const start = await states(p);
  assert.deepEqual(Object.keys(start).sort(), ["integrate", "numbers", "print", "succ"]);
  for (const s of Object.values(start)) assert.match(s, /not started/);
  await p.screenshot({ path: path.join(shots, "replay-start.png") });

  // The end: every process ended, ten messages on each channel.
  await slide(p, "max");
  await until(p, "the last position", (m) => document.body.dataset.frame === String(m), max);
  const end = await states(p);
  for (const s of Object.values(end)) assert.match(s, /^ended/);
  assert.notDeepEqual(end, start);
  assert.match(await p.textContent("#status"), /^replay: ended/);
  const msgs = await p.$$eval("g.edge text.rate", (ts) => ts.map((t) => t.textContent));
  assert.deepEqual(msgs, ["10 msgs", "10 msgs", "10 msgs"]);
  await p.screenshot({ path: path.join(shots, "replay-end.png") });

  // Half way: some messages carried, not all processes ended.
  await slide(p, Math.floor(max / 2));
  await until(p, "the middle position", (m) => document.body.dataset.frame === String(m), Math.floor(max / 2));
  const mid = await states(p);
  assert.notDeepEqual(mid, end);
  assert.ok(Object.values(mid).some((s) => !/^ended/.test(s)), JSON.stringify(mid));

  // Step: one position on.
  await slide(p, 0);
  await until(p, "the first position again", () => document.body.dataset.frame === "0");
  await p.click("#step");
  await until(p, "the second position", () => document.body.dataset.frame === "1");

  // Play: on by itself to the end, then back to play.
  await p.click("#play");
  assert.equal(await p.textContent("#play"), "pause");
  await until(p, "play reach the end", (m) => document.body.dataset.frame === String(m), max);
  await until(p, "the play button back", () => document.getElementById("play").textContent === "play");
  assert.deepEqual(errors, [], "script errors");
  assert.equal(await interrupt(child), 0);
});
