// Sluice UI: polls the job's status every second and draws it (charts: uPlot).
// `sluice run --ui`: one job, /api/status, no authentication. `sluice serve`
// (data-mode="serve"): the page asks for a bearer token, keeps it in sessionStorage and
// sends it as `Authorization: Bearer` with fetch (never in a URL); it lists the caller's
// jobs (/v1/jobs) and polls the chosen one's /v1/jobs/ID/overview.
"use strict";

const KEEP = 300;          // batches kept in the page
const TABLE_ROWS = 100;    // batches shown in the table
const state = { batches: [], after: null, job: null, open: new Set(), charts: {}, jobId: null };
const MODE = document.body.dataset.mode === "serve" ? "serve" : "run";
const TOKEN_KEY = "sluice-token";

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const codeTicks = (s) => esc(s).replace(/`([^`]+)`/g, "<code>$1</code>");

function fmtMs(ms) {
  if (ms == null) return "–";
  if (ms >= 1000) return (ms / 1000).toFixed(2) + " s";
  if (ms >= 10) return ms.toFixed(0) + " ms";
  return ms.toFixed(1) + " ms";
}
function fmtNum(n) {
  if (n == null) return "–";
  if (n >= 1e6) return (n / 1e6).toFixed(2) + " M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + " k";
  return Math.round(n).toLocaleString("en");
}
function fmtBytes(b) {
  if (b >= 1 << 20) return (b / (1 << 20)).toFixed(1) + " MiB";
  if (b >= 1 << 10) return (b / (1 << 10)).toFixed(1) + " KiB";
  return b + " B";
}
// Wall-clock batch times are ms since the epoch; virtual ones count from 0.
const isWall = (t) => t > 1e12;
function fmtTime(t) {
  if (!isWall(t)) return (t / 1000).toFixed(1) + " s";
  const d = new Date(t);
  return d.toLocaleTimeString("en-GB", { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

// ---- charts ----------------------------------------------------------------------------

const METRICS = [
  { key: "rate", field: "input_rate", title: "Input rate", unit: "records/s", color: "#1f6feb", interval: false },
  { key: "sched", field: "scheduling_delay_ms", title: "Scheduling delay", unit: "ms", color: "#9a6700", interval: true },
  { key: "proc", field: "processing_ms", title: "Processing time", unit: "ms", color: "#8250df", interval: true },
  { key: "total", field: "total_delay_ms", title: "Total delay", unit: "ms", color: "#cf222e", interval: true },
];

function chartWidth(id) {
  return Math.max(240, $(id).clientWidth || 400);
}

function timelineOpts(m, width, wall) {
  const series = [{}, { label: m.title + " (" + m.unit + ")", stroke: m.color, width: 2, fill: m.color + "22", points: { show: false } }];
  if (m.interval) series.push({ label: "batch interval", stroke: "#57606a", width: 1.5, dash: [6, 4], points: { show: false } });
  return {
    title: m.title + " (" + m.unit + ")", width, height: 150, series,
    scales: { x: { time: wall }, y: { range: (u, min, max) => [0, Math.max(max * 1.1, 1)] } },
    axes: [{ values: wall ? undefined : (u, vals) => vals.map((v) => v + " s") }, { size: 60 }],
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
  };
}

function histOpts(m, width) {
  const opts = {
    title: m.title + ": histogram", width, height: 150,
    series: [{}, { label: "batches", stroke: m.color, fill: m.color + "66", paths: uPlot.paths.bars({ size: [0.9, 60] }), points: { show: false } }],
    scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(max, 1)] } },
    axes: [{ values: (u, vals) => vals.map((v) => (m.unit === "ms" ? fmtMs(v) : fmtNum(v))) }, { size: 40 }],
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
  };
  if (m.interval) {
    opts.hooks = { draw: [(u) => drawIntervalLine(u)] };
  }
  return opts;
}

// The batch interval as a vertical dashed line on a histogram of times.
function drawIntervalLine(u) {
  if (!state.job) return;
  const x = u.valToPos(state.job.batch_interval_ms, "x", true);
  if (!(x >= u.bbox.left && x <= u.bbox.left + u.bbox.width)) return;
  const ctx = u.ctx;
  ctx.save();
  ctx.strokeStyle = "#57606a";
  ctx.setLineDash([6, 4]);
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.moveTo(x, u.bbox.top);
  ctx.lineTo(x, u.bbox.top + u.bbox.height);
  ctx.stroke();
  ctx.restore();
}

function histogram(values, intervalMs, withInterval) {
  const hi = Math.max(...values, withInterval ? intervalMs * 1.05 : 0, 1);
  const bins = 20, width = hi / bins;
  const xs = [], ys = new Array(bins).fill(0);
  for (let i = 0; i < bins; i++) xs.push((i + 0.5) * width);
  for (const v of values) ys[Math.min(bins - 1, Math.floor(v / width))]++;
  return [xs, ys];
}

function drawCharts() {
  const b = state.batches;
  if (!b.length || !state.job) return;
  const wall = isWall(b[0].time);
  const xs = b.map((x) => (wall ? x.time / 1000 : x.time / 1000));
  const interval = state.job.batch_interval_ms;
  for (const m of METRICS) {
    const ys = b.map((x) => x[m.field]);
    const data = [xs, ys];
    if (m.interval) data.push(b.map(() => interval));
    const hist = histogram(ys, interval, m.interval);
    let c = state.charts[m.key];
    if (!c) {
      c = state.charts[m.key] = {
        line: new uPlot(timelineOpts(m, chartWidth("c-" + m.key), wall), data, $("c-" + m.key)),
        hist: new uPlot(histOpts(m, chartWidth("h-" + m.key)), hist, $("h-" + m.key)),
      };
    } else {
      c.line.setData(data);
      c.hist.setData(hist);
    }
  }
}

window.addEventListener("resize", () => {
  for (const m of METRICS) {
    const c = state.charts[m.key];
    if (!c) continue;
    c.line.setSize({ width: chartWidth("c-" + m.key), height: 150 });
    c.hist.setSize({ width: chartWidth("h-" + m.key), height: 150 });
  }
});

// ---- job, verdict, graph, errors, checkpoints, table --------------------------------------

function drawJob(job) {
  state.job = job;
  $("job-name").textContent = job.name;
  document.title = "Sluice: " + job.name;
  const st = $("job-state");
  st.textContent = job.state;
  st.className = "state " + job.state;
  const labels = Object.entries(job.labels || {}).filter(([k]) => k !== "job").map(([k, v]) => k + "=" + v);
  $("job-facts").textContent = "batch interval " + fmtMs(job.batch_interval_ms) + " · " +
    fmtNum(job.batches_completed) + " batches" + (labels.length ? " · " + labels.join(" ") : "");
  const v = $("verdict");
  if (job.bottleneck) {
    v.innerHTML = "<strong>Bottleneck:</strong> " + codeTicks(job.bottleneck.text) + ".";
    v.classList.toggle("behind", job.bottleneck.behind_ms > 0);
  }
  const e = $("job-error");
  e.hidden = !job.error;
  if (job.error) e.textContent = "The job " + job.state + ": " + job.error;
}

function stageRow(kind, name, note, share, ms, records, top) {
  const pct = Math.round(share * 100);
  return '<div class="stage' + (top ? " top" : "") + '"><div class="name"><span class="kind">' + kind + "</span> " +
    esc(name) + (note ? ' <span class="fn">' + esc(note) + "</span>" : "") + '</div><div class="bar"><span style="width:' +
    Math.min(100, pct) + '%"></span></div><div class="num">' + pct + " % · " + fmtMs(ms) + " · " + fmtNum(records) + " rec</div></div>";
}

function drawGraph(g) {
  const top = Math.max(0, ...g.sources.map((s) => s.share), ...g.streams.map((s) => s.share), ...g.sinks.map((s) => s.share));
  const isTop = (s) => s.share > 0 && s.share === top;
  let html = "";
  for (const s of g.sources) html += stageRow("source", s.name, s.kind, s.share, s.ms, s.records, isTop(s));
  const seen = new Set();
  for (const s of g.streams) {
    if (seen.has(s.node)) continue;
    seen.add(s.node);
    const members = g.streams.filter((x) => x.node === s.node);
    const node = members[members.length - 1];
    const name = members.map((x) => x.name).join(" → ");
    const fns = members.flatMap((x) => x.functions);
    const ops = members.map((x) => x.op).join(", ");
    const from = members[0].from.join(", ");
    html += '<div class="node" title="from ' + esc(from) + '">' +
      stageRow("stream", name, ops + (fns.length ? " · " + fns.join(", ") : ""), node.share, node.ms, node.records, isTop(node)) + "</div>";
  }
  for (const s of g.sinks) html += stageRow("sink", s.name, s.kind + " ← " + s.from, s.share, s.ms, s.records, isTop(s));
  $("graph").innerHTML = html;
}

function drawErrors(errors) {
  $("errors-count").textContent = errors.length ? "(" + errors.length + " newest)" : "";
  if (!errors.length) return;
  $("errors").innerHTML = errors.map((e) =>
    '<div class="error"><div class="head">' + esc(new Date(e.at_ms).toLocaleTimeString("en-GB")) + " · batch " + esc(fmtTime(e.batch_time)) +
    " · <code>" + esc(e.plugin + "." + e.function) + "</code>" + (e.streams.length ? " in stream " + e.streams.map((s) => "<code>" + esc(s) + "</code>").join(", ") : "") +
    " · " + esc(e.kind) + '</div><div class="msg">' + esc(e.message) + "</div>" +
    (e.record != null ? "<pre>" + esc(e.record) + "</pre>" : "") + "</div>").join("");
}

function drawCheckpoints(cps) {
  if (!cps.length) return;
  const rows = cps.slice().reverse().slice(0, 20).map((c) =>
    "<tr><td>" + c.index + "</td><td>" + esc(fmtTime(c.time)) + "</td><td>" + fmtBytes(c.bytes) + "</td><td>" + fmtMs(c.ms) +
    "</td><td>" + c.full + " full, " + c.deltas + " deltas</td><td>" + esc(new Date(c.written_ms).toLocaleTimeString("en-GB")) + "</td></tr>").join("");
  $("checkpoints").innerHTML = "<table><thead><tr><th>Checkpoint</th><th>After batch</th><th>Size</th><th>Took</th><th>Operators</th><th>Written</th></tr></thead><tbody>" + rows + "</tbody></table>";
}

function detailHtml(b) {
  const total = b.processing_ms || 1;
  const rows = [];
  for (const s of b.sources) rows.push(["source", s]);
  for (const s of b.streams) rows.push(["stream", s]);
  for (const s of b.sinks) rows.push(["sink", s]);
  const max = Math.max(0, ...rows.map(([, s]) => s.ms));
  const note = (s) => (s.state_keys != null ? "state " + fmtNum(s.state_keys) + " keys, " + fmtBytes(s.state_bytes) : "");
  return rows.map(([kind, s]) => stageRow(kind, s.name, note(s), s.ms / total, s.ms, s.records, s.ms > 0 && s.ms === max)).join("") +
    (b.checkpoint ? '<div class="stage"><div class="name"><span class="kind">checkpoint</span> ' + b.checkpoint.index + "</div><div></div><div class=\"num\">" + fmtMs(b.checkpoint.ms) + " · " + fmtBytes(b.checkpoint.bytes) + "</div></div>" : "");
}

function drawTable() {
  const interval = state.job ? state.job.batch_interval_ms : Infinity;
  const rows = state.batches.slice(-TABLE_ROWS).reverse().map((b) => {
    const slow = b.processing_ms > interval ? " slow" : "";
    let html = '<tr class="batch' + (state.open.has(b.time) ? " open" : "") + '" data-time="' + b.time + '"><td>' + esc(fmtTime(b.time)) + "</td><td>" +
      fmtNum(b.records_in) + "</td><td>" + fmtNum(b.records_out) + '</td><td class="' + (b.rejected ? "bad" : "") + '">' + fmtNum(b.rejected) +
      "</td><td>" + fmtMs(b.scheduling_delay_ms) + '</td><td class="' + slow + '">' + fmtMs(b.processing_ms) + "</td><td>" + fmtMs(b.total_delay_ms) +
      '</td><td class="ok">' + (b.rejected ? "done, " + b.rejected + " rejected" : "done") + "</td></tr>";
    if (state.open.has(b.time)) html += '<tr class="detail"><td colspan="8">' + detailHtml(b) + "</td></tr>";
    return html;
  });
  document.querySelector("#batch-table tbody").innerHTML = rows.join("");
}

document.querySelector("#batch-table tbody").addEventListener("click", (ev) => {
  const tr = ev.target.closest("tr.batch");
  if (!tr) return;
  const t = Number(tr.dataset.time);
  if (state.open.has(t)) state.open.delete(t); else state.open.add(t);
  drawTable();
});

// ---- sluice serve: token, job list -------------------------------------------------------

function authHeaders() {
  const t = sessionStorage.getItem(TOKEN_KEY);
  return t ? { Authorization: "Bearer " + t } : {};
}

function showLogin(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  $("login").hidden = false;
  $("jobs").hidden = true;
  $("job-view").hidden = true;
  $("serve-nav").hidden = true;
  $("login-error").hidden = !message;
  $("login-error").textContent = message || "";
}

function selectJob(id) {
  if (state.jobId === id) return;
  state.jobId = id;
  state.batches = [];
  state.after = null;
  state.open = new Set();
  for (const c of Object.values(state.charts)) { c.line.destroy(); c.hist.destroy(); }
  state.charts = {};
  document.querySelector("#batch-table tbody").innerHTML = "";
  $("graph").innerHTML = "";
  $("errors").innerHTML = '<p class="empty">No plugin errors.</p>';
  $("verdict").textContent = "Waiting for the first batch…";
  $("data-url").textContent = "/v1/jobs/" + id + "/overview";
  history.replaceState(null, "", "#job=" + encodeURIComponent(id));
  $("job-view").hidden = false;
}

async function loadJobs() {
  const res = await fetch("/v1/jobs", { cache: "no-store", headers: authHeaders() });
  if (res.status === 401) { showLogin("That token is not known to this server."); return false; }
  if (!res.ok) throw new Error("GET /v1/jobs: " + res.status);
  const jobs = await res.json();
  $("login").hidden = true;
  $("jobs").hidden = false;
  $("serve-nav").hidden = false;
  const tenants = new Set(jobs.map((j) => j.tenant));
  $("caller").textContent = tenants.size > 1 ? "admin: every tenant" : tenants.size === 1 ? "tenant " + [...tenants][0] : "";
  const wanted = decodeURIComponent((location.hash.match(/job=([^&]+)/) || [])[1] || "");
  if (!state.jobId) {
    const pick = jobs.find((j) => j.id === wanted) || jobs.find((j) => j.state === "running") || jobs[0];
    if (pick) selectJob(pick.id); else $("job-view").hidden = true;
  }
  $("job-list").innerHTML = jobs.length ? jobs.map((j) =>
    '<button type="button" class="job-pick' + (j.id === state.jobId ? " current" : "") + '" data-id="' + esc(j.id) + '">' +
    esc(j.name) + " <small>" + esc(j.id) + (tenants.size > 1 ? " · " + esc(j.tenant) : "") + '</small><span class="state ' + esc(j.state) + '">' +
    esc(j.state) + "</span></button>").join("") : '<p class="empty">No jobs: submit one with <code>sluice submit</code>.</p>';
  return true;
}

function startServe() {
  $("run-nav").hidden = true;
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    loadJobs().catch(() => showLogin("The server did not answer."));
  });
  $("sign-out").addEventListener("click", () => { state.jobId = null; showLogin(""); });
  $("job-list").addEventListener("click", (ev) => {
    const b = ev.target.closest("button.job-pick");
    if (b) { selectJob(b.dataset.id); loadJobs().catch(() => {}); }
  });
  if (!sessionStorage.getItem(TOKEN_KEY)) { showLogin(""); } else { loadJobs().catch(() => {}); }
  setInterval(() => { if (sessionStorage.getItem(TOKEN_KEY)) loadJobs().catch(() => {}); }, 5000);
}

// ---- polling ------------------------------------------------------------------------------

function statusUrl() {
  const q = state.after != null ? "?after=" + state.after : "";
  return MODE === "serve" ? "/v1/jobs/" + encodeURIComponent(state.jobId) + "/overview" + q : "/api/status" + q;
}

async function poll() {
  const id = state.jobId;
  if (MODE === "serve" && (!id || !sessionStorage.getItem(TOKEN_KEY))) { setTimeout(poll, 1000); return; }
  try {
    const res = await fetch(statusUrl(), { cache: "no-store", headers: authHeaders() });
    if (res.status === 401) showLogin("The token was refused.");
    if (res.ok && id === state.jobId) {
      const s = await res.json();
      drawJob(s.job);
      if (s.batches.length) {
        state.batches.push(...s.batches);
        if (state.batches.length > KEEP) state.batches.splice(0, state.batches.length - KEEP);
        state.after = state.batches[state.batches.length - 1].time;
      }
      drawCharts();
      drawGraph(s.graph);
      drawErrors(s.errors);
      drawCheckpoints(s.checkpoints);
      drawTable();
    } else if (!res.ok && res.status !== 401 && id === state.jobId) {
      const body = await res.json().catch(() => ({}));
      $("verdict").textContent = body.error || ("The server answered " + res.status + ".");
    }
  } catch (e) {
    // The job ended (the process exited): keep what is on the page.
    $("job-state").textContent = "unreachable";
    $("job-state").className = "state failed";
  }
  setTimeout(poll, 1000);
}
if (MODE === "serve") startServe();
poll();
