// serve's console: reads the JSON API (the same one any client reads) and its event stream.
// Plain script, no framework; every URL relative, so the console works behind a path prefix.
"use strict";

const GROUPS = [
  ["running", "Running"], ["queued", "Queued"], ["failed", "Failed"],
  ["done", "Done"], ["cancelled", "Cancelled"], ["skipped", "Skipped"],
];
const MAIN_OPTIONS = ["targets", "formats"]; // shown first; every other job option under "More"
const UNITS = { ms: "ms", s: "s" };
const ACRONYMS = { vad: "VAD", mt: "MT", id: "ID", tm: "TM" };

const state = { jobs: new Map(), retriedBy: new Map(), webhooks: [], review: false, folder: null, selected: new Map() };
const fields = [];
const $ = (id) => document.getElementById(id);

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

const baseName = (path) => String(path).replace(/[\\/]+$/, "").split(/[\\/]/).pop() || String(path);
const seconds = (s) => (s >= 3600 ? `${(s / 3600).toFixed(2)} h`
  : s >= 60 ? `${(s / 60).toFixed(1)} min` : `${Number(s).toFixed(1)} s`);
const money = (cost) => {
  const parts = Object.entries(cost || {}).map(([currency, amount]) => `${amount.toFixed(4)} ${currency}`);
  return parts.length ? parts.join(" + ") : "0";
};
// What some inputs used and cost, said the same way for a job (its `usage`) and for one input.
const usageText = (sentS, savedS, tokensIn, tokensOut, cost) => `Sent ${seconds(sentS)}, `
  + `saved ${seconds(savedS)}, ${tokensIn + tokensOut} tokens (${tokensIn} in, ${tokensOut} out), `
  + `cost ${money(cost)}`;

async function api(method, url, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const reply = await fetch(url, init);
  let data = {};
  try { data = await reply.json(); } catch (_) { /* not JSON */ }
  if (!reply.ok) {
    const error = new Error(data.detail || `${reply.status} ${reply.statusText}`);
    error.status = reply.status;
    throw error;
  }
  return data;
}

function say(id, text, problem = false) {
  const node = $(id);
  node.textContent = text;
  node.classList.toggle("problem", problem);
}

// -- jobs

function jobName(job) {
  const first = baseName(job.paths[0] || job.id);
  return job.paths.length > 1 ? `${first} and ${job.paths.length - 1} more` : first;
}

function groupList(status) {
  let list = $(`group-${status}`);
  if (list) return list;
  const container = $("job-groups");
  const order = GROUPS.map(([key]) => key);
  const section = element("section", { className: "group", "aria-labelledby": `heading-${status}` },
    element("h3", { id: `heading-${status}` },
      (GROUPS.find(([key]) => key === status) || [status, status])[1], " ",
      element("span", { className: "count", id: `count-${status}` })),
    element("ul", { id: `group-${status}`, role: "list" }));
  section.dataset.status = status;
  const after = [...container.children].find(
    (other) => order.indexOf(other.dataset.status) > order.indexOf(status));
  container.insertBefore(section, after || null);
  return $(`group-${status}`);
}

function renderCounts() {
  const counts = {};
  for (const job of state.jobs.values()) counts[job.status] = (counts[job.status] || 0) + 1;
  for (const section of [...$("job-groups").children]) {
    const status = section.dataset.status;
    const count = counts[status] || 0;
    section.hidden = count === 0;
    $(`count-${status}`).textContent = `(${count})`;
  }
  $("jobs-empty").hidden = state.jobs.size > 0;
}

function renderProgress(job, name) {
  const progress = job.progress || {};
  const parts = [];
  const nodes = [];
  if (progress.duration_ms) {
    const fraction = Math.min(1, (progress.sent_ms || 0) / progress.duration_ms);
    nodes.push(element("progress", { max: "100", value: String(Math.round(fraction * 100)),
      "aria-label": `Progress of ${name}` }));
    parts.push(`${Math.round(fraction * 100)} %`);
  }
  if (progress.inputs) parts.push(`${progress.ended} of ${progress.inputs} inputs ended`);
  parts.push(`${seconds((progress.sent_ms || 0) / 1000)} of audio read`);
  nodes.push(element("p", { className: "muted", text: parts.join(" · ") }));
  if ((progress.latest || []).length) {
    const list = element("ul", { className: "latest", "aria-label": `Latest sentences of ${name}` });
    for (const sentence of progress.latest) {
      list.append(element("li", {}, element("span", { text: sentence.transcript }),
        sentence.translation ? element("span", { text: ` → ${sentence.translation}` }) : null,
        element("span", { className: "muted", text: ` (${sentence.target})` })));
    }
    nodes.push(list);
  }
  return nodes;
}

