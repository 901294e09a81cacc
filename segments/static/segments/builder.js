// The segment page: name, kind, the condition tree (dynamic segments) or the member list (static
// ones), a live preview of the first 20 matching contacts, save / go live / stop, duplicate, delete.
// Everything goes through the REST API the integrators use.
import { mountConditionTree } from "./condition-tree.js";

const root = document.getElementById("segment-builder");
const $ = (id) => root.querySelector(`[data-testid="${id}"]`);
const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
const canEdit = root.dataset.canEdit === "true";
const listUrl = root.dataset.listUrl;
let segmentId = root.dataset.segmentId || null;
let kind = root.dataset.kind || "dynamic";
let tree = null;
let roleLabels = {};

async function api(method, url, body) {
  const isForm = body instanceof FormData;
  const headers = { "X-CSRFToken": csrf, Accept: "application/json" };
  if (body !== undefined && !isForm) headers["Content-Type"] = "application/json";
  const response = await fetch(url, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : isForm ? body : JSON.stringify(body) });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, data };
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([key, value]) => {
    if (key === "on") Object.entries(value).forEach(([event, fn]) => node.addEventListener(event, fn));
    else if (key === "testid") node.dataset.testid = value;
    else if (key === "className") node.className = value;
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  });
  children.flat().forEach((child) => node.append(child instanceof Node ? child : document.createTextNode(child ?? "")));
  return node;
}

function notice(text, tone) {
  const box = $("notice");
  box.textContent = text;
  box.className = text ? `message message-${tone || "info"}` : "";
  box.hidden = !text;
}

// A 400 body as a list of messages: definition errors go to their rows, the others are listed.
function problems(data) {
  if (!data || typeof data !== "object") return { definition: [], other: ["Something went wrong; try again."] };
  const definition = Array.isArray(data.definition) ? data.definition.filter((e) => typeof e === "object") : [];
  const other = [];
  Object.entries(data).forEach(([key, value]) => {
    if (key === "definition" && definition.length) return;
    if (value && typeof value === "object" && !Array.isArray(value)) {
      Object.entries(value).forEach(([index, messages]) => other.push(`${key} #${Number(index) + 1}: ${[].concat(messages).join(" ")}`));
    } else {
      const label = key === "non_field_errors" || key === "detail" ? "" : `${key}: `;
      [].concat(value).forEach((message) => other.push(`${label}${message}`));
    }
  });
  return { definition, other };
}

function showProblems(data, where) {
  const { definition, other } = problems(data);
  const rest = tree ? tree.showErrors(definition) : definition;
  const listed = other.concat(tree ? [] : rest.map((e) => e.message));
  $(where || "errors").replaceChildren(...listed.map((message) => el("li", {}, message)));
  return definition.length + listed.length;
}

function clearProblems() {
  if (tree) tree.showErrors([]);
  $("errors").replaceChildren();
  $("member-errors").replaceChildren();
}

function showSegment(segment) {
  $("segment-status").textContent = segment.status;
  $("segment-status").className = `badge ${segment.status === "live" ? "badge-ok" : "badge-muted"}`;
  $("member-count").textContent = segment.member_count;
  $("refreshed-at").textContent = segment.refreshed_at ? `refreshed ${new Date(segment.refreshed_at).toLocaleString()}` : "";
  document.querySelector("h1").textContent = segment.name;
  root.querySelectorAll("[data-needs-saved]").forEach((node) => { node.hidden = false; });
  $("stop").disabled = !canEdit || segment.status !== "live";
}

// --- Saving, going live -------------------------------------------------------------------------

function body() {
  const data = { name: $("segment-name").value.trim() };
  if (!segmentId) data.kind = kind;
  if (kind === "dynamic") data.definition = tree.definition();
  return data;
}

// Saves; a new segment gets its own address without leaving the page. Returns the segment or null.
async function save() {
  clearProblems();
  if (!body().name) {
    $("errors").replaceChildren(el("li", {}, "Give the segment a name."));
    $("segment-name").focus();
    return null;
  }
  const { ok, data } = segmentId
    ? await api("PATCH", `/api/segments/${segmentId}/`, body())
    : await api("POST", "/api/segments/", body());
  if (!ok) { showProblems(data); notice("Not saved: fix what is marked.", "error"); return null; }
  if (!segmentId) {
    segmentId = String(data.id);
    root.dataset.segmentId = segmentId;
    window.history.replaceState(null, "", `${listUrl}${data.id}/`);
    $("segment-kind").disabled = true;
  }
  showSegment(data);
  notice("Saved.", "success");
  return data;
}

async function transition(action) {
  const saved = await save();
  if (!saved) {
    if (action === "go-live") notice("Not live: the segment could not be saved. Fix what is marked, then go live again.", "error");
    return;
  }
  const { ok, data } = await api("POST", `/api/segments/${segmentId}/${action}/`);
  if (!ok) { showProblems(data); notice(`Could not ${action === "go-live" ? "go live" : "stop"}.`, "error"); return; }
  showSegment(data);
  notice(action === "go-live" ? "Saved and live: the members are being computed." : "Stopped: the members are no longer kept current.", "success");
  if (action === "go-live") poll(data.refreshed_at, 0);
}

async function poll(previous, attempt) {
  const { ok, data } = await api("GET", `/api/segments/${segmentId}/`);
  if (ok) showSegment(data);
  if (ok && kind === "dynamic" && data.refreshed_at && data.refreshed_at !== previous) return;
  if (kind === "dynamic" && attempt < 60) setTimeout(() => poll(previous, attempt + 1), 500);
}

