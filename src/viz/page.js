"use strict";
// The occamy view: draws /layout.json, then paints /events onto it. Everything it
// loads comes from the occamy process that served it.
(function () {
  const token = new URLSearchParams(location.search).get("token");
  // A replay of a recorded run (`occamy replay T --viz`): the server says so here, and
  // the page then asks for each position's state instead of following /events.
  const REPLAY = /*REPLAY*/false;
  const SVGNS = "http://www.w3.org/2000/svg";
  const ROWS = 300; // rows shown in the side table
  const $ = (id) => document.getElementById(id);
  const view = $("viewport");
  const svg = $("svg");

  let graphDoc = null;     // /graph.json
  let nodeInfo = {};       // graph node id -> {name, kind, decl, role}
  let chanType = {};       // channel key -> type
  let layout = null;       // /layout.json
  let nodeEls = {};        // drawn node id -> {g, box, stateText, n}
  let edgeEls = [];        // {g, path, rate, e}
  let expand = new Set(), fold = new Set();
  let state = null, graphRev = null, tab = "procs";
  let tx = 0, ty = 0, k = 1;

  function url(path, params) {
    const q = new URLSearchParams(params || {});
    if (token) q.set("token", token);
    const s = q.toString();
    return path + (s ? "?" + s : "");
  }
  const fmt = (n) => n.toLocaleString("en-US");
  function rate(r) {
    if (r >= 1e6) return (r / 1e6).toFixed(1) + "M/s";
    if (r >= 1e4) return (r / 1e3).toFixed(0) + "k/s";
    if (r >= 1e3) return (r / 1e3).toFixed(1) + "k/s";
    return (r >= 10 ? r.toFixed(0) : r.toFixed(1)) + "/s";
  }
  function el(name, attrs, parent) {
    const e = document.createElementNS(SVGNS, name);
    for (const a in attrs) e.setAttribute(a, attrs[a]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, cls) {
    const t = el("text", { x: x, y: y, "text-anchor": "middle" }, parent);
    if (cls) t.setAttribute("class", cls);
    t.textContent = s;
    return t;
  }
  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  }

  // The class a state paints with.
  function cls(s) {
    switch (s) {
      case undefined: return "unstarted";
      case "running": return "running";
      case "send": case "recv": return "blocked";
      case "alt": return "alt";
      case "barrier": return "barrier";
      case "sleep": return "sleep";
      case "elsewhere": return "elsewhere";
      case "ok": case "retired": return "ended";
      case "poisoned": return "poisoned";
      default: return "failed";
    }
  }
  const name = (id) => (nodeInfo[id] ? nodeInfo[id].name : id);
  function describe(p) {
    if (!p) return state && state.finished ? "never started" : "not started";
    const to = (p.for || []).map(name);
    const on = (p.on || []).join(", ");
    switch (p.s) {
      case "running": return "running";
      case "recv": return "recv on " + on + (to.length ? " ← " + to.join(", ") : "");
      case "send": return "send on " + on + (to.length ? " → " + to.join(", ") : "");
      case "alt": return "alt on " + on + (p.timeout ? " (or a timeout)" : "");
      case "barrier": return "sync on " + on;
      case "sleep": return "sleeping";
      case "elsewhere": return "waiting outside occamy";
      default: return "ended (" + p.s + ")";
    }
  }

  // The state in a node: the peer only (the channel is on the edge).
  function short(p) {
    if (!p) return describe(p);
    const to = (p.for || []).map(name);
    const peers = to.length > 2 ? to.length + " processes" : to.join(", ");
    switch (p.s) {
      case "recv": return "recv" + (peers ? " ← " + peers : " on " + p.on.join(", "));
      case "send": return "send" + (peers ? " → " + peers : " on " + p.on.join(", "));
      case "alt": return "alt on " + (p.on.length > 2 ? p.on.length + " channels" : p.on.join(", "));
      default: return describe(p);
    }
  }

  async function loadGraph() {
    const r = await fetch(url("/graph.json"));
    graphDoc = await r.json();
    nodeInfo = {};
    for (const n of graphDoc.nodes) nodeInfo[n.id] = n;
    chanType = {};
    for (const e of graphDoc.edges) {
      const key = e.channel_id != null ? String(e.channel_id) : e.channel;
      if (e.type) chanType[key] = e.type;
    }
    $("name").textContent = graphDoc.name;
    document.title = graphDoc.name + " · occamy view";
  }

  async function loadLayout(fit) {
    const params = {};
    if (expand.size) params.expand = [...expand].join(",");
    if (fold.size) params.fold = [...fold].join(",");
    const r = await fetch(url("/layout.json", params));
    layout = await r.json();
    draw();
    if (fit) fitView();
    if (state) apply(state);
  }

  function pathD(pts) {
    if (!pts.length) return "";
    let d = "M" + pts[0][0].toFixed(1) + "," + pts[0][1].toFixed(1);
    if (pts.length === 3 && Math.abs(pts[0][1] - pts[2][1]) < 1e-9 && pts[1][1] < pts[0][1]) {
      const [a, m, b] = pts;
      return d + ` C${a[0]},${m[1]} ${a[0]},${m[1]} ${m[0]},${m[1]} C${b[0]},${m[1]} ${b[0]},${m[1]} ${b[0]},${b[1]}`;
    }
    for (let i = 1; i < pts.length; i++) {
      const [ax, ay] = pts[i - 1], [bx, by] = pts[i];
      const dx = Math.max(Math.abs(bx - ax) / 2, 20) * (bx >= ax ? 1 : -1);
      d += ` C${(ax + dx).toFixed(1)},${ay.toFixed(1)} ${(bx - dx).toFixed(1)},${by.toFixed(1)} ${bx.toFixed(1)},${by.toFixed(1)}`;
    }
    return d;
  }

  function draw() {
    view.textContent = "";
    nodeEls = {};
    edgeEls = [];
    const clusters = el("g", {}, view), edges = el("g", {}, view), nodes = el("g", {}, view);
    for (const c of layout.clusters) {
      const g = el("g", { class: "cluster", id: c.id }, clusters);
      el("rect", { x: c.x, y: c.y, width: c.w, height: c.h, rx: 9 }, g);
      text(g, c.x + c.w / 2, c.y + 15, c.label);
    }
    for (const e of layout.edges) {
      const merged = e.channels.length > 1;
      const g = el("g", { class: "edge " + e.role + (merged ? " merged" : ""), "data-id": e.id }, edges);
      const marker = e.role === "barrier" || e.into_junction ? null : "url(#arrow)";
      const path = el("path", { d: pathD(e.points) }, g);
      if (marker) path.setAttribute("marker-end", marker);
      const [lx, ly] = e.label_at;
      let name = null, live = null;
      if (e.lines.length) {
        name = text(g, lx, ly - 12, e.lines[0]);
        live = text(g, lx, ly, "", "rate");
      }
      edgeEls.push({ g: g, path: path, live: live, e: e, marker: marker });
    }
    for (const n of layout.nodes) {
      const group = n.shape === "group" || n.shape === "rest";
      const g = el("g", { class: "node " + n.shape + (group || n.decl ? " group" : ""), id: "n-" + n.id }, nodes);
      const x = n.x - n.w / 2, y = n.y - n.h / 2;
      let box;
      if (n.shape === "junction") {
        box = el("ellipse", { cx: n.x, cy: n.y, rx: n.w / 2, ry: n.h / 2, class: "box" }, g);
        box.style.fill = "#e4e8ec"; box.style.stroke = "#8796a5";
      } else if (n.shape === "unknown") {
        box = el("circle", { cx: n.x, cy: n.y, r: n.w / 2, class: "box" }, g);
        box.style.fill = "#fff"; box.style.stroke = "#8796a5"; box.style.strokeDasharray = "3 2";
      } else if (n.shape === "barrier") {
        const c = 8;
        box = el("polygon", { class: "box", points: [[x + c, y], [x + n.w - c, y], [x + n.w, y + c], [x + n.w, y + n.h - c], [x + n.w - c, y + n.h], [x + c, y + n.h], [x, y + n.h - c], [x, y + c]].map((p) => p.join(",")).join(" ") }, g);
        box.style.fill = "#ece6f5"; box.style.stroke = "#5e35b1";
      } else {
        if (group) {
          for (const d of [7, 3.5]) el("rect", { x: x + d, y: y - d, width: n.w, height: n.h, rx: 7, class: "shadow" }, g);
        }
        box = el("rect", { x: x, y: y, width: n.w, height: n.h, rx: 7, class: "box" }, g);
      }
      let stateText = null;
      if (n.shape === "process" || group) {
        const lines = n.lines.slice(0, 2);
        const top = y + 17;
        text(g, n.x, top, lines[0], "title");
        if (lines[1]) text(g, n.x, top + 15, lines[1], "kind");
        stateText = text(g, n.x, top + 15 * lines.length, "", "state");
        if (group) text(g, x + n.w - 9, y + 14, n.shape === "group" ? "+" : "−", "toggle");
        else if (n.decl) text(g, x + n.w - 9, y + 14, "−", "toggle");
      } else {
        text(g, n.x, n.y + 4, clip(n.lines[0] || "", 40));
      }
      const decl = n.decl;
      if (decl) {
        g.addEventListener("click", () => {
          if (n.shape === "group") { fold.delete(decl); expand.add(decl); }
          else { expand.delete(decl); fold.add(decl); }
          loadLayout(true);
        });
      }
      g.addEventListener("mousemove", (ev) => showTip(ev, n));
      g.addEventListener("mouseleave", () => { $("tip").hidden = true; });
      nodeEls[n.id] = { g: g, box: box, stateText: stateText, n: n };
    }
  }

  function fitView() {
    const r = svg.getBoundingClientRect();
    const w = Math.max(layout.width, 10), h = Math.max(layout.height, 10);
    k = Math.min(r.width / w, (r.height - 34) / h, 1.4);
    tx = (r.width - w * k) / 2;
    ty = Math.max((r.height - 34 - h * k) / 2, 4);
    place();
  }
  function place() { view.setAttribute("transform", `translate(${tx},${ty}) scale(${k})`); }

  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    const mx = ev.clientX - r.left, my = ev.clientY - r.top;
    const f = Math.exp(-ev.deltaY * 0.0015);
    tx = mx - (mx - tx) * f; ty = my - (my - ty) * f; k *= f;
    place();
  }, { passive: false });
  let drag = null;
  svg.addEventListener("mousedown", (ev) => { drag = [ev.clientX - tx, ev.clientY - ty]; svg.classList.add("dragging"); });
  window.addEventListener("mousemove", (ev) => { if (drag) { tx = ev.clientX - drag[0]; ty = ev.clientY - drag[1]; place(); } });
  window.addEventListener("mouseup", () => { drag = null; svg.classList.remove("dragging"); });
  $("fit").onclick = () => fitView();
  $("foldall").onclick = () => {
    expand.clear();
    for (const [d] of layout.groups) fold.add(d);
    loadLayout(true);
  };
  window.addEventListener("resize", () => layout && fitView());

  // A group's states, most common first: from the server's counts for a whole group, or
  // from the members' own for the rest of an expanded one.
  function groupCounts(n) {
    const counts = {};
    if (n.shape === "group" && state.groups[n.decl]) {
      Object.assign(counts, state.groups[n.decl]);
    } else {
      for (const m of n.members) {
        const p = state.processes[m];
        if (p) counts[p.s] = (counts[p.s] || 0) + 1;
      }
    }
    return Object.entries(counts).sort((a, b) => b[1] - a[1]);
  }

  function showTip(ev, n) {
    if (!state) return;
    const tip = $("tip");
    let s;
    if (n.shape === "group" || n.shape === "rest") {
      s = n.lines[0] + "\n" + groupCounts(n).map(([st, c]) => st + ": " + fmt(c)).join("\n");
      s += "\n\n" + (n.shape === "group" ? "click to expand (shows the first members)" : "click to collapse");
    } else if (n.shape === "process") {
      const info = nodeInfo[n.id] || {};
      s = info.name + (info.kind ? " (" + info.kind + ")" : "") + "\n" + describe(state.processes[n.id]);
    } else {
      s = n.lines.join("\n");
    }
    tip.textContent = s;
    const r = $("graph").getBoundingClientRect();
    tip.style.left = Math.min(ev.clientX - r.left + 14, r.width - 300) + "px";
    tip.style.top = ev.clientY - r.top + 14 + "px";
    tip.hidden = false;
  }

  function apply(st) {
    state = st;
    const dl = st.deadlock;
    const dead = new Set(dl ? dl.deadlocked : []);
    const cycle = new Set(dl ? dl.cycle : []);
    const cycleCh = new Set(dl ? dl.cycle_channels : []);
    const waited = new Set(dl ? dl.waited : []);
    for (const id in nodeEls) {
      const { g, box, stateText, n } = nodeEls[id];
      if (!stateText) continue;
      const isDead = n.members.some((m) => dead.has(m));
      const inCycle = n.members.some((m) => cycle.has(m));
      let c, line;
      if (n.shape === "process") {
        const p = st.processes[n.id];
        c = cls(p && p.s);
        line = short(p);
      } else {
        const counts = groupCounts(n);
        c = counts.length ? cls(counts[0][0]) : "unstarted";
        line = counts.slice(0, 2).map(([s, k]) => s + " " + fmt(k)).join(" · ") || "not started";
      }
      const base = "node " + n.shape + (n.decl ? " group" : "");
      g.setAttribute("class", base + (isDead ? " dead" : "") + (inCycle ? " cycle" : ""));
      box.setAttribute("class", "box " + c);
      for (const sh of g.querySelectorAll("rect.shadow")) sh.setAttribute("class", "shadow " + c);
      if (isDead) line = "deadlocked" + (n.shape === "process" && /^ended/.test(line) ? " · " + st.processes[n.id].s : ": " + line);
      stateText.textContent = clip(line, Math.max(18, Math.floor(n.w / 6.2)));
      stateText.setAttribute("class", "state " + c);
      stateText.style.stroke = "none";
    }
    let total = 0;
    for (const ee of edgeEls) {
      const e = ee.e;
      let carried = 0, r = 0, missing = 0;
      for (const key of e.channels) {
        const v = st.channels[key];
        if (v) { carried += v[0]; r += v[1]; } else missing++;
      }
      const inCycle = e.channels.some((x) => cycleCh.has(x));
      const isWaited = e.channels.some((x) => waited.has(x));
      const active = r > 0;
      ee.g.setAttribute("class", "edge " + e.role + (e.channels.length > 1 ? " merged" : "") +
        (active ? " active" : "") + (inCycle ? " cycle" : isWaited ? " waited" : ""));
      if (ee.marker) ee.path.setAttribute("marker-end", inCycle || isWaited ? "url(#arrow-red)" : active ? "url(#arrow-active)" : "url(#arrow)");
      if (ee.live && e.role === "channel") {
        ee.live.textContent = (missing && missing < e.channels.length ? "≥ " : "") + fmt(carried) + " msgs" + (active ? " · " + rate(r) : "");
      }
    }
    for (const key in st.channels) total += st.channels[key][1];
    header(st, total);
    table();
  }

  function header(st, total) {
    const counts = {};
    for (const id in st.processes) { const c = cls(st.processes[id].s); counts[c] = (counts[c] || 0) + 1; }
    const failed = counts.failed || 0;
    const pill = $("status");
    if (st.deadlock) { pill.className = "pill p-deadlock"; pill.textContent = "deadlock"; }
    else if (!st.finished) { pill.className = "pill p-running"; pill.textContent = "running"; }
    else if (failed) { pill.className = "pill p-failed"; pill.textContent = "ended: failed"; }
    else { pill.className = "pill p-ended"; pill.textContent = "ended"; }
    if (REPLAY) pill.textContent = "replay: " + pill.textContent;
    $("clock").textContent = st.t.toFixed(1) + " s";
    const T = st.totals;
    const blocked = (counts.blocked || 0) + (counts.alt || 0) + (counts.barrier || 0);
    $("totals").textContent = fmt(T.processes) + " processes (" + fmt(counts.running || 0) + " running, " +
      fmt(blocked) + " blocked, " + fmt((counts.ended || 0) + (counts.poisoned || 0) + failed) + " ended)" +
      " · " + fmt(T.channels) + " channels · " + rate(total);
    const d = $("deadlock");
    if (st.deadlock) { d.hidden = false; d.textContent = st.deadlock.text; } else d.hidden = true;
    const s = $("sampled");
    if (st.sampled) {
      s.hidden = false;
      s.textContent = "Large network: per-process detail for " + fmt(T.detailed_processes) + " of " + fmt(T.started) +
        " processes and " + fmt(T.detailed_channels) + " of " + fmt(T.channels) +
        " channels (every group's first members, the rest aggregated); group state counts cover every process, messages on collapsed edges only the sampled channels.";
    } else s.hidden = true;
  }

  function table() {
    const f = $("filter").value.trim().toLowerCase();
    const t = $("table");
    let rows = [], total = 0;
    if (tab === "procs") {
      const order = { failed: 0, alt: 2, blocked: 2, barrier: 2, sleep: 3, elsewhere: 3, running: 4, poisoned: 5, ended: 6 };
      const dead = new Set(state.deadlock ? state.deadlock.deadlocked : []);
      for (const id in state.processes) {
        const p = state.processes[id];
        const info = nodeInfo[id] || { name: id };
        const d = describe(p);
        if (f && !(info.name.toLowerCase().includes(f) || d.toLowerCase().includes(f))) continue;
        total++;
        rows.push([dead.has(id) ? -1 : order[cls(p.s)], info.name, p, d, dead.has(id), info.kind]);
      }
      rows.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1], "en", { numeric: true }));
      rows = rows.slice(0, ROWS);
      t.innerHTML = "<tr><th>process</th><th>state</th><th>on / waiting for</th></tr>" + rows.map((r) =>
        `<tr class="${r[4] ? "dead" : ""}"><td>${esc(r[1])}${r[5] ? ' <span class="dim">(' + esc(r[5]) + ")</span>" : ""}</td>` +
        `<td><span class="st ${cls(r[2].s)}">${r[4] ? "deadlocked " : ""}${esc(r[2].s)}</span></td>` +
        `<td>${esc(r[3].replace(/^(recv|send|alt|sync) on /, "").replace(/^(running|sleeping|ended .*)$/, ""))}</td></tr>`).join("");
    } else {
      for (const key in state.channels) {
        const [c, r] = state.channels[key];
        const label = /^\d+$/.test(key) && graphDoc ? chanLabel(key) : key;
        if (f && !label.toLowerCase().includes(f)) continue;
        total++;
        rows.push([label, chanType[key] || "", c, r]);
      }
      rows.sort((a, b) => b[3] - a[3] || b[2] - a[2] || a[0].localeCompare(b[0], "en", { numeric: true }));
      rows = rows.slice(0, ROWS);
      t.innerHTML = "<tr><th>channel</th><th>type</th><th>messages</th><th>rate</th></tr>" + rows.map((r) =>
        `<tr><td>${esc(r[0])}</td><td class="dim">${esc(r[1])}</td><td class="num">${fmt(r[2])}</td><td class="num">${r[3] > 0 ? rate(r[3]) : ""}</td></tr>`).join("");
    }
    $("rows-note").textContent = total > ROWS ? "showing " + ROWS + " of " + fmt(total) + " (filter to narrow)" : fmt(total) + (tab === "procs" ? " processes" : " channels");
  }
  const labels = {};
  function chanLabel(key) {
    if (!(key in labels)) {
      const e = graphDoc.edges.find((x) => String(x.channel_id) === key);
      labels[key] = e ? e.channel : "#" + key;
    }
    return labels[key];
  }
  $("filter").addEventListener("input", () => state && table());
  $("tab-procs").onclick = () => { tab = "procs"; $("tab-procs").className = "on"; $("tab-chans").className = ""; state && table(); };
  $("tab-chans").onclick = () => { tab = "chans"; $("tab-chans").className = "on"; $("tab-procs").className = ""; state && table(); };

  let busy = false;
  async function onState(st) {
    if (st.graph !== graphRev && !busy) {
      busy = true;
      const first = graphRev === null;
      graphRev = st.graph;
      try { await loadGraph(); await loadLayout(first); } finally { busy = false; }
    }
    if (layout) apply(st);
    document.body.dataset.seq = st.seq;
  }

  function connect() {
    const es = new EventSource(url("/events"));
    es.addEventListener("state", (ev) => { $("live").className = "live"; onState(JSON.parse(ev.data)); });
    es.onerror = () => { $("live").className = "live off"; };
  }

  // The replay's controls: the slider picks a position, step moves one on, play steps
  // on a timer until the end (or pause). Only the latest position asked for is shown.
  async function replay() {
    const r = await (await fetch(url("/replay.json"))).json();
    const slider = $("slider"), play = $("play");
    $("replay").hidden = false;
    $("live").hidden = true;
    slider.max = String(r.frames - 1);
    let want = 0, timer = null;
    async function show(k) {
      want = k;
      slider.value = String(k);
      $("at").textContent = "step " + fmt(k) + " of " + fmt(r.frames - 1) + " · " + (r.t_ms[k] / 1000).toFixed(6) + " s";
      const st = await (await fetch(url("/state.json", { frame: k }))).json();
      if (k !== want) return; // a later position was asked for meanwhile
      await onState(st);
      document.body.dataset.frame = String(k);
    }
    function pause() { if (timer) { clearInterval(timer); timer = null; } play.textContent = "play"; }
    slider.addEventListener("input", () => { pause(); show(Number(slider.value)); });
    $("step").onclick = () => { pause(); if (want < r.frames - 1) show(want + 1); };
    play.onclick = () => {
      if (timer) return pause();
      if (want >= r.frames - 1) show(0);
      play.textContent = "pause";
      timer = setInterval(() => { if (want >= r.frames - 1) pause(); else show(want + 1); }, 100);
    };
    await show(0);
  }
  if (REPLAY) replay(); else connect();
})();