function renderInputs(job) {
  const list = element("ul", { className: "inputs", "data-key": "inputs",
    "aria-label": `Inputs of ${jobName(job)}` });
  for (const input of job.inputs || []) {
    const name = baseName(input.path);
    const links = element("span", { className: "links" });
    for (const track of input.tracks || []) {
      links.append(element("a", { href: `tracks?path=${encodeURIComponent(track)}`,
        text: baseName(track) }));
    }
    if (input.status === "done" && state.review) {
      links.append(element("a", { href: `review/?path=${encodeURIComponent(input.path)}`,
        text: `Review ${name}` }));
    }
    const said = input.reason && !(job.reason || "").startsWith(input.reason); // not twice
    const used = input.status === "done" || input.sent_ms || input.saved_ms
      || input.input_tokens || input.output_tokens || Object.keys(input.cost || {}).length;
    list.append(element("li", { "data-key": `input ${input.path}` },
      element("span", { text: `${name}: ` }),
      element("span", { className: `status ${input.status}`, text: input.status }),
      said ? element("span", { className: "reason", text: ` — ${input.reason}` }) : null,
      used ? element("span", { className: "muted", text: ` · ${usageText(input.sent_ms / 1000,
        input.saved_ms / 1000, input.input_tokens, input.output_tokens, input.cost)}` }) : null,
      element("br"), links));
  }
  return list;
}

function renderJob(job) {
  // Every part keyed (data-key), so `morph` updates a shown job in place; buttons say what they
  // do in data-action (one listener on the list reads it), so a morphed button never keeps
  // another's handler.
  const name = jobName(job);
  const item = element("li", { className: "job", id: `job-${job.id}` });
  item.dataset.created = job.created || "";
  item.append(element("h4", { "data-key": "name", tabindex: "-1" },
    element("span", { text: name }), ": ",
    element("span", { className: `status ${job.status}`, text: job.status })));
  const when = job.ended || job.started || job.created || "";
  item.append(element("p", { className: "meta", "data-key": "meta",
    text: `${job.source}${job.retry_of ? " (retry)" : ""} · ${(job.options.targets || []).join(", ")}`
      + ` · ${when.replace("T", " ").replace("+00:00", " UTC")}` }));
  if (job.reason) item.append(element("p", { className: "reason", "data-key": "reason", text: job.reason }));
  if (job.status === "running") {
    item.append(element("div", { "data-key": "progress" }, ...renderProgress(job, name)));
  }
  if ((job.inputs || []).length) item.append(renderInputs(job));
  if (job.usage) {
    const usage = job.usage;
    item.append(element("p", { className: "muted", "data-key": "usage", text: usageText(usage.sent_s,
      usage.saved_s, usage.tokens.input, usage.tokens.output, usage.cost) }));
  }
  if (job.refresh) {
    item.append(element("p", { className: "muted", "data-key": "refresh",
      text: `${job.refresh.server} item ${job.refresh.item_id}: refresh ${job.refresh.state}` }));
  }
  const buttons = element("div", { className: "buttons", "data-key": "buttons" });
  if (job.status === "queued" || job.status === "running") {
    buttons.append(element("button", { type: "button", text: `Cancel ${name}`, "data-key": "cancel",
      "data-action": "cancel", "data-job": job.id }));
  }
  const retried = state.retriedBy.get(job.id);
  if (retried) {
    item.append(element("p", { className: "muted", "data-key": "retried",
      text: `Retried: the new job is ${retried.status}.` }));
  } else if (job.status === "failed" || job.status === "cancelled") {
    buttons.append(element("button", { type: "button", text: `Retry ${name}`, "data-key": "retry",
      "data-action": "retry", "data-job": job.id }));
  }
  if (buttons.childElementCount) item.append(buttons);
  return item;
}

