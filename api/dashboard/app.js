// The dashboard: the API's own endpoints, with the key in a header; the table follows GET /stream (server-sent
// events fed by PostgreSQL LISTEN/NOTIFY, in batches), never polling. No build step: plain browser JavaScript.
"use strict";

const $ = (selector) => document.querySelector(selector);
const STATUSES = ["waiting", "scheduled", "pending", "queued", "running", "succeeded", "failed", "cancelled"];
const HISTORY = 60; // queue samples kept: five minutes at one every five seconds
const state = { key: sessionStorage.getItem("taskflow-key"), types: [], counts: {}, tasks: new Map(), history: [], emails: {} };

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
    upsertTask(await api("/tasks", { method: "POST", body: JSON.stringify({ type: $("#task-type").value, payload }) }));
  } catch (error) {
    const fields = (error.problem?.errors || []).map((e) => `${e.field}: ${e.message}`).join("; ");
    $("#create-error").textContent = fields || error.message;
  }
}

// ---- the table, the counters, the timeline ----
function upsertTask(task) {
  state.tasks.set(task.id, task);
  const row = element(
    "tr", { "data-task": task.id, "data-status": task.status, onclick: () => showTimeline(task.id) },
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
  const act = (path, body) => api(path, { method: "POST", body: JSON.stringify(body || {}) }).catch((error) => alert(error.message));
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
  const [task, events] = await Promise.all([api(`/tasks/${taskId}`), api(`/tasks/${taskId}/events`)]);
  $("#timeline").hidden = false;
  $("#timeline-task").textContent = taskId;
  // The tasks it runs after, each a link to its own timeline.
  $("#timeline-after").hidden = !task.after.length;
  $("#after-tasks").replaceChildren(...task.after.map((id) =>
    element("button", { type: "button", class: "link", "data-after": id, onclick: () => showTimeline(id) }, id.slice(0, 8))));
  const webhooks = task.callback_url ? await api(`/tasks/${taskId}/webhooks`) : [];
  $("#timeline-webhooks").hidden = !webhooks.length;
  $("#webhooks").replaceChildren(...webhooks.map((w) => element("li", { "data-webhook": w.status },
    `${w.id}: ${w.status} after ${w.attempts} attempt${w.attempts === 1 ? "" : "s"}`,
    w.last_error ? element("span", { class: "muted" }, ` (${w.last_error})`) : null)));
  $("#events").replaceChildren(
    ...events.map((e) => element("li", { "data-status": e.to_status },
      `${new Date(e.created_at).toLocaleTimeString()} ${e.from_status || "created"} → ${e.to_status}`,
      Object.keys(e.detail).length ? element("span", { class: "muted" }, ` ${JSON.stringify(e.detail)}`) : null)),
  );
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
  Object.entries(event.counts).forEach(([status, change]) => (state.counts[status] = (state.counts[status] || 0) + change));
  renderCounters();
  refreshTasks(Object.keys(event.changed));
}

// One batch of changes: the recent page once, plus any changed task not on it that the table shows.
async function refreshTasks(changedIds) {
  const page = await api("/tasks?limit=25");
  state.emails = await api("/dashboard-emails").catch(() => state.emails);
  const onPage = new Set(page.items.map((task) => task.id));
  page.items.reverse().forEach(upsertTask);
  for (const id of changedIds) if (!onPage.has(id) && state.tasks.has(id)) upsertTask(await api(`/tasks/${id}`));
  const shown = $("#timeline-task").textContent;
  if (changedIds.includes(shown)) showTimeline(shown);
}

start();
