// The review editor's script (docs/review.md): plain JavaScript, no framework, relative URLs only
// (served at / by `subtitler review` and at /review/ by `subtitler serve`). The server holds the
// document and its version; this page holds only what is typed and not yet saved (drafts), so a
// reload, a save or another tab's change never loses a word.
"use strict";

// ---- Pure parts (no DOM): time, keys, where a cue may go -----------------------------------

const Review = {
  /** 61250 -> "00:01:01.250", as WebVTT writes times. */
  formatMs(ms) {
    const sign = ms < 0 ? "-" : "";
    let rest = Math.round(Math.abs(ms));
    const milli = rest % 1000; rest = (rest - milli) / 1000;
    const seconds = rest % 60; rest = (rest - seconds) / 60;
    const minutes = rest % 60; const hours = (rest - minutes) / 60;
    const two = n => String(n).padStart(2, "0");
    return `${sign}${two(hours)}:${two(minutes)}:${two(seconds)}.${String(milli).padStart(3, "0")}`;
  },

  /** The action a key press asks for, or null; `inText`: the focus is in a text field. */
  keyAction(key, inText, onButton) {
    const ctrl = key.ctrlKey || key.metaKey;
    const code = key.code;
    if (ctrl && !key.altKey && code === "Space") return "play";
    if (ctrl && !key.altKey && (code === "Enter" || code === "NumpadEnter")) return "save";
    if (key.altKey && !ctrl) {
      const alt = {ArrowUp: "previous", ArrowDown: "next", KeyP: "play-cue", KeyS: "split",
                   KeyM: "merge"}[code];
      if (alt) return alt;
      if (code === "BracketLeft") return key.shiftKey ? "end-earlier" : "begin-earlier";
      if (code === "BracketRight") return key.shiftKey ? "end-later" : "begin-later";
      return null;
    }
    if (ctrl && !key.altKey && !inText) {
      if (code === "KeyZ") return key.shiftKey ? "redo" : "undo";
      if (code === "KeyY") return "redo";
    }
    if (!ctrl && !key.altKey && !key.shiftKey && code === "Space" && !inText && !onButton) {
      return "play";
    }
    return null;
  },

  /** Text as the API holds it: one entry per line, blank lines dropped. */
  linesOf(text) {
    return text.split("\n").map(line => line.trim()).filter(line => line.length > 0);
  },

  textOf(lines) {
    return (lines || []).join("\n");
  },

  /** The cue whose inside (begin < t < end) holds `atMs`, or null. */
  cueAt(cues, atMs) {
    return cues.find(cue => cue.begin_ms < atMs && atMs < cue.end_ms) || null;
  },

  /** Where a new cue of up to `lengthMs` fits at `atMs`: in the gap holding it, else in the gap
   *  after the cue holding it; null when that gap is shorter than two frames. */
  insertionAt(cues, atMs, durationMs, frameMs, lengthMs) {
    const sorted = [...cues].sort((a, b) => a.begin_ms - b.begin_ms);
    const inside = Review.cueAt(sorted, atMs) || sorted.find(cue => cue.begin_ms === atMs);
    let begin = inside ? inside.end_ms : atMs;
    const next = sorted.find(cue => cue.begin_ms >= begin);
    const limit = next ? next.begin_ms : durationMs;
    const previous = [...sorted].reverse().find(cue => cue.end_ms <= begin);
    if (previous && previous.end_ms > begin) begin = previous.end_ms;
    const end = Math.min(begin + lengthMs, limit);
    if (end - begin < 2 * frameMs) return null;
    return {begin_ms: Math.round(begin), end_ms: Math.round(end)};
  },

  /** One line for a rule's finding, naming the target when it is about one. */
  problemText(problem, targetNames) {
    const about = problem.target ? ` (${targetNames[problem.target] || problem.target})` : "";
    return `${problem.rule}${about}: ${problem.message}`;
  },
};
window.Review = Review;

// ---- The page ---------------------------------------------------------------------------

const query = new URLSearchParams(location.search);
const inputPath = query.get("path");
const $ = id => document.getElementById(id);
const status = $("status");

const state = {
  doc: null,            // the document as the server last answered it
  current: null,        // the current cue's id: the buttons act on it
  drafts: new Map(),    // "cueId|field" -> {text, base}: typed, not saved (field: "source" or a language)
  asideTexts: new Map(),// "cueId|field" -> text the user typed over another's saved change
  checked: new Map(),   // cueId -> problems of the unsaved text (api/check)
  checkTimers: new Map(),
  checkSerial: 0,
  busy: false,
  newerVersion: null,   // announced by api/events while there were drafts
  stopAtMs: null,       // "Play this cue" pauses here
  shownLanguage: null,  // the target whose track the player shows ("" for none)
  nodes: new Map(),     // cue id -> {signature, node}: the cue list's nodes, reused while unchanged
  nodesFor: null,
  playingId: null,
  lastFieldCue: null,   // the cue ("new" for one being inserted) whose field last had the cursor
  applyingTracks: false,
  media: null,
};