function morph(old, fresh) {
  // `old` made to match `fresh` in place: the nodes a person or a screen reader is on stay.
  const keyOf = (node) => (node.dataset ? node.dataset.key : undefined);
  if (old.nodeName !== fresh.nodeName || keyOf(old) !== keyOf(fresh)) {
    old.replaceWith(fresh);
    return fresh;
  }
  if (old.nodeType !== Node.ELEMENT_NODE) {
    if (old.nodeValue !== fresh.nodeValue) old.nodeValue = fresh.nodeValue;
    return old;
  }
  for (const { name } of [...old.attributes]) if (!fresh.hasAttribute(name)) old.removeAttribute(name);
  for (const { name, value } of [...fresh.attributes]) {
    if (old.getAttribute(name) !== value) old.setAttribute(name, value);
  }
  const keyed = new Map();
  const loose = [];
  for (const child of old.childNodes) (keyOf(child) ? keyed.set(keyOf(child), child) : loose.push(child));
  const kept = [...fresh.childNodes].map((child) => {
    const key = keyOf(child);
    const match = key ? keyed.get(key) : loose.shift();
    if (key) keyed.delete(key);
    return match ? morph(match, child) : child;
  });
  for (const gone of [...keyed.values(), ...loose]) gone.remove();
  kept.forEach((node, index) => {
    if (old.childNodes[index] !== node) old.insertBefore(node, old.childNodes[index] || null);
  });
  return old;
}

function onJobButton(event) {
  const button = event.target.closest("button[data-action]");
  if (!button || button.getAttribute("aria-disabled") === "true") return;
  const job = state.jobs.get(button.dataset.job);
  if (!job) return;
  const name = jobName(job);
  if (button.dataset.action === "cancel") act(button, "DELETE", `jobs/${job.id}`, `Cancelling ${name}…`);
  else act(button, "POST", `jobs/${job.id}/retry`, `Retrying ${name}…`);
}

async function act(button, method, url, saying) {
  // aria-disabled, not disabled: disabling the focused button would drop the focus to <body>.
  button.setAttribute("aria-disabled", "true");
  say("connection", saying);
  try {
    const job = await api(method, url);
    upsert(job);
    say("connection", `${method === "DELETE" ? "Cancel" : "Retry"} of ${jobName(job)}: ${job.status}.`);
  } catch (error) {
    say("connection", error.message, true);
    button.removeAttribute("aria-disabled");
  }
}

function announce(job, before) {
  // The polite live region: a job's status changes are heard, not only seen.
  if (!before || before.status === job.status) return;
  const why = job.reason && job.status !== "done" ? `: ${job.reason}` : "";
  $("job-news").textContent = `${jobName(job)} is ${job.status}${why}.`;
}

function place(job) {
  // The job's list item, updated in place (moved only when its status group changes).
  const focused = document.activeElement;
  const old = $(`job-${job.id}`);
  const hadFocus = Boolean(old && focused && old.contains(focused));
  const fresh = renderJob(job);
  const list = groupList(job.status);
  const shown = old ? morph(old, fresh) : fresh;
  if (shown.parentElement !== list) {
    const later = [...list.children].find((other) => other !== shown && other.dataset.created < shown.dataset.created);
    list.insertBefore(shown, later || null); // newest first
  }
  if (hadFocus && document.activeElement !== focused) {
    // A move blurs; a control that went (Cancel once cancelled) leaves focus on the job's name.
    (document.contains(focused) ? focused : shown.querySelector("h4")).focus();
  }
}

function upsert(job) {
  const before = state.jobs.get(job.id);
  state.jobs.set(job.id, job);
  if (job.retry_of) state.retriedBy.set(job.retry_of, job);
  if (job.retry_of && state.jobs.has(job.retry_of) && job.retry_of !== job.id) {
    place(state.jobs.get(job.retry_of)); // its Retry becomes "Retried"
  }
  place(job);
  announce(job, before);
  renderCounts();
}

function reset(snapshot) {
  state.jobs.clear();
  state.retriedBy.clear();
  for (const job of snapshot.jobs) if (job.retry_of) state.retriedBy.set(job.retry_of, job);
  $("job-groups").replaceChildren();
  state.review = snapshot.review;
  for (const job of snapshot.jobs) upsert(job);
  renderCounts();
  state.webhooks = snapshot.webhooks;
  renderWebhooks();
  renderCosts(snapshot.costs);
}

// -- cost and webhooks

function costRow(label, usage) {
  return element("tr", {},
    element("th", { scope: "row", text: label }),
    element("td", { className: "number", text: seconds(usage.sent_s) }),
    element("td", { className: "number", text: seconds(usage.saved_s) }),
    element("td", { className: "number", text: `${usage.tokens.input} in, ${usage.tokens.output} out` }),
    element("td", { className: "number", text: money(usage.cost) }));
}

