// The segment builder: a tree view over the same JSON definition the API accepts.
// Entities, fields, types, choices, operators and relationships come from the registry endpoint.
(function () {
  "use strict";
  const root = document.getElementById("segment-builder");
  if (!root) return;
  const $ = (id) => root.querySelector(`[data-testid="${id}"]`);
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const canEdit = root.dataset.canEdit === "true";
  let segmentId = root.dataset.segmentId || null;
  let registry = null;
  let definition = { entity: "contact", match: "all", conditions: [] };
  const NO_VALUE = ["is_empty", "is_not_empty"];
  const LIST_OPS = ["in", "not_in"];
  const DAYS_OPS = ["in_last_days", "not_in_last_days", "in_next_days"];

  async function api(method, url, body) {
    const response = await fetch(url, {
      method,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    return { ok: response.ok, status: response.status, data };
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "on") Object.entries(value).forEach(([event, fn]) => node.addEventListener(event, fn));
      else if (key === "testid") node.dataset.testid = value;
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
    });
    children.flat().forEach((child) => node.append(child instanceof Node ? child : document.createTextNode(child)));
    if (!canEdit && ["INPUT", "SELECT", "BUTTON"].includes(node.tagName)) node.disabled = true;
    return node;
  }

  function select(testid, options, value, onChange) {
    const node = el("select", { testid, on: { change: (e) => onChange(e.target.value) } },
      options.map(([v, label]) => el("option", { value: v }, label)));
    node.value = value;
    return node;
  }

  const fieldsOf = (entity) => registry.entities[entity].fields;
  const fieldOf = (entity, name) => fieldsOf(entity).find((f) => f.name === name);

  function defaultValue(field, op) {
    if (NO_VALUE.includes(op)) return undefined;
    if (DAYS_OPS.includes(op)) return 30;
    if (field.type === "boolean") return true;
    if (field.type === "choice" || field.type === "multi_choice") return LIST_OPS.includes(op) ? [field.choices[0].value] : field.choices[0].value;
    if (field.type === "number") return op === "between" ? [0, 10] : LIST_OPS.includes(op) ? [0] : 0;
    if (field.type === "date" || field.type === "datetime") {
      const today = new Date().toISOString().slice(0, 10);
      return op === "between" ? [today, today] : today;
    }
    return LIST_OPS.includes(op) ? [""] : "";
  }

  function newCondition(entity) {
    const field = fieldsOf(entity)[0];
    const op = registry.operators[field.type][0];
    return { field: field.name, op, value: defaultValue(field, op) };
  }

  function setValue(node, value) {
    if (value === undefined) delete node.value;
    else node.value = value;
  }

  function valueEditor(node, field) {
    const changed = () => changedTree();
    if (NO_VALUE.includes(node.op)) return el("span");
    if (DAYS_OPS.includes(node.op)) {
      return el("input", { type: "number", min: 0, step: 1, value: node.value, testid: "value",
        on: { input: (e) => { setValue(node, parseInt(e.target.value || "0", 10)); changed(); } } });
    }
    const parse = (raw) => (field.type === "number" ? Number(raw) : raw);
    const inputType = field.type === "number" ? "number" : field.type.startsWith("date") ? "date" : "text";
    if (field.type === "boolean") {
      return select("value", [["true", "true"], ["false", "false"]], String(node.value),
        (v) => { setValue(node, v === "true"); changed(); });
    }
    // A custom multiple-choice field's contains / not_contains take one of its choices too.
    if ((field.type === "choice" || field.type === "multi_choice") && !LIST_OPS.includes(node.op)) {
      return select("value", field.choices.map((c) => [c.value, c.label]), node.value,
        (v) => { setValue(node, v); changed(); });
    }
    if (node.op === "between") {
      const [low, high] = node.value;
      const part = (index, current) => el("input", { type: inputType, value: current, testid: `value-${index}`,
        on: { input: (e) => { node.value[index] = parse(e.target.value); changed(); } } });
      return el("span", {}, part(0, low), " and ", part(1, high));
    }
    if (LIST_OPS.includes(node.op)) {
      return el("input", { type: "text", value: node.value.join(", "), testid: "value",
        placeholder: "comma-separated values",
        on: { input: (e) => { setValue(node, e.target.value.split(",").map((s) => parse(s.trim())).filter((s) => s !== "")); changed(); } } });
    }
    return el("input", { type: inputType, value: node.value, testid: "value",
      on: { input: (e) => { setValue(node, parse(e.target.value)); changed(); } } });
  }

  function removeButton(list, index) {
    return el("button", { type: "button", testid: "remove", title: "Remove",
      on: { click: () => { list.splice(index, 1); render(); } } }, "✕");
  }

  function negateBox(node) {
    return el("label", {}, el("input", { type: "checkbox", testid: "negate", checked: node.negate ? "checked" : null,
      on: { change: (e) => { if (e.target.checked) node.negate = true; else delete node.negate; changedTree(); } } }), " not");
  }

  function renderNode(node, entity, list, index) {
    if ("field" in node) {
      const field = fieldOf(entity, node.field);
      return el("li", { class: "condition", testid: "condition" },
        negateBox(node),
        select("field", fieldsOf(entity).map((f) => [f.name, f.label]), node.field, (name) => {
          const f = fieldOf(entity, name);
          node.field = name;
          node.op = registry.operators[f.type][0];
          setValue(node, defaultValue(f, node.op));
          render();
        }),
        select("op", registry.operators[field.type].map((op) => [op, op.replaceAll("_", " ")]), node.op, (op) => {
          node.op = op;
          setValue(node, defaultValue(field, op));
          render();
        }),
        valueEditor(node, field),
        removeButton(list, index));
    }
    if ("in_segment" in node) {
      return el("li", { class: "condition", testid: "in-segment" }, negateBox(node), "member of segment #",
        el("input", { type: "number", min: 1, value: node.in_segment, testid: "segment-id",
          on: { input: (e) => { node.in_segment = parseInt(e.target.value || "0", 10); changedTree(); } } }),
        removeButton(list, index));
    }
    if ("related" in node) {
      const relationships = registry.entities[entity].relationships;
      const rel = relationships.find((r) => r.name === node.related);
      const quantifier = select("quantifier", [["exists", "has at least one"], ["not_exists", "has none"], ["count", "has a number of"]],
        node.quantifier || "exists", (q) => {
          node.quantifier = q;
          if (q === "count") node.count = node.count || { op: "gte", value: 1 };
          else delete node.count;
          render();
        });
      const count = node.quantifier === "count" ? el("span", {},
        select("count-op", [["gte", "≥"], ["lte", "≤"], ["eq", "="], ["gt", ">"], ["lt", "<"]], node.count.op,
          (op) => { node.count.op = op; changedTree(); }),
        el("input", { type: "number", min: 0, value: node.count.value, testid: "count-value",
          on: { input: (e) => { node.count.value = parseInt(e.target.value || "0", 10); changedTree(); } } })) : "";
      return el("li", { class: "related", testid: "related" },
        negateBox(node), quantifier, count,
        select("relationship", relationships.map((r) => [r.name, r.label]), node.related, (name) => {
          node.related = name;
          node.conditions = [];
          render();
        }),
        " where ", renderGroup(node, rel.target), removeButton(list, index));
    }
    return el("li", { class: "group", testid: "group" }, negateBox(node), renderGroup(node, entity), removeButton(list, index));
  }

  function renderGroup(group, entity) {
    const conditions = group.conditions;
    const add = (label, testid, make) => el("button", { type: "button", testid,
      on: { click: () => { conditions.push(make()); render(); } } }, label);
    const relationships = registry.entities[entity].relationships;
    return el("div", { class: "tree-group" },
      select("match", [["all", "all of"], ["any", "any of"]], group.match || "all",
        (m) => { group.match = m; changedTree(); }),
      el("ul", {}, conditions.map((child, i) => renderNode(child, entity, conditions, i))),
      canEdit ? el("span", { class: "add" },
        add("+ condition", "add-condition", () => newCondition(entity)),
        add("+ group", "add-group", () => ({ match: "all", conditions: [] })),
        relationships.length ? add("+ related", "add-related",
          () => ({ related: relationships[0].name, quantifier: "exists", match: "all", conditions: [] })) : "",
        entity === "contact" ? add("+ in segment", "add-in-segment", () => ({ in_segment: 1 })) : "") : "");
  }

  function render() {
    const tree = $("tree");
    tree.replaceChildren(
      el("p", {}, "Members are ",
        select("entity", registry.roots.map((r) => [r, r === "account" ? "contacts of accounts" : "contacts"]),
          definition.entity, (entity) => { definition = { entity, match: "all", conditions: [] }; render(); }),
        " matching:"),
      renderGroup(definition, definition.entity));
    changedTree();
  }

  function showErrors(errors) {
    $("errors").replaceChildren(...errors.map((e) => el("li", {}, e.path ? `${e.path}: ${e.message}` : e.message)));
  }

  function flatten(data) {
    if (!data || typeof data !== "object") return [{ path: "", message: "Something went wrong." }];
    if (Array.isArray(data.definition)) return data.definition;
    return Object.entries(data).map(([key, value]) => ({ path: key, message: [].concat(value).join(" ") }));
  }

  let previewTimer = null;
  function changedTree() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 250);
  }

  async function preview() {
    const { ok, data } = await api("POST", "/api/segments/preview/", { definition });
    if (ok) {
      $("live-count").textContent = `${data.count} contact${data.count === 1 ? "" : "s"} match`;
      showErrors([]);
    } else {
      $("live-count").textContent = "";
      showErrors(flatten(data));
    }
  }

  async function save() {
    const body = { name: $("segment-name").value, definition };
    const { ok, data } = segmentId
      ? await api("PATCH", `/api/segments/${segmentId}/`, body)
      : await api("POST", "/api/segments/", body);
    if (!ok) { showErrors(flatten(data)); return false; }
    if (!segmentId) { window.location.assign(`${root.dataset.listUrl}${data.id}/`); return true; }
    showSegment(data);
    return true;
  }

  function showSegment(segment) {
    $("segment-status").textContent = segment.status;
    $("member-count").textContent = segment.member_count;
    $("refreshed-at").textContent = segment.refreshed_at ? `refreshed ${new Date(segment.refreshed_at).toLocaleString()}` : "";
  }

  async function transition(action) {
    if (!segmentId && !(await save())) return;
    const { ok, data } = await api("POST", `/api/segments/${segmentId}/${action}/`);
    if (!ok) { showErrors(flatten(data)); return; }
    showSegment(data);
    if (action === "go-live") poll(data.refreshed_at, 0);
  }

  async function poll(previous, attempt) {
    const { ok, data } = await api("GET", `/api/segments/${segmentId}/`);
    if (ok) showSegment(data);
    if (ok && data.refreshed_at && data.refreshed_at !== previous) return;
    if (attempt < 60) setTimeout(() => poll(previous, attempt + 1), 500);
  }

  async function start() {
    registry = (await api("GET", "/api/segments/registry/")).data;
    if (segmentId) {
      const { data } = await api("GET", `/api/segments/${segmentId}/`);
      $("segment-name").value = data.name;
      if (data.definition && data.definition.entity) definition = data.definition;
      showSegment(data);
    }
    $("save").addEventListener("click", save);
    $("go-live").addEventListener("click", () => transition("go-live"));
    $("stop").addEventListener("click", () => transition("stop"));
    [$("save"), $("go-live"), $("stop"), $("segment-name")].forEach((node) => { node.disabled = !canEdit; });
    render();
  }

  start();
})();
