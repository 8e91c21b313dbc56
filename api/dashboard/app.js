// The dashboard: the API's own endpoints, with the key in a header; the table and the path follow GET /stream
// (server-sent events fed by PostgreSQL LISTEN/NOTIFY, in batches), never polling; the history is read every 30 s. No build step: plain browser JavaScript.
"use strict";

const $ = (selector) => document.querySelector(selector);
const STATUSES = ["waiting", "scheduled", "pending", "queued", "running", "succeeded", "failed", "cancelled"];
const HISTORY = 60; // queue samples kept: five minutes at one every five seconds
const SERIES = ["created", "succeeded", "failed", "retried", "dead_lettered"];
// The stage of the path a task is in, by its status (a task waiting for others has no message yet).
const STAGE_OF = { waiting: "api", scheduled: "outbox", pending: "outbox", queued: "sqs", running: "lambda", succeeded: "done", failed: "done", cancelled: "done" };
const HISTORY_SECONDS = 30; // how often the history is read again while the page is in view (bench/viewers.py too)
const state = { key: sessionStorage.getItem("taskflow-key"), types: [], counts: {}, tasks: new Map(), history: [], emails: {}, query: "", followed: null, trail: [], past: null };

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { "X-API-Key": state.key, "Content-Type": "application/json", ...(options.headers || {}) },
  });
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw Object.assign(new Error(body.detail || body.title), { problem: body, status: response.status });
  return body;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  Object.entries(attributes).forEach(([name, value]) => (name.startsWith("on") ? (node[name] = value) : node.setAttribute(name, value)));
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