function renderCosts(costs) {
  const rows = [costRow("Total", costs.total)];
  for (const [day, usage] of Object.entries(costs.days || {}).reverse()) rows.push(costRow(day, usage));
  $("cost-rows").replaceChildren(...rows);
}

function renderWebhooks() {
  const list = $("webhook-list");
  list.replaceChildren(...state.webhooks.map((hook) => {
    const job = hook.job ? state.jobs.get(hook.job) : null;
    const refresh = job && job.refresh ? `; refresh ${job.refresh.state}` : hook.refresh ? `; refresh ${hook.refresh.state}` : "";
    const status = job ? `; job ${job.status}` : "";
    return element("li", {},
      element("span", { className: "muted", text: `${(hook.at || "").replace("T", " ")} ` }),
      element("strong", { text: hook.sender }),
      ` ${hook.event || ""}${hook.item ? ` item ${hook.item}` : ""}: ${hook.outcome}`
        + `${hook.detail ? ` (${hook.detail})` : ""}${status}${refresh}`);
  }));
  $("webhooks-empty").hidden = state.webhooks.length > 0;
}

// -- the live stream

function connect() {
  const events = new EventSource("jobs/events");
  events.addEventListener("open", () => say("connection", "Live: jobs update as they change."));
  events.addEventListener("reset", (event) => reset(JSON.parse(event.data)));
  events.addEventListener("job", (event) => {
    upsert(JSON.parse(event.data));
    if (state.webhooks.length) renderWebhooks();
  });
  events.addEventListener("webhook", (event) => {
    state.webhooks.unshift(JSON.parse(event.data));
    state.webhooks.length = Math.min(state.webhooks.length, 100);
    renderWebhooks();
  });
  events.addEventListener("costs", (event) => renderCosts(JSON.parse(event.data)));
  events.addEventListener("error", () => {
    say("connection", "Disconnected: reconnecting… (reload the page if you were signed out)", true);
  });
}

// -- the folder browser

async function browse(path) {
  try {
    const listing = await api("GET", path ? `library?path=${encodeURIComponent(path)}` : "library");
    state.folder = listing;
    $("where").textContent = listing.path || "Libraries";
    $("up").disabled = !listing.path;
    const items = listing.entries.map((entry, index) => {
      const id = `pick-${index}`;
      const box = element("input", { type: "checkbox", id, checked: state.selected.has(entry.path),
        onchange: (event) => pick(entry, event.target.checked) });
      const label = element("label", { for: id }, box,
        element("span", { text: entry.kind === "folder" ? `${entry.name}/` : entry.name }));
      const item = element("li", {}, label);
      if (entry.kind === "folder") {
        item.append(element("button", { type: "button", text: `Open ${entry.name}`,
          onclick: () => browse(entry.path) }));
      }
      return item;
    });
    if (listing.left_out) items.push(element("li", { className: "muted", text: `${listing.left_out} more not shown` }));
    if (!items.length) items.push(element("li", { className: "muted", text: "No folders or media files here." }));
    $("entries").replaceChildren(...items);
  } catch (error) {
    say("form-status", error.message, true);
  }
}

function pick(entry, chosen) {
  if (chosen) state.selected.set(entry.path, entry); else state.selected.delete(entry.path);
  const names = [...state.selected.values()].map((one) => one.kind === "folder" ? `${one.name}/` : one.name);
  $("selected").textContent = names.length ? `Selected: ${names.join(", ")}` : "Nothing selected.";
  $("estimate-result").replaceChildren();
}

// -- the options, from their declaration