async function duplicate() {
  const { ok, data } = await api("POST", `/api/segments/${segmentId}/duplicate/`);
  if (ok) window.location.assign(`${listUrl}${data.id}/`);
  else showProblems(data);
}

async function destroy() {
  if (!window.confirm(`Delete the segment "${$("segment-name").value}"? This cannot be undone.`)) return;
  const { ok, data } = await api("DELETE", `/api/segments/${segmentId}/`);
  if (ok) window.location.assign(listUrl);
  else showProblems(data);
}

// --- Preview (dynamic) ----------------------------------------------------------------------------

let previewTimer = null;
let previewRun = 0;
function treeChanged() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(preview, 300);
}

function contactRows(contacts, removable) {
  return contacts.map((c) => el("tr", { testid: "contact-row" },
    el("td", {}, [c.first_name, c.last_name].filter(Boolean).join(" ") || "—"),
    el("td", {}, c.email || "—"),
    el("td", { className: "hide-sm" }, roleLabels[c.job_role] || c.job_role || ""),
    el("td", { className: "hide-sm" }, c.country || ""),
    removable ? el("td", {}, el("button", { type: "button", className: "icon-button danger", testid: "remove-member",
      "aria-label": `Remove ${c.email || c.id}`, title: "Remove from the list", on: { click: () => removeMembers([c.id]) } }, "✕")) : ""));
}

async function preview() {
  const run = ++previewRun;
  const { ok, data } = await api("POST", "/api/segments/preview/", { definition: tree.definition() });
  if (run !== previewRun) return; // a newer edit has its own preview on the way
  if (ok) {
    $("live-count").textContent = data.count === 1 ? "1 contact matches" : `${data.count} contacts match`;
    $("preview-rows").replaceChildren(...contactRows(data.sample, false));
    $("preview-note").textContent = data.count > data.sample.length ? `the first ${data.sample.length} of ${data.count}` : "";
    tree.showErrors([]);
    $("errors").replaceChildren();
  } else {
    $("live-count").textContent = "The definition is not complete yet:";
    $("preview-rows").replaceChildren();
    $("preview-note").textContent = "";
    showProblems(data);
  }
}

// --- Members (static) -------------------------------------------------------------------------

async function loadMembers() {
  if (!segmentId) return;
  const { ok, data } = await api("GET", `/api/segments/${segmentId}/members/?page_size=50`);
  if (ok) $("member-rows").replaceChildren(...contactRows(data.results, canEdit));
}

async function changeMembers(method, url, payload) {
  $("member-errors").replaceChildren();
  if (!segmentId && !(await save())) return false;
  const { ok, data } = await api(method, `/api/segments/${segmentId}/${url}`, payload);
  if (!ok) { showProblems(data, "member-errors"); notice("Nothing changed: fix what is listed.", "error"); return false; }
  $("member-count").textContent = data.member_count;
  notice(method === "DELETE" ? `${data.removed} removed.` : `${data.added} added (${data.member_count} in the list).`, "success");
  await loadMembers();
  return true;
}

async function addEmails() {
  const emails = $("member-emails").value.split(/[\s,;]+/).filter(Boolean);
  if (!emails.length) { $("member-errors").replaceChildren(el("li", {}, "Type one or more emails.")); return; }
  if (await changeMembers("POST", "members/", { emails })) $("member-emails").value = "";
}

async function uploadCsv() {
  const file = $("member-csv").files[0];
  if (!file) { $("member-errors").replaceChildren(el("li", {}, "Choose a CSV file first.")); return; }
  const form = new FormData();
  form.append("file", file);
  if (await changeMembers("POST", "members/csv/", form)) $("member-csv").value = "";
}

function removeMembers(ids) {
  return changeMembers("DELETE", "members/", { contact_ids: ids });
}

// --- Start ----------------------------------------------------------------------------------------

function showKind() {
  root.querySelectorAll("[data-kind-only]").forEach((node) => { node.hidden = node.dataset.kindOnly !== kind; });
}

async function start() {
  const [registry, segments] = await Promise.all([
    api("GET", "/api/segments/registry/"),
    api("GET", "/api/segments/?page_size=500&ordering=name"),
  ]);
  const jobRole = registry.data.entities.contact.fields.find((f) => f.name === "job_role");
  roleLabels = Object.fromEntries((jobRole ? jobRole.choices : []).map((c) => [c.value, c.label]));
  let definition = null;
  if (segmentId) {
    const { data } = await api("GET", `/api/segments/${segmentId}/`);
    $("segment-name").value = data.name;
    kind = data.kind;
    definition = data.definition;
    showSegment(data);
  }
  $("segment-kind").value = kind;
  $("segment-kind").disabled = !canEdit || Boolean(segmentId);
  $("segment-kind").addEventListener("change", (e) => { kind = e.target.value; showKind(); });
  showKind();
  tree = mountConditionTree($("tree"), {
    registry: registry.data,
    definition,
    segments: segments.ok ? segments.data.results : [],
    segmentId,
    editable: canEdit,
    onChange: treeChanged,
  });
  const on = (id, fn) => $(id).addEventListener("click", fn);
  on("save", save);
  on("go-live", () => transition("go-live"));
  on("stop", () => transition("stop"));
  on("duplicate", duplicate);
  on("delete", destroy);
  on("add-emails", addEmails);
  on("upload-csv", uploadCsv);
  ["save", "go-live", "duplicate", "delete", "segment-name", "add-emails", "upload-csv", "member-emails", "member-csv"]
    .forEach((id) => { $(id).disabled = !canEdit; });
  if (kind === "static") await loadMembers();
  root.dataset.ready = "true";
}

start();