function announce(text) {
  // The same text twice is still read out: clear, then set on the next frame.
  status.textContent = "";
  requestAnimationFrame(() => { status.textContent = text; });
}

function apiUrl(name, extra) {
  const params = new URLSearchParams({path: inputPath, ...(extra || {})});
  return `api/${name}?${params}`;
}

async function request(method, url, body) {
  const init = {method, credentials: "same-origin", headers: {Accept: "application/json"}};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    return {status: 0, body: {detail: `the server did not answer (${error.message})`}};
  }
  let data = null;
  try { data = await response.json(); } catch (_) { data = {detail: response.statusText}; }
  return {status: response.status, body: data};
}

function detailOf(reply) {
  if (reply.status === 401) return "not signed in: reload the page to sign in";
  if (reply.status === 403) return "refused: " + ((reply.body && reply.body.detail) || "forbidden");
  return (reply.body && reply.body.detail) || `the server answered ${reply.status}`;
}

// ---- The list of inputs --------------------------------------------------------------------

async function showInputs() {
  $("inputs-view").hidden = false;
  const reply = await request("GET", "api/inputs");
  if (reply.status !== 200) { announce(`Could not list the inputs: ${detailOf(reply)}`); return; }
  const inputs = reply.body.inputs || [];
  if (inputs.length === 1 && inputs[0].has_journal) {
    // `subtitler review talk.mp4`: the one input's page at once (Back does not return here).
    location.replace(`./?${new URLSearchParams({path: inputs[0].path})}`);
    return;
  }
  const list = $("inputs");
  list.replaceChildren();
  for (const input of inputs) {
    const item = document.createElement("li");
    const where = `./?${new URLSearchParams({path: input.path})}`;
    if (input.has_journal) {
      const link = document.createElement("a");
      link.href = where;
      link.textContent = input.path;
      item.append(link, ` ${input.reviewed} of ${input.cues} cues reviewed`);
      if ((input.targets || []).length) item.append(` · ${input.targets.join(", ")}`);
    } else {
      const name = document.createElement("span");
      name.textContent = input.path;
      item.append(name, " · not subtitled yet: run subtitler first");
    }
    list.append(item);
  }
  if (inputs.length === 0) {
    const item = document.createElement("li");
    item.textContent = "No media here.";
    list.append(item);
  }
  announce(`${inputs.length} input${inputs.length === 1 ? "" : "s"}`);
}

// ---- The document ----------------------------------------------------------------------------

function cueIndex(id) {
  return state.doc ? state.doc.cues.findIndex(cue => cue.id === id) : -1;
}

function currentCue() {
  const index = cueIndex(state.current);
  return index >= 0 ? state.doc.cues[index] : null;
}

function targetNames() {
  const names = {};
  for (const target of state.doc.targets) names[target.language] = target.name || target.language;
  return names;
}

function savedText(cue, field) {
  if (field === "source") return Review.textOf(cue.source.lines);
  const translation = cue.translations[field];
  return translation ? Review.textOf(translation.lines) : "";
}

/** Take a document from the server: drafts whose saved text did not change stay; a draft typed
 *  over a change saved elsewhere is set aside (offered back), the other's change shown. */
function adopt(doc) {
  const byId = new Map(doc.cues.map(cue => [cue.id, cue]));
  const overtaken = [];
  for (const [key, draft] of state.drafts) {
    const [id, field] = key.split("|");
    const cue = byId.get(id);
    if (!cue) { state.asideTexts.set(key, draft.text); state.drafts.delete(key); continue; }
    const saved = savedText(cue, field);
    if (saved === draft.text) state.drafts.delete(key);
    else if (saved !== draft.base) {
      state.asideTexts.set(key, draft.text);
      state.drafts.delete(key);
      overtaken.push(key);
    }
  }
  for (const id of [...state.checked.keys()]) {
    if (![...state.drafts.keys()].some(key => key.startsWith(id + "|"))) state.checked.delete(id);
  }
  state.doc = doc;
  state.newerVersion = null;
  if (!byId.has(state.current)) {
    const index = Math.max(0, Math.min(doc.cues.length - 1, cueIndex(state.current)));
    state.current = doc.cues.length ? doc.cues[index].id : null;
  }
  render();
  return overtaken;
}

async function loadDocument() {
  const reply = await request("GET", apiUrl("document"));
  if (reply.status !== 200) { announce(`Could not open ${inputPath}: ${detailOf(reply)}`); return false; }
  adopt(reply.body);
  return true;
}