function labelOf(option) {
  const words = option.keyword.split("_");
  let unit = "";
  if (words.length > 1 && UNITS[words[words.length - 1]]) unit = ` (${UNITS[words.pop()]})`;
  const text = words.map((word) => ACRONYMS[word] || word).join(" ") + unit;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function initialOf(option) {
  const given = option.serve_default ?? option.default;
  if (option.kind === "list") return Array.isArray(given) ? given.join(", ") : (given || "");
  if (option.kind === "flag") return Boolean(given);
  if (option.kind === "optional value") return false;
  return given === null || given === undefined ? "" : String(given);
}

function field(option) {
  const id = `option-${option.keyword}`;
  const helpId = `${id}-help`;
  const help = element("p", { className: "help", id: helpId, text: `${option.flag}: ${option.help}` });
  const initial = initialOf(option);
  let control;
  if (option.kind === "flag" || option.kind === "optional value") {
    control = element("input", { type: "checkbox", id, checked: initial, "aria-describedby": helpId });
    fields.push({ option, control, initial, read: () => control.checked });
    return element("div", { className: "field check" },
      element("label", { for: id }, control, labelOf(option)), help);
  }
  if (option.choices.length) {
    control = element("select", { id, "aria-describedby": helpId },
      ...option.choices.map((choice) => element("option", { value: choice, text: choice,
        selected: choice === initial })));
  } else {
    const numeric = (option.kind === "integer" || option.kind === "number") && !option.text;
    control = element("input", { type: numeric ? "number" : "text", id, value: initial,
      step: option.kind === "number" ? "any" : null, placeholder: option.metavar || null,
      "aria-describedby": helpId, autocomplete: "off", spellcheck: "false" });
  }
  fields.push({ option, control, initial, read: () => control.value.trim() });
  return element("div", { className: "field" }, element("label", { for: id, text: labelOf(option) }),
    control, help);
}

function valueOf(option, raw) {
  if (option.kind === "list") return raw.split(",").map((part) => part.trim()).filter(Boolean);
  if (option.kind === "optional value") return raw ? option.const : null;
  if (option.kind === "integer" && /^-?\d+$/.test(raw)) return Number(raw);
  if (option.kind === "number" && raw !== "" && !Number.isNaN(Number(raw))) return Number(raw);
  return raw;
}

function jobBody() {
  const body = { paths: [...state.selected.keys()] };
  for (const { option, read, initial } of fields) {
    const raw = read();
    const always = option.keyword === "targets" && raw !== "";
    if (!always && (raw === initial || (raw === "" && option.kind !== "flag"))) continue;
    const value = valueOf(option, raw);
    if (value !== null) body[option.keyword] = value;
  }
  return body;
}

async function loadOptions() {
  try {
    const { options } = await api("GET", "jobs/options");
    const main = options.filter((option) => MAIN_OPTIONS.includes(option.keyword));
    const more = options.filter((option) => !MAIN_OPTIONS.includes(option.keyword));
    $("main-options").replaceChildren(...main.map(field));
    $("more-options").replaceChildren(...more.map(field));
    return true;
  } catch (error) {
    say("connection", error.message, true);
    $("submit").hidden = true;
    return false;
  }
}

// -- estimate and submit

async function estimate() {
  if (!state.selected.size) { say("form-status", "Select a file or a folder first.", true); return; }
  say("form-status", "Estimating…");
  try {
    const figures = await api("POST", "jobs/estimate", jobBody());
    const upTo = figures.upper_bound ? "up to " : "";
    const rows = [
      ["Inputs", String(figures.inputs)],
      ["Audio", `${figures.audio_hours.toFixed(4)} hours (${seconds(figures.audio_s)})`],
      ["To be sent", `${upTo}${seconds(figures.sent_s)}${figures.gate === "scanned"
        ? " (the speech gate's scan)" : figures.upper_bound ? " (the speech gate sends less)" : ""}`],
      ["Cost", `${upTo}${money(figures.cost)}`],
    ];
    for (const problem of figures.problems) rows.push(["Problem", problem]);
    $("estimate-result").replaceChildren(element("h3", { text: "Estimate" }),
      element("dl", {}, ...rows.flatMap(([term, value]) =>
        [element("dt", { text: term }), element("dd", { text: value })])));
    say("form-status", "");
  } catch (error) {
    say("form-status", error.message, true);
  }
}

async function submit(event) {
  event.preventDefault();
  if (!state.selected.size) { say("form-status", "Select a file or a folder first.", true); return; }
  say("form-status", "Submitting…");
  try {
    const job = await api("POST", "jobs", jobBody());
    upsert(job);
    say("form-status", `Submitted: ${jobName(job)} is ${job.status}.`);
  } catch (error) {
    say("form-status", error.message, true);
  }
}

async function start() {
  $("up").addEventListener("click", () => {
    const folder = state.folder;
    browse(folder && folder.parent ? folder.parent : null);
  });
  $("estimate").addEventListener("click", estimate);
  $("job-groups").addEventListener("click", onJobButton);
  $("job-form").addEventListener("submit", submit);
  if (await loadOptions()) {
    browse(null);
    connect();
  }
}

start();