// ---- the key, once per tab ----
async function start() {
  if (!state.key) return askForKey();
  try {
    state.types = await api("/task-types");
  } catch (error) {
    sessionStorage.removeItem("taskflow-key");
    state.key = null;
    return askForKey(error.status === 401 ? "That key was refused." : error.message);
  }
  $("#login").hidden = true;
  $("#app").hidden = false;
  renderTypeChooser();
  const [page, stats] = await Promise.all([api("/tasks?limit=25"), api("/stats")]);
  page.items.reverse().forEach(upsertTask);
  state.counts = { ...stats.by_status };
  renderCounters();
  recordQueues(stats.queues);
  refreshSchedules().catch(() => {});
  setUpSearch();
  api("/stats/pipeline").then(showPipeline).catch(() => {}); // then every few seconds from the stream
  loadHistory().catch(() => {});
  setInterval(() => document.hidden || loadHistory().catch(() => {}), HISTORY_SECONDS * 1000);
  const linked = location.hash.match(/^#task=([0-9a-f-]{36})$/);
  if (linked) showTimeline(linked[1]).catch((error) => ($("#search-error").textContent = error.message));
  follow();
}

function askForKey(message = "") {
  $("#login").hidden = false;
  $("#login-error").textContent = message;
  $("#login").onsubmit = (event) => {
    event.preventDefault();
    state.key = $("#key").value.trim();
    sessionStorage.setItem("taskflow-key", state.key);
    start();
  };
}

// ---- the create form, built from each type's payload schema ----
function renderTypeChooser() {
  const chooser = $("#task-type");
  chooser.replaceChildren(...state.types.map((type) => element("option", { value: type.name }, type.name)));
  chooser.onchange = renderFields;
  renderFields();
  $("#create").onsubmit = createTask;
}

function renderFields() {
  const type = state.types.find((candidate) => candidate.name === $("#task-type").value);
  $("#type-description").textContent = type.description;
  const schema = type.payload_schema;
  const required = new Set(schema.required || []);
  $("#fields").replaceChildren(
    ...Object.entries(schema.properties || {}).map(([name, property]) => {
      const example = (property.examples || [])[0];
      const structured = property.type === "object" || property.type === "array" || !property.type;
      const input = structured || (property.maxLength || 0) > 200
        ? element("textarea", { name, "data-json": String(structured) })
        : element("input", { name, type: ["integer", "number"].includes(property.type) ? "number" : "text" });
      if (example !== undefined) input.value = structured ? JSON.stringify(example, null, 1) : example;
      else if (property.default !== undefined) input.value = property.default;
      if (required.has(name)) input.required = true;
      return element("label", {}, `${name}${required.has(name) ? " *" : ""}`, input);
    }),
  );
}

async function createTask(event) {
  event.preventDefault();
  $("#create-error").textContent = "";
  const payload = {};
  try {
    for (const input of $("#fields").querySelectorAll("input, textarea")) {
      if (input.value === "") continue;
      if (input.dataset.json === "true") payload[input.name] = JSON.parse(input.value);
      else payload[input.name] = input.type === "number" ? Number(input.value) : input.value;
    }
    const created = await api("/tasks", { method: "POST", body: JSON.stringify({ type: $("#task-type").value, payload }) });
    state.followed = created.id;
    state.trail = [];
    upsertTask(created);
  } catch (error) {
    const fields = (error.problem?.errors || []).map((e) => `${e.field}: ${e.message}`).join("; ");
    $("#create-error").textContent = fields || error.message;
  }
}

// ---- the table, the counters, the timeline ----
function upsertTask(task) {
  state.tasks.set(task.id, task);
  if (task.id === state.followed) showWhere(task);
  const open = () => showTimeline(task.id);
  const row = element(
    "tr", { "data-task": task.id, "data-status": task.status, tabindex: "0", onclick: open, onkeydown: (event) => event.key === "Enter" && open() },
    element("td", {}, new Date(task.created_at).toLocaleTimeString()),
    element("td", {}, element("code", {}, task.id.slice(0, 8))),
    element("td", {}, task.type),
    element("td", {}, element("span", { class: `status ${task.status}` }, task.status)),
    element("td", {}, String(task.attempts)),
    element("td", { class: (state.emails[task.id] || 0) > 1 ? "emails repeated" : "emails" }, emailsOf(task)),
    element("td", {}, ...actionsFor(task)),
  );
  const existing = document.querySelector(`tr[data-task="${task.id}"]`);
  if (existing) existing.replaceWith(row);
  else $("#tasks tbody").prepend(row);
}

// Emails make dev's sink received from a send_email task: more than one means the task's effect happened twice.
function emailsOf(task) {
  return task.type === "send_email" ? String(state.emails[task.id] || 0) : "";
}

function actionsFor(task) {
  const button = (label, run) => element("button", { type: "button", onclick: (event) => { event.stopPropagation(); run(); } }, label);
  const act = (path, body) => api(path, { method: "POST", body: JSON.stringify(body || {}) })
    .then((changed) => changed && changed.id && upsertTask(changed)).catch((error) => alert(error.message));
  const actions = [];
  if (["waiting", "scheduled", "pending", "queued"].includes(task.status)) actions.push(button("cancel", () => act(`/tasks/${task.id}/cancel`)));
  if (task.status === "failed" && (task.error || "").startsWith("dead-lettered")) {
    actions.push(button("redrive", () => act("/dead-letters/redrive", { task_ids: [task.id] })));
  } else if (task.status === "failed") {
    actions.push(button("retry", () => act(`/tasks/${task.id}/retry`)));
  }
  return actions;
}

function renderCounters() {
  $("#counters").replaceChildren(
    ...STATUSES.map((status) => element("div", { class: "counter", "data-status": status }, element("b", {}, String(state.counts[status] || 0)), status)),
  );
}

async function showTimeline(taskId) {
  const id = encodeURIComponent(taskId); // typed into the search: never a path of its own
  const [task, events, letters] = await Promise.all([
    api(`/tasks/${id}`), api(`/tasks/${id}/events`), api(`/dead-letters?limit=1&task_id=${id}`)]);
  const opening = $("#timeline-task").textContent !== taskId;
  $("#timeline").hidden = false;
  $("#timeline").dataset.status = task.status;
  $("#timeline-task").textContent = taskId;
  if (opening) history.replaceState(null, "", `#task=${taskId}`);
  const shown = (value) => (typeof value === "string" ? value : JSON.stringify(value, null, 1));
  const rows = [["status", task.status], ["type", task.type], ["attempts", task.attempts], ["priority", task.priority],
    ["labels", task.labels.join(", ") || "none"], ["created", new Date(task.created_at).toLocaleString()],
    ["payload", task.payload], ["result", task.result], ["error", task.error], ["correlation id", task.correlation_id]];
  $("#task-detail").replaceChildren(...rows.filter(([, value]) => value !== null && value !== undefined)
    .flatMap(([name, value]) => [element("dt", {}, name), element("dd", { "data-field": name }, shown(value))]));
  $("#task-actions").replaceChildren(...actionsFor(task));
  const letter = letters.items[0];
  $("#task-dead-letter").hidden = !letter;
  if (letter) $("#dead-letter-text").textContent =
    `SQS gave up after ${letter.receive_count} deliveries (last ${new Date(letter.last_failure_at || letter.sent_at).toLocaleString()}): ${letter.last_error || "no error recorded"}`;
  // The tasks it runs after, each a link to its own timeline.
  $("#timeline-after").hidden = !task.after.length;
  $("#after-tasks").replaceChildren(...task.after.map((id) =>
    element("button", { type: "button", class: "link", "data-after": id, onclick: () => showTimeline(id) }, id.slice(0, 8))));
  const webhooks = task.callback_url ? await api(`/tasks/${id}/webhooks`) : [];
  $("#timeline-webhooks").hidden = !webhooks.length;
  $("#webhooks").replaceChildren(...webhooks.map((w) => element("li", { "data-webhook": w.status },
    `${w.id}: ${w.status} after ${w.attempts} attempt${w.attempts === 1 ? "" : "s"}`,
    w.last_error ? element("span", { class: "muted" }, ` (${w.last_error})`) : null)));
  $("#events").replaceChildren(
    ...events.map((e) => element("li", { "data-status": e.to_status },
      `${new Date(e.created_at).toLocaleTimeString()} ${e.from_status || "created"} → ${e.to_status}`,
      e.correlation_id ? element("code", { class: "muted", title: "correlation id" }, ` ${e.correlation_id}`) : null,
      Object.keys(e.detail).length ? element("span", { class: "muted" }, ` ${JSON.stringify(e.detail)}`) : null)),
  );
  if (opening) $("#timeline").focus();
}

// ---- search: the API's own filters; the table shows the results, and follows them live ----
function setUpSearch() {
  const status = $("#search select[name=status]");
  status.append(...STATUSES.map((name) => element("option", { value: name }, name)));
  $("#search").onsubmit = async (event) => {
    event.preventDefault();
    $("#search-error").textContent = "";
    const form = new FormData($("#search"));
    const id = form.get("id").trim();
    try {
      if (id) return await showTimeline(id);
      const query = new URLSearchParams();
      for (const name of ["type", "status", "label"]) if (form.get(name)) query.set(name, form.get(name).trim());
      for (const name of ["created_after", "created_before"]) if (form.get(name)) query.set(name, new Date(form.get(name)).toISOString());
      state.query = query.toString();
      $("#tasks-title").textContent = state.query ? `Tasks where ${state.query.replaceAll("&", ", ")}` : "Recent tasks";
      await showPage();
    } catch (error) {
      $("#search-error").textContent = error.status === 404 ? "No task of yours has that id." : (error.problem?.errors || []).map((e) => `${e.field}: ${e.message}`).join("; ") || error.message;
    }
  };
  $("#search").onreset = () => setTimeout(() => { state.query = ""; $("#tasks-title").textContent = "Recent tasks"; showPage(); });
}

async function showPage() {
  const page = await api(`/tasks?limit=25${state.query ? `&${state.query}` : ""}`);
  $("#tasks tbody").replaceChildren();
  page.items.reverse().forEach(upsertTask);
  return page;
}

// ---- the path of a task: what is in each stage now, and how long tasks spent in it ----
function showPipeline(figures) {
  const sum = (names, count) => names.reduce((total, name) => total + (figures.queues[name] ? count(figures.queues[name]) : 0), 0);
  $("#now-unpublished").textContent = figures.unpublished;
  $("#now-visible").textContent = sum(["queue", "high_priority_queue"], (q) => q.visible);
  $("#now-in-flight").textContent = sum(["queue", "high_priority_queue"], (q) => q.in_flight);
  $("#now-dead-letters").textContent = figures.dead_letters;
  $("#now-queued").textContent = figures.queued;
  $("#now-running").textContent = figures.running;
  const ago = (at) => `${Math.max(0, Math.round((Date.now() - new Date(at).getTime()) / 1000))} s ago`;
  const now = (c) => ({ idle: "idle", busy: `${c.current_batch} records since ${ago(c.busy_since)}`,
    stopped: `stopped ${ago(c.busy_since).replace(" ago", "")} into ${c.current_batch} records, never reported back` })[c.state];
  $("#consumers tbody").replaceChildren(...figures.consumers.map((c) => element("tr", { "data-consumer": c.id, "data-state": c.state },
    element("td", {}, element("code", {}, c.id)), element("td", {}, String(c.invocations)), element("td", {}, String(c.records)),
    element("td", {}, String(c.failed_records)), element("td", {}, ago(c.last_seen_at)),
    element("td", {}, now(c)))));
  const ms = (seconds) => (seconds === null ? "–" : `${Math.round(seconds * 1000)} ms`);
  for (const [stage, times] of Object.entries(figures.stages)) {
    const shown = document.querySelector(`[data-time="${stage}"]`);
    shown.textContent = `${shown.textContent.split(":")[0]}: ${ms(times.p50_seconds)} / ${ms(times.p99_seconds)}`;
    shown.dataset.tasks = times.tasks;
  }
}

// Marks the stage the followed task (the last one created here) is in, and the stages it was seen in.
function showWhere(task) {
  const stage = STAGE_OF[task.status];
  document.querySelectorAll(".stages li[data-here]").forEach((box) => box.removeAttribute("data-here"));
  document.querySelector(`.stages li[data-stage="${stage}"]`).setAttribute("data-here", "");
  if (state.trail.at(-1) !== stage) state.trail.push(stage);
  $("#pipeline").dataset.trail = state.trail.join(" ");
  $("#followed-line").hidden = false;
  $("#followed-task").textContent = task.id.slice(0, 8);
  $("#trail").textContent = `${state.trail.join(" → ")} (${task.status})`;
}

// ---- the last minutes, by type: read from the API, so a page opened late still shows the past ----
async function loadHistory() {
  state.past = await api("/stats/history?minutes=15&bucket_seconds=10");
  const chooser = $("#history-type");
  const types = [...new Set(state.past.points.map((point) => point.type))].sort();
  const known = new Set([...chooser.options].map((option) => option.value));
  chooser.append(...types.filter((type) => !known.has(type)).map((type) => element("option", { value: type }, type)));
  chooser.onchange = drawHistory;
  drawHistory();
}

function drawHistory() {
  const past = state.past;
  const type = $("#history-type").value;
  const since = new Date(past.since).getTime();
  const buckets = Math.floor((Date.now() - since) / (past.bucket_seconds * 1000)) + 1; // the last one is now
  const rows = Array.from({ length: buckets }, () => ({ created: 0, succeeded: 0, failed: 0, retried: 0, dead_lettered: 0, p50: [], p99: [] }));
  for (const point of past.points) {
    if (type && point.type !== type) continue;
    const row = rows[Math.floor((new Date(point.at).getTime() - since) / (past.bucket_seconds * 1000))];
    if (!row) continue;
    SERIES.forEach((name) => (row[name] += point[name]));
    if (point.latency_p50_seconds !== null) row.p50.push([point.latency_p50_seconds, point.succeeded]);
    if (point.latency_p99_seconds !== null) row.p99.push(point.latency_p99_seconds);
  }
  const top = Math.max(1, ...rows.flatMap((row) => SERIES.map((name) => row[name])));
  $("#history-chart").replaceChildren(...SERIES.map((name) => polyline(rows.map((row) => row[name]), top, 100, name)));
  const totals = Object.fromEntries(SERIES.map((name) => [name, rows.reduce((total, row) => total + row[name], 0)]));
  $("#history-summary").replaceChildren(`${type || "Every type"}, per ${past.bucket_seconds} s: `,
    ...SERIES.flatMap((name, i) => [element("span", { class: `swatch ${name}` }), element("output", { id: `history-${name}` }, String(totals[name])), ` ${name.replace("_", "-")}${i < SERIES.length - 1 ? "," : "."} `]));
  // Every type at once: the p50 is the mean of the types' p50s (weighted by tasks), the p99 the worst type's.
  const p50 = rows.map((row) => (row.p50.length ? row.p50.reduce((t, [v, n]) => t + v * n, 0) / Math.max(1, row.p50.reduce((t, [, n]) => t + n, 0)) : null));
  const p99 = rows.map((row) => (row.p99.length ? Math.max(...row.p99) : null));
  const worst = Math.max(0.001, ...p99.filter((v) => v !== null));
  $("#latency-chart").replaceChildren(polyline(p50, worst, 60, "p50"), polyline(p99, worst, 60, "p99"));
  const last = p50.findLastIndex((v) => v !== null);
  $("#latency-now").textContent = last < 0 ? "no task succeeded in this window" : `${Math.round(p50[last] * 1000)} ms / ${Math.round(p99[last] * 1000)} ms`;
  $("#history").dataset.points = past.points.length;
}

function polyline(values, top, height, name) {
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  const step = 300 / Math.max(1, values.length - 1);
  line.setAttribute("points", values.map((v, i) => (v === null ? null : `${i * step},${height - (v / top) * (height - 4)}`)).filter(Boolean).join(" "));
  line.setAttribute("class", name);
  return line;
}

// ---- the schedules: read again with the queues, every few seconds ----
async function refreshSchedules() {
  const schedules = await api("/schedules");
  $("#no-schedules").hidden = schedules.length > 0;
  const button = (label, path) => element("button", { type: "button", onclick: () => api(path, { method: "POST" }).then(refreshSchedules).catch((e) => alert(e.message)) }, label);
  $("#schedules tbody").replaceChildren(...schedules.map((s) => element("tr", { "data-schedule": s.id, "data-paused": String(s.paused) },
    element("td", {}, s.type),
    element("td", {}, s.cron ? `${s.cron} (${s.timezone})` : `${s.interval_seconds} s`),
    element("td", {}, s.paused ? "" : new Date(s.next_run_at).toLocaleTimeString()),
    element("td", {}, s.paused ? "paused" : "active"),
    element("td", {}, s.paused ? button("resume", `/schedules/${s.id}/resume`) : button("pause", `/schedules/${s.id}/pause`)))));
}

// ---- the queues chart ----
function recordQueues(queues) {
  // Both task queues (normal and high priority) in one line, their dead-letter queues in the other.
  const sum = (names, count) => names.reduce((total, name) => total + (queues[name] ? count(queues[name]) : 0), 0);
  const waiting = sum(["queue", "high_priority_queue"], (q) => q.visible + q.in_flight);
  const dead = sum(["dead_letter_queue", "high_priority_dead_letter_queue"], (q) => q.visible);
  state.history = [...state.history, [waiting, dead]].slice(-HISTORY);
  $("#queue-depth").textContent = state.history.at(-1)[0];
  $("#dlq-depth").textContent = state.history.at(-1)[1];
  const top = Math.max(1, ...state.history.flat());
  const line = (index, name) => {
    const points = state.history.map((sample, i) => `${(i / (HISTORY - 1)) * 300},${80 - (sample[index] / top) * 76}`).join(" ");
    const polyline = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    polyline.setAttribute("points", points);
    polyline.setAttribute("class", name);
    return polyline;
  };
  $("#chart").replaceChildren(line(0, "queue"), line(1, "dlq"));
}

// ---- the live feed: server-sent events over fetch (EventSource cannot send the key header) ----
async function follow() {
  try {
    const response = await fetch("/stream", { headers: { "X-API-Key": state.key } });
    if (response.status === 401) return signOut("That key no longer works.");
    if (response.status === 429) {
      $("#connection").textContent = "too many open dashboards for this key; retrying in 30 s";
      return setTimeout(follow, 30_000);
    }
    if (!response.ok) throw new Error((await response.json()).detail);
    $("#connection").textContent = "live";
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        handle(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch (error) {
    console.warn("stream interrupted", error);
  }
  if (!state.key) return;
  $("#connection").textContent = "reconnecting";
  setTimeout(follow, 1000);
}

function signOut(message) {
  sessionStorage.removeItem("taskflow-key");
  state.key = null;
  $("#app").hidden = true;
  $("#connection").textContent = "not connected";
  askForKey(message);
}

function handle(message) {
  const name = (message.match(/^event: (.*)$/m) || [])[1];
  const data = (message.match(/^data: (.*)$/m) || [])[1];
  if (!name || !data) return;
  const event = JSON.parse(data);
  if (name === "revoked") return signOut("That key was revoked.");
  if (name === "queues") return recordQueues(event) || refreshSchedules().catch(() => {});
  if (name === "pipeline") return showPipeline(event);
  Object.entries(event.counts).forEach(([status, change]) => (state.counts[status] = (state.counts[status] || 0) + change));
  renderCounters();
  refreshTasks(Object.keys(event.changed));
}

// One batch of changes: the recent page once, plus any changed task not on it that the table shows.
async function refreshTasks(changedIds) {
  const page = await api(`/tasks?limit=25${state.query ? `&${state.query}` : ""}`);
  state.emails = await api("/dashboard-emails").catch(() => state.emails);
  const onPage = new Set(page.items.map((task) => task.id));
  page.items.reverse().forEach(upsertTask);
  for (const id of changedIds) {
    if (onPage.has(id)) continue;
    const inTable = document.querySelector(`tr[data-task="${id}"]`);
    if (inTable || id === state.followed) {
      const task = await api(`/tasks/${id}`);
      if (inTable) upsertTask(task);
      else showWhere(task);
    }
  }
  const shown = $("#timeline-task").textContent;
  if (changedIds.includes(shown)) showTimeline(shown);
}

start();