/** Send one edit with the version this page shows; the new document, or null (announced). */
async function edit(op) {
  const reply = await request("POST", apiUrl("edit"), {base_version: state.doc.version, ...op});
  if (reply.status === 200) return reply.body;
  if (reply.status === 409 && reply.body && reply.body.document) {
    adopt(reply.body.document);
    const other = reply.body.conflict && reply.body.conflict.op;  // null: busy, not edited
    announce(other
      ? `Not saved: ${reply.body.detail}. The other change is shown; your unsaved text is kept.`
      : `Not saved: ${reply.body.detail}. Your unsaved text is kept: save again in a moment.`);
    return null;
  }
  if (reply.body && reply.body.document) adopt(reply.body.document);
  announce(`Not saved: ${detailOf(reply)}`);
  return null;
}

async function busyWhile(work) {
  if (state.busy) { announce("Still saving the last change"); return; }
  state.busy = true;
  $("editor").setAttribute("aria-busy", "true");
  try { await work(); } finally {
    state.busy = false;
    $("editor").setAttribute("aria-busy", "false");
    if (state.newerVersion !== null && state.drafts.size === 0) await loadDocument();
  }
}

function cueName(id) {
  return `cue ${cueIndex(id) + 1}`;
}

/** Save what was typed in one cue: translations by hand first, then the source (which
 *  re-requests the translations not made by hand). */
async function saveCue(id) {
  await busyWhile(async () => {
    const fields = [...state.drafts.keys()].filter(key => key.startsWith(id + "|"))
      .map(key => key.split("|")[1]);
    if (fields.length === 0) { announce(`Nothing to save in ${cueName(id)}`); return; }
    fields.sort((a, b) => (a === "source") - (b === "source"));
    const name = cueName(id);
    for (const field of fields) {
      const draft = state.drafts.get(`${id}|${field}`);
      if (!draft) continue;  // set aside by a conflict
      const lines = Review.linesOf(draft.text);
      const op = field === "source" ? {op: "source", cue: id, lines}
                                    : {op: "translation", cue: id, target: field, lines};
      const doc = await edit(op);
      if (doc === null) return;
      state.drafts.delete(`${id}|${field}`);
      state.asideTexts.delete(`${id}|${field}`);
      adopt(doc);
    }
    const cue = currentCueById(id);
    const failed = cue ? Object.entries(cue.translations).filter(([, t]) => t.state === "failed") : [];
    announce(failed.length
      ? `Saved ${name}; translation failed for ${failed.map(([l]) => targetNames()[l] || l).join(", ")}: ${failed[0][1].error}`
      : `Saved ${name} (version ${state.doc.version})`);
  });
}

async function saveNewCue() {
  const fresh = state.newCue;
  const lines = Review.linesOf(fresh.text);
  if (lines.length === 0) { announce("Type the new cue's source first"); return; }
  await busyWhile(async () => {
    const before = new Set(state.doc.cues.map(cue => cue.id));
    const doc = await edit({op: "insert", begin_ms: fresh.begin_ms, end_ms: fresh.end_ms, lines});
    if (doc === null) return;
    state.newCue = null;
    const added = doc.cues.find(cue => !before.has(cue.id));
    if (added) state.current = added.id;
    adopt(doc);
    if (added) focusField(added.id, "source");
    announce(`Inserted ${cueName(state.current)} (version ${state.doc.version})`);
  });
}

function newCueNode() {
  const fresh = state.newCue;
  const item = element("li", {className: "cue current new", id: "cue-new",
                              "aria-labelledby": "cue-new-heading cue-new-times"});
  item.append(element("div", {className: "cue-head"},
    element("h3", {id: "cue-new-heading", text: "New cue"}),
    element("span", {className: "times", id: "cue-new-times",
                     text: `${Review.formatMs(fresh.begin_ms)} to ${Review.formatMs(fresh.end_ms)}`})));
  const id = fieldId("new", "source");
  const area = element("textarea", {id, "aria-label": "Source, new cue", lang: state.doc.source_language || null,
                                    rows: "1", className: "dirty"});
  area.value = fresh.text;
  area.dataset.cue = "new";
  area.dataset.field = "source";
  area.addEventListener("input", () => { fresh.text = area.value; });
  item.append(element("div", {className: "field"},
    element("label", {for: id}, element("span", {text: "Source"})), area));
  const save = element("button", {type: "button", className: "save", "aria-label": "Save, new cue",
                                  "aria-keyshortcuts": "Control+Enter"}, "Save");
  save.addEventListener("click", saveNewCue);
  const cancel = element("button", {type: "button", "aria-label": "Cancel, new cue"}, "Cancel");
  cancel.addEventListener("click", () => { state.newCue = null; render(); announce("No cue inserted"); });
  item.append(element("div", {className: "cue-actions"}, save, cancel));
  return item;
}

function currentCueById(id) {
  const index = cueIndex(id);
  return index >= 0 ? state.doc.cues[index] : null;
}

async function simpleEdit(op, said) {
  await busyWhile(async () => {
    const doc = await edit(op);
    if (doc === null) return;
    adopt(doc);
    announce(typeof said === "function" ? said() : said);
  });
}

// ---- Actions (buttons and keys) ------------------------------------------------------------

function requireCue() {
  const cue = currentCue();
  if (!cue) announce("No cue chosen");
  return cue;
}

function playheadMs() {
  return state.media ? Math.round(state.media.currentTime * 1000) : 0;
}

function seek(ms) {
  if (state.media) state.media.currentTime = ms / 1000;
  tick();
}

const actions = {
  play() {
    const media = state.media;
    if (!media) return;
    state.stopAtMs = null;
    if (media.paused) media.play().catch(error => announce(`Cannot play: ${error.message}`));
    else media.pause();
  },
  previous() { step(-1); },
  next() { step(1); },
  "play-cue"() {
    const cue = requireCue();
    if (!cue || !state.media) return;
    seek(cue.begin_ms);
    state.stopAtMs = cue.end_ms;
    state.media.play().catch(error => announce(`Cannot play: ${error.message}`));
  },
  split() {
    const at = playheadMs();
    const chosen = currentCue();
    const cue = chosen && chosen.begin_ms < at && at < chosen.end_ms ? chosen
      : Review.cueAt(state.doc.cues, at);
    if (!cue) { announce(`The playhead (${Review.formatMs(at)}) is not inside a cue`); return; }
    const name = cueName(cue.id);
    simpleEdit({op: "split", cue: cue.id, at_ms: at}, `Split ${name} at ${Review.formatMs(at)}`);
  },
  merge() {
    const cue = requireCue();
    if (!cue) return;
    if (cueIndex(cue.id) >= state.doc.cues.length - 1) { announce("The last cue has no next cue"); return; }
    const name = cueName(cue.id);
    simpleEdit({op: "merge", cue: cue.id}, `Merged ${name} with the next cue`);
  },
  insert() {
    if (state.newCue) { focusField("new", "source"); return; }
    const media = state.doc.media;
    const at = playheadMs();
    const place = Review.insertionAt(state.doc.cues, at, media.duration_ms || at + 2000,
                                     media.frame_ms || 40, 2000);
    if (!place) { announce(`No room for a cue at ${Review.formatMs(at)}`); return; }
    // A cue needs its text before it exists: a new cue to type in, saved like any other.
    state.newCue = {...place, text: ""};
    render();
    focusField("new", "source");
    announce(`New cue at ${Review.formatMs(place.begin_ms)} to ${Review.formatMs(place.end_ms)}: type its source and save`);
  },
  delete() {
    const cue = requireCue();
    if (!cue) return;
    const name = cueName(cue.id);
    simpleEdit({op: "delete", cue: cue.id}, `Deleted ${name} (Undo brings it back)`);
  },
  reviewed() {
    const cue = requireCue();
    if (!cue) return;
    const name = cueName(cue.id);
    const value = !cue.reviewed;
    simpleEdit({op: "reviewed", cue: cue.id, value},
               value ? `Marked ${name} reviewed` : `Marked ${name} not reviewed`);
  },
  "begin-earlier"() { nudge("begin", -1); },
  "begin-later"() { nudge("begin", 1); },
  "end-earlier"() { nudge("end", -1); },
  "end-later"() { nudge("end", 1); },
  undo() { simpleEdit({op: "undo"}, () => `Undone (version ${state.doc.version})`); },
  redo() { simpleEdit({op: "redo"}, () => `Redone (version ${state.doc.version})`); },
  save() {
    if (state.newCue && state.lastFieldCue === "new") { saveNewCue(); return; }
    const cue = requireCue();
    if (cue) saveCue(cue.id);
  },
};

function step(direction) {
  if (!state.doc || state.doc.cues.length === 0) return;
  const index = cueIndex(state.current);
  const next = Math.max(0, Math.min(state.doc.cues.length - 1,
                                    index < 0 ? 0 : index + direction));
  const cue = state.doc.cues[next];
  choose(cue.id);
  seek(cue.begin_ms);
  focusField(cue.id, "source");
}

function nudge(edge, direction) {
  const cue = requireCue();
  if (!cue) return;
  const frame = state.doc.media.frame_ms || 40;
  const begin = edge === "begin" ? Math.round(cue.begin_ms + direction * frame) : cue.begin_ms;
  const end = edge === "end" ? Math.round(cue.end_ms + direction * frame) : cue.end_ms;
  const id = cue.id;
  simpleEdit({op: "timing", cue: id, begin_ms: begin, end_ms: end}, () => {
    const now = currentCueById(id);
    return now ? `${cueName(id)}: ${Review.formatMs(now.begin_ms)} to ${Review.formatMs(now.end_ms)}`
               : "Timing saved";
  });
}

// ---- Rendering -----------------------------------------------------------------------------

function element(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter(child => child !== null && child !== undefined));
  return node;
}

function fieldId(id, field) {
  return `cue-${id}-${field}`.replace(/[^A-Za-z0-9_-]/g, "_");
}

function focusField(id, field) {
  const node = document.getElementById(fieldId(id, field));
  if (node) { node.focus(); node.scrollIntoView({block: "nearest"}); }
}

function choose(id) {
  if (state.current === id) return;
  state.current = id;
  for (const node of document.querySelectorAll("#cues > li")) {
    const chosen = node.dataset.id === id;
    node.classList.toggle("current", chosen);
    if (chosen) node.setAttribute("aria-current", "true"); else node.removeAttribute("aria-current");
  }
  updateControls();
}

function render() {
  const doc = state.doc;
  const active = document.activeElement;
  const focused = active && active.dataset && active.dataset.field
    ? {id: active.dataset.cue, field: active.dataset.field, index: cueIndex(active.dataset.cue),
       start: active.selectionStart, end: active.selectionEnd}
    : null;
  document.title = `${doc.name} · subtitler review`;
  $("title").textContent = doc.name;
  $("version").textContent = `version ${doc.version} · ${doc.cues.filter(c => c.reviewed).length} of ${doc.cues.length} reviewed`;
  document.documentElement.dataset.version = String(doc.version);
  renderMedia();
  renderCues();
  renderProblems();
  updateControls();
  if (focused) {
    const stillThere = cueIndex(focused.id) >= 0 || (focused.id === "new" && state.newCue) ? focused.id
      : (doc.cues[Math.max(0, Math.min(focused.index, doc.cues.length - 1))] || {}).id;
    const node = stillThere && document.getElementById(fieldId(stillThere, focused.field));
    if (node) {
      node.focus({preventScroll: true});
      if (stillThere === focused.id && focused.start !== null) {
        node.setSelectionRange(Math.min(focused.start, node.value.length),
                               Math.min(focused.end, node.value.length));
      }
    }
  }
}

function renderMedia() {
  const doc = state.doc;
  const box = $("media-box");
  const kind = doc.media.kind === "audio" ? "audio" : "video";
  let media = state.media;
  if (!media || media.tagName.toLowerCase() !== kind || media.dataset.url !== doc.media.url) {
    media = element(kind, {controls: true, preload: "metadata", "aria-label": `${doc.name}, ${kind}`});
    media.dataset.url = doc.media.url;
    media.src = doc.media.url;
    media.addEventListener("timeupdate", tick);
    media.addEventListener("seeked", tick);
    media.addEventListener("play", () => requestAnimationFrame(follow));
    media.textTracks.addEventListener("change", trackChosen);
    box.replaceChildren(media);
    state.media = media;
  }
  if (media.dataset.version === String(doc.version)) return;
  // New <track>s after each save: the browser caches a track by its URL, so the version goes in it.
  if (!state.shownLanguage) state.shownLanguage = (doc.targets[0] || {}).language || null;
  for (const old of media.querySelectorAll("track")) old.remove();
  for (const target of doc.targets) {
    const track = element("track", {kind: "subtitles", srclang: target.language,
                                    label: target.name || target.language,
                                    src: `${target.track_url}&version=${doc.version}`,
                                    default: target.language === state.shownLanguage});
    // The browser picks tracks of its own when they load: one shown, the one chosen.
    track.addEventListener("load", showChosenTrack);
    media.append(track);
  }
  showChosenTrack();
  media.dataset.version = String(doc.version);
}

function showChosenTrack() {
  if (!state.media) return;
  state.applyingTracks = true;
  for (const track of state.media.textTracks) {
    const mode = track.language === state.shownLanguage ? "showing" : "disabled";
    if (track.mode !== mode) track.mode = mode;
  }
  state.applyingTracks = false;
}

/** The captions menu of the player chose a track (or none): kept across saves. */
function trackChosen() {
  if (state.applyingTracks || !state.media) return;
  const showing = [...state.media.textTracks].filter(track => track.mode === "showing")
    .map(track => track.language);
  // The browser's own pick shows a second track beside the chosen one; the menu shows one.
  if (!showing.includes(state.shownLanguage)) state.shownLanguage = showing[0] || "";
  if (showing.length > 1) showChosenTrack();
}

function renderCues() {
  const doc = state.doc;
  const names = targetNames();
  const list = $("cues");
  // A cue's node is built again only when what it shows changed: a save redraws one cue, not
  // a film's thousand and more.
  const shared = JSON.stringify([doc.targets, doc.source_language]);
  if (state.nodesFor !== shared) { state.nodes = new Map(); state.nodesFor = shared; }
  const kept = new Map();
  const nodes = doc.cues.map((cue, index) => {
    const signature = cueSignature(cue, index + 1);
    const known = state.nodes.get(cue.id);
    const node = known && known.signature === signature ? known.node : cueNode(cue, index + 1, names);
    node.classList.toggle("current", cue.id === state.current);
    if (cue.id === state.current) node.setAttribute("aria-current", "true"); else node.removeAttribute("aria-current");
    kept.set(cue.id, {signature, node});
    return node;
  });
  state.nodes = kept;
  state.playingId = null;
  if (state.newCue) {
    const after = doc.cues.filter(cue => cue.begin_ms < state.newCue.begin_ms).length;
    nodes.splice(after, 0, newCueNode());
  }
  if (doc.cues.length === 0 && !state.newCue) {
    nodes.push(element("li", {className: "empty", text: "No cues: Insert cue adds one at the playhead."}));
  }
  nodes.forEach((node, index) => {
    if (list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
  });
  while (list.children.length > nodes.length) list.lastElementChild.remove();
}

/** What a cue's node shows, as one string: equal strings, the same node. */
function cueSignature(cue, number) {
  const fields = ["source", ...state.doc.targets.map(target => target.language)];
  const keys = fields.map(field => `${cue.id}|${field}`);
  return JSON.stringify([number, cue, keys.map(key => (state.drafts.get(key) || {}).text),
                         keys.map(key => state.asideTexts.get(key)), state.checked.get(cue.id)]);
}

function cueNode(cue, number, names) {
  const name = `cue ${number}`;
  const chosen = cue.id === state.current;
  const item = element("li", {className: "cue" + (chosen ? " current" : "") + (cue.reviewed ? " reviewed" : ""),
                              "aria-labelledby": `cue-${cue.id}-heading cue-${cue.id}-times`,
                              "aria-current": chosen ? "true" : null});
  item.dataset.id = cue.id;
  item.id = `cue-${cue.id}`;
  const head = element("div", {className: "cue-head"},
    element("h3", {id: `cue-${cue.id}-heading`, text: `Cue ${number}`}),
    element("span", {className: "times", id: `cue-${cue.id}-times`,
                     text: `${Review.formatMs(cue.begin_ms)} to ${Review.formatMs(cue.end_ms)}`}),
    cue.reviewed ? element("span", {className: "badge ok", text: "reviewed"}) : null);
  item.append(head);
  item.append(fieldNode(cue, "source", "Source", `Source, ${name}`, state.doc.source_language,
                        cue.source.edited ? "edited" : null));
  if (cue.words && cue.words.length) {
    // The words as the service timed them: each moves the playhead to its start (where Split
    // at playhead cuts). Out of the Tab order: the keys step through cues, not words.
    const words = element("p", {className: "words", role: "group", "aria-label": `Words of ${name}, with their times`});
    for (const word of cue.words) {
      const seekTo = element("button", {type: "button", className: "word", tabindex: "-1",
                                        title: `${Review.formatMs(word.begin_ms)} → ${Review.formatMs(word.end_ms)}`},
        element("span", {className: "word-text", text: word.text}),
        element("span", {className: "word-time", text: ` ${(word.begin_ms / 1000).toFixed(2)}`}));
      seekTo.addEventListener("click", () => { choose(cue.id); seek(word.begin_ms); });
      words.append(seekTo, " ");
    }
    item.append(words);
  }
  for (const target of state.doc.targets) {
    const translation = cue.translations[target.language];
    const label = `${names[target.language]} translation`;
    let note = null;
    if (translation) {
      if (translation.state === "failed") note = `translation failed, the previous one kept: ${translation.error || "no reason given"}`;
      else if (translation.state === "pending") note = "translating…";
      else if (translation.state === "stale") note = "stale: the source changed";
      else if (translation.by_hand) note = "by hand";
    }
    item.append(fieldNode(cue, target.language, label, `${label}, ${name}`, target.language, note,
                          translation && translation.state === "failed"));
  }
  const problems = state.checked.has(cue.id) ? state.checked.get(cue.id) : cue.problems;
  const problemList = element("ul", {className: "cue-problems", "aria-label": `Problems of ${name}`});
  for (const problem of problems) problemList.append(element("li", {text: Review.problemText(problem, names)}));
  if (problems.length) item.append(problemList);
  const dirty = [...state.drafts.keys()].some(key => key.startsWith(cue.id + "|"));
  const save = element("button", {type: "button", className: "save", "aria-label": `Save, ${name}`,
                                  "aria-keyshortcuts": "Control+Enter"}, "Save");
  save.addEventListener("click", () => { choose(cue.id); saveCue(cue.id); });
  item.append(element("div", {className: "cue-actions"}, save,
    element("span", {className: "dirty", text: dirty ? "unsaved changes" : ""})));
  item.addEventListener("focusin", () => choose(cue.id));
  item.addEventListener("click", event => {
    if (event.target === item || event.target.closest(".cue-head")) { choose(cue.id); seek(cue.begin_ms); }
  });
  return item;
}

function fieldNode(cue, field, label, accessibleName, language, note, warn) {
  const key = `${cue.id}|${field}`;
  const draft = state.drafts.get(key);
  const id = fieldId(cue.id, field);
  const text = draft ? draft.text : savedText(cue, field);
  const area = element("textarea", {id, "aria-label": accessibleName, lang: language || null,
                                    rows: String(Math.max(1, text.split("\n").length)), spellcheck: "true",
                                    "aria-describedby": note ? `${id}-note` : null});
  area.value = text;
  area.dataset.cue = cue.id;
  area.dataset.field = field;
  if (draft) area.classList.add("dirty");
  area.addEventListener("input", () => {
    const saved = savedText(currentCueById(cue.id) || cue, field);
    const existing = state.drafts.get(key);
    if (area.value === saved) state.drafts.delete(key);
    else state.drafts.set(key, {text: area.value, base: existing ? existing.base : saved});
    area.classList.toggle("dirty", state.drafts.has(key));
    area.rows = Math.max(1, area.value.split("\n").length);
    const flag = area.closest("li").querySelector(".dirty:not(textarea)");
    if (flag) flag.textContent = [...state.drafts.keys()].some(k => k.startsWith(cue.id + "|")) ? "unsaved changes" : "";
    scheduleCheck(cue.id);
  });
  const wrap = element("div", {className: "field"},
    element("label", {for: id}, element("span", {text: label}),
            language ? element("span", {className: "lang", text: ` ${language}`}) : null),
    area,
    note ? element("p", {id: `${id}-note`, className: "note" + (warn ? " warn" : ""), text: note}) : null);
  const aside = state.asideTexts.get(key);
  if (aside !== undefined) {
    const restore = element("button", {type: "button", "aria-label": `Restore my text, ${accessibleName}`}, "Restore my text");
    restore.addEventListener("click", () => {
      state.asideTexts.delete(key);
      state.drafts.set(key, {text: aside, base: savedText(currentCueById(cue.id) || cue, field)});
      render();
      focusField(cue.id, field);
      scheduleCheck(cue.id);
    });
    wrap.append(element("div", {className: "aside"},
      element("p", {}, "Saved elsewhere first; your unsaved text was: ", element("q", {text: aside})),
      restore));
  }
  return wrap;
}

function renderProblems() {
  const names = targetNames();
  const list = $("problems");
  const items = [];
  state.doc.cues.forEach((cue, index) => {
    const problems = state.checked.has(cue.id) ? state.checked.get(cue.id) : cue.problems;
    for (const problem of problems) {
      const link = element("a", {href: `#cue-${cue.id}`, text: `Cue ${index + 1}: ${Review.problemText(problem, names)}`});
      link.addEventListener("click", event => {
        event.preventDefault();
        choose(cue.id);
        seek(cue.begin_ms);
        focusField(cue.id, problem.target && problem.target in cue.translations ? problem.target : "source");
      });
      items.push(element("li", {}, link));
    }
  });
  list.replaceChildren(...items);
  const cues = new Set(state.doc.cues.filter(cue => (state.checked.get(cue.id) || cue.problems).length).map(cue => cue.id));
  $("problems-count").textContent = items.length
    ? `${items.length} in ${cues.size} cue${cues.size === 1 ? "" : "s"}` : "None: every cue keeps the rules.";
}

function updateControls() {
  const doc = state.doc;
  if (!doc) return;
  $("undo").disabled = !doc.can_undo;
  $("redo").disabled = !doc.can_redo;
  const cue = currentCue();
  $("reviewed").setAttribute("aria-pressed", cue && cue.reviewed ? "true" : "false");
  $("current-label").textContent = cue ? `current: cue ${cueIndex(cue.id) + 1}` : "";
}

// ---- The playhead ----------------------------------------------------------------------------

function tick() {
  const at = playheadMs();
  $("clock").textContent = Review.formatMs(at);
  if (!state.doc) return;
  const playing = Review.cueAt(state.doc.cues, at) || state.doc.cues.find(cue => cue.begin_ms === at);
  const id = playing ? playing.id : null;
  if (id === state.playingId) return;
  for (const node of document.querySelectorAll("#cues > li.playing")) node.classList.remove("playing");
  const node = id && document.getElementById(`cue-${id}`);
  if (node) node.classList.add("playing");
  state.playingId = id;
}

function follow() {
  const media = state.media;
  if (!media) return;
  if (state.stopAtMs !== null && playheadMs() >= state.stopAtMs) {
    media.pause();
    state.stopAtMs = null;
  }
  tick();
  if (!media.paused) requestAnimationFrame(follow);
}

// ---- Checks as you type ------------------------------------------------------------------

function scheduleCheck(id) {
  clearTimeout(state.checkTimers.get(id));
  state.checkTimers.set(id, setTimeout(() => checkCue(id), 400));
}

async function checkCue(id) {
  const cue = currentCueById(id);
  if (!cue) return;
  const text = field => {
    const draft = state.drafts.get(`${id}|${field}`);
    return Review.linesOf(draft ? draft.text : savedText(cue, field));
  };
  const translations = {};
  for (const target of state.doc.targets) translations[target.language] = text(target.language);
  const serial = ++state.checkSerial;
  state.checkTimers.set(`${id}#serial`, serial);
  const reply = await request("POST", apiUrl("check"), {cue: id, begin_ms: cue.begin_ms, end_ms: cue.end_ms,
                                                        source: text("source"), translations});
  if (reply.status !== 200 || state.checkTimers.get(`${id}#serial`) !== serial) return;
  state.checked.set(id, reply.body.problems || []);
  const node = document.getElementById(`cue-${id}`);
  if (!node) return;
  const names = targetNames();
  const number = cueIndex(id) + 1;
  let list = node.querySelector(".cue-problems");
  const problems = reply.body.problems || [];
  if (!list) {
    list = element("ul", {className: "cue-problems", "aria-label": `Problems of cue ${number}`});
    node.querySelector(".cue-actions").before(list);
  }
  list.replaceChildren(...problems.map(p => element("li", {text: Review.problemText(p, names)})));
  list.hidden = problems.length === 0;
  renderProblems();
}

// ---- Keys and wiring ---------------------------------------------------------------------

function isTextField(node) {
  if (!node) return false;
  const tag = node.tagName ? node.tagName.toLowerCase() : "";
  if (tag === "textarea" || node.isContentEditable) return true;
  return tag === "input" && !["button", "checkbox", "radio", "range", "submit"].includes(node.type);
}

function onKey(event) {
  if (!state.doc || $("keys").open) return;
  const focus = document.activeElement;
  const onButton = focus && ["button", "a", "summary"].includes(focus.tagName.toLowerCase());
  const media = state.media && (focus === state.media);
  const action = Review.keyAction(event, isTextField(focus), onButton || media);
  if (!action) return;
  event.preventDefault();
  event.stopPropagation();
  actions[action]();
}

function wire() {
  const buttons = {play: "play", previous: "previous", next: "next", "play-cue": "play-cue",
                   split: "split", merge: "merge", insert: "insert", delete: "delete",
                   reviewed: "reviewed", "begin-earlier": "begin-earlier", "begin-later": "begin-later",
                   "end-earlier": "end-earlier", "end-later": "end-later", undo: "undo", redo: "redo",
                   save: "save"};
  for (const [id, action] of Object.entries(buttons)) {
    $(id).addEventListener("click", () => { if (state.doc) actions[action](); });
  }
  $("keys-open").addEventListener("click", () => $("keys").showModal());
  document.addEventListener("focusin", event => {
    const cue = event.target && event.target.dataset ? event.target.dataset.cue : undefined;
    if (cue) state.lastFieldCue = cue;
  });
  document.addEventListener("keydown", onKey, true);
}

function listen() {
  if (typeof EventSource === "undefined") return;
  const events = new EventSource(apiUrl("events"));
  events.addEventListener("version", message => {
    let version;
    try { version = JSON.parse(message.data).version; } catch (_) { return; }
    if (!state.doc || version <= state.doc.version) return;
    if (state.busy) { state.newerVersion = version; return; }
    if (state.drafts.size === 0) {
      loadDocument().then(ok => { if (ok) announce(`Version ${version} was saved elsewhere: shown`); });
    } else {
      state.newerVersion = version;
      announce(`Version ${version} was saved elsewhere; your unsaved text is kept: saving shows the other change first`);
    }
  });
}

async function start() {
  wire();
  if (!inputPath) { await showInputs(); return; }
  $("editor").hidden = false;
  if (await loadDocument()) {
    announce(`${state.doc.cues.length} cues, version ${state.doc.version}`);
    listen();
  }
}

start();
