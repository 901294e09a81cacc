// The condition tree: a compact editor of a segment-query definition (one line per condition),
// self-contained so any page can mount it (the segment builder; the journey designer's condition
// steps). It reads the registry (entities, fields, types, choices, operators, relationships) the
// API serves, edits the same JSON the API accepts, and shows each validation error next to its row.
//
//   import { mountConditionTree } from ".../segments/condition-tree.js";
//   const tree = mountConditionTree(element, { registry, definition, roots, segments, editable, onChange });
//   tree.definition()  tree.showErrors(errors) -> errors no row took  tree.setDefinition(d)
//
// Choice lists (`in`, `not_in`) and free-text lists use Tom Select (window.TomSelect, loaded by the
// template include segments/_condition_tree.html).

const OP_LABELS = {
  eq: "is", neq: "is not", contains: "contains", not_contains: "does not contain",
  starts_with: "starts with", ends_with: "ends with", in: "is any of", not_in: "is none of",
  is_empty: "is empty", is_not_empty: "is not empty", gt: "is more than", gte: "is at least",
  lt: "is less than", lte: "is at most", between: "is between", on: "is on", before: "is before",
  after: "is after", on_or_before: "is on or before", on_or_after: "is on or after",
  in_last_days: "in the last N days", not_in_last_days: "not in the last N days",
  in_next_days: "in the next N days",
};
const COUNT_OPS = [["gte", "at least"], ["lte", "at most"], ["eq", "exactly"], ["gt", "more than"], ["lt", "fewer than"]];
const QUANTIFIERS = [["exists", "has a"], ["not_exists", "has no"], ["count", "has a number of"]];
const NO_VALUE = ["is_empty", "is_not_empty"];
const LIST_OPS = ["in", "not_in"];
// Fields whose values come from a list of choices (a custom field may be multiple choice).
const hasChoices = (field) => field.type === "choice" || field.type === "multi_choice";
const DAYS_OPS = ["in_last_days", "not_in_last_days", "in_next_days"];
// An error's path names a node ("conditions[1].conditions[0]") and then a part of it (".value").
const NODE_PATH = /^((?:\.?conditions\[\d+\])*)/;

export function opLabel(op) {
  return OP_LABELS[op] || op.replaceAll("_", " ");
}

class ConditionTree {
  constructor(container, options) {
    this.container = container;
    this.options = options;
    this.registry = options.registry;
    this.roots = options.roots || this.registry.roots;
    this.editable = options.editable !== false;
    this.onChange = options.onChange || (() => {});
    this.definition = options.definition && options.definition.entity
      ? structuredClone(options.definition)
      : { entity: this.roots[0], match: "all", conditions: [] };
    this.pickers = [];
  }

  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "on") Object.entries(value).forEach(([event, fn]) => node.addEventListener(event, fn));
      else if (key === "testid") node.dataset.testid = value;
      else if (key === "className") node.className = value;
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
    });
    children.flat().forEach((child) => {
      if (child !== "" && child !== null && child !== undefined) node.append(child instanceof Node ? child : document.createTextNode(child));
    });
    if (!this.editable && ["INPUT", "SELECT", "BUTTON"].includes(node.tagName)) node.disabled = true;
    return node;
  }

  select(testid, choices, value, onPick, label) {
    const node = this.el("select", { testid, "aria-label": label, on: { change: (e) => onPick(e.target.value) } },
      choices.map(([v, text]) => this.el("option", { value: v }, text)));
    node.value = value;
    return node;
  }

  copyIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    [["viewBox", "0 0 24 24"], ["width", "14"], ["height", "14"], ["fill", "none"], ["stroke", "currentColor"],
      ["stroke-width", "2"], ["aria-hidden", "true"]].forEach(([k, v]) => svg.setAttribute(k, v));
    [["9", "9", "12", "12"], ["3", "3", "12", "12"]].forEach(([x, y, w, h]) => {
      const rect = document.createElementNS(ns, "rect");
      [["x", x], ["y", y], ["width", w], ["height", h], ["rx", "2"]].forEach(([k, v]) => rect.setAttribute(k, v));
      svg.append(rect);
    });
    return svg;
  }

  iconButton(testid, content, label, onClick, className) {
    return this.el("button", { type: "button", testid, title: label, "aria-label": label, className: `icon-button ${className || ""}`,
      on: { click: onClick } }, content);
  }

  fieldsOf(entity) {
    return this.registry.entities[entity].fields;
  }

  fieldOf(entity, name) {
    return this.fieldsOf(entity).find((f) => f.name === name) || this.fieldsOf(entity)[0];
  }

  opsOf(field) {
    return this.registry.operators[field.type];
  }

  defaultValue(field, op) {
    if (NO_VALUE.includes(op)) return undefined;
    if (DAYS_OPS.includes(op)) return 30;
    if (field.type === "boolean") return true;
    if (LIST_OPS.includes(op)) return [];
    if (hasChoices(field)) return field.choices[0].value;
    if (field.type === "number") return op === "between" ? [0, 10] : 0;
    if (field.type === "date" || field.type === "datetime") {
      const today = new Date().toISOString().slice(0, 10);
      return op === "between" ? [today, today] : today;
    }
    return "";
  }

  setValue(node, value) {
    if (value === undefined) delete node.value;
    else node.value = value;
  }

  changed() {
    this.onChange(this.definition);
  }

  // --- Value widgets, one per field type and operator --------------------------------------------

  listPicker(node, field) {
    const choices = hasChoices(field) ? field.choices : (node.value || []).map((v) => ({ value: v, label: String(v) }));
    const input = this.el("select", { multiple: "multiple", testid: "value", "aria-label": `${field.label} values` },
      choices.map((c) => this.el("option", { value: c.value, selected: (node.value || []).map(String).includes(String(c.value)) ? "selected" : null }, c.label)));
    const wrap = this.el("span", { className: "value-list" }, input);
    const parse = (v) => (field.type === "number" ? Number(v) : v);
    if (window.TomSelect) {
      const picker = new window.TomSelect(input, {
        create: !hasChoices(field),
        persist: false,
        maxOptions: 200,
        plugins: ["remove_button"],
        placeholder: hasChoices(field) ? "choose…" : "type and press Enter",
        onChange: (values) => { this.setValue(node, [].concat(values).map(parse)); this.changed(); },
      });
      if (!this.editable) picker.disable();
      this.pickers.push(picker);
    } else {
      input.addEventListener("change", () => { this.setValue(node, [...input.selectedOptions].map((o) => parse(o.value))); this.changed(); });
    }
    return wrap;
  }

  valueEditor(node, field) {
    if (NO_VALUE.includes(node.op)) return "";
    if (DAYS_OPS.includes(node.op)) {
      return this.el("span", { className: "value-days" },
        this.el("input", { type: "number", min: 0, step: 1, value: node.value, testid: "value", "aria-label": "days",
          on: { input: (e) => { this.setValue(node, parseInt(e.target.value || "0", 10)); this.changed(); } } }), " days");
    }
    if (field.type === "boolean") {
      return this.select("value", [["true", "yes"], ["false", "no"]], String(node.value),
        (v) => { this.setValue(node, v === "true"); this.changed(); }, field.label);
    }
    if (LIST_OPS.includes(node.op)) return this.listPicker(node, field);
    // A choice field's "is", and a custom multiple-choice field's "contains" / "does not contain":
    // one of its choices.
    if (hasChoices(field)) {
      return this.select("value", field.choices.map((c) => [c.value, c.label]), node.value,
        (v) => { this.setValue(node, v); this.changed(); }, field.label);
    }
    const parse = (raw) => (field.type === "number" ? (raw === "" ? null : Number(raw)) : raw);
    const type = field.type === "number" ? "number" : field.type.startsWith("date") ? "date" : "text";
    if (node.op === "between") {
      const part = (index) => this.el("input", { type, value: node.value[index], testid: `value-${index}`, "aria-label": index ? "to" : "from",
        on: { input: (e) => { node.value[index] = parse(e.target.value); this.changed(); } } });
      return this.el("span", { className: "value-between" }, part(0), " and ", part(1));
    }
    return this.el("input", { type, value: node.value ?? "", testid: "value", "aria-label": field.label,
      on: { input: (e) => { this.setValue(node, parse(e.target.value)); this.changed(); } } });
  }

  // --- Rows -----------------------------------------------------------------------------------------

  rowTools(list, index) {
    if (!this.editable) return "";
    return this.el("span", { className: "row-tools" },
      this.iconButton("duplicate", this.copyIcon(), "Duplicate this row", () => { list.splice(index + 1, 0, structuredClone(list[index])); this.render(); }),
      this.iconButton("remove", "✕", "Remove this row", () => { list.splice(index, 1); this.render(); }, "danger"));
  }

  negateBox(node) {
    return this.el("label", { className: "negate", title: "Match the opposite" },
      this.el("input", { type: "checkbox", testid: "negate", checked: node.negate ? "checked" : null,
        on: { change: (e) => { if (e.target.checked) node.negate = true; else delete node.negate; this.changed(); } } }), "not");
  }

  conditionRow(node, entity, list, index, path) {
    const field = this.fieldOf(entity, node.field);
    return this.el("li", { className: "tree-row condition", testid: "condition", "data-path": path },
      this.el("div", { className: "row-line" },
        this.negateBox(node),
        this.select("field", this.fieldsOf(entity).map((f) => [f.name, f.label]), field.name, (name) => {
          const picked = this.fieldOf(entity, name);
          node.field = name;
          node.op = this.opsOf(picked)[0];
          this.setValue(node, this.defaultValue(picked, node.op));
          this.render();
        }, "field"),
        this.select("op", this.opsOf(field).map((op) => [op, opLabel(op)]), node.op, (op) => {
          const keep = (LIST_OPS.includes(op) === LIST_OPS.includes(node.op)) && op !== "between" && node.op !== "between"
            && DAYS_OPS.includes(op) === DAYS_OPS.includes(node.op) && !NO_VALUE.includes(node.op);
          node.op = op;
          if (!keep || NO_VALUE.includes(op)) this.setValue(node, this.defaultValue(field, op));
          this.render();
        }, "operator"),
        this.valueEditor(node, field),
        this.rowTools(list, index)),
      this.el("ul", { className: "row-errors", testid: "row-errors", role: "alert" }));
  }

  // The segments a row may reference: every other one (a segment cannot contain itself).
  otherSegments() {
    return (this.options.segments || []).filter((s) => String(s.id) !== String(this.options.segmentId || ""));
  }

  segmentRow(node, list, index, path) {
    const choices = this.otherSegments().map((s) => [String(s.id), s.name]);
    if (!choices.some(([id]) => id === String(node.in_segment))) choices.unshift([String(node.in_segment), `segment #${node.in_segment}`]);
    return this.el("li", { className: "tree-row in-segment", testid: "in-segment", "data-path": path },
      this.el("div", { className: "row-line" }, this.negateBox(node), this.el("span", { className: "row-label" }, "is a member of"),
        this.select("segment-id", choices, String(node.in_segment), (id) => { node.in_segment = parseInt(id, 10); this.changed(); }, "segment"),
        this.rowTools(list, index)),
      this.el("ul", { className: "row-errors", testid: "row-errors", role: "alert" }));
  }

  relatedRow(node, entity, list, index, path) {
    const relationships = this.registry.entities[entity].relationships;
    const rel = relationships.find((r) => r.name === node.related) || relationships[0];
    const count = node.quantifier === "count" ? this.el("span", { className: "count" },
      this.select("count-op", COUNT_OPS, node.count.op, (op) => { node.count.op = op; this.changed(); }, "how many"),
      this.el("input", { type: "number", min: 0, value: node.count.value, testid: "count-value", "aria-label": "number",
        on: { input: (e) => { node.count.value = parseInt(e.target.value || "0", 10); this.changed(); } } })) : "";
    return this.el("li", { className: "tree-row related", testid: "related", "data-path": path },
      this.el("div", { className: "row-line" },
        this.negateBox(node),
        this.select("quantifier", QUANTIFIERS, node.quantifier || "exists", (q) => {
          node.quantifier = q;
          if (q === "count") node.count = node.count || { op: "gte", value: 1 };
          else delete node.count;
          this.render();
        }, "quantifier"),
        count,
        this.select("relationship", relationships.map((r) => [r.name, r.label]), rel.name, (name) => {
          node.related = name;
          node.conditions = [];
          this.render();
        }, "related records"),
        this.el("span", { className: "row-label" }, "where"),
        this.rowTools(list, index)),
      this.el("ul", { className: "row-errors", testid: "row-errors", role: "alert" }),
      this.groupBox(node, rel.target, path, false));
  }

  groupRow(node, entity, list, index, path) {
    return this.el("li", { className: "tree-row group", testid: "group", "data-path": path },
      this.el("div", { className: "row-line" }, this.negateBox(node), this.el("span", { className: "row-label" }, "a group"), this.rowTools(list, index)),
      this.el("ul", { className: "row-errors", testid: "row-errors", role: "alert" }),
      this.groupBox(node, entity, path, false));
  }

  nodeRow(node, entity, list, index, path) {
    if ("field" in node) return this.conditionRow(node, entity, list, index, path);
    if ("in_segment" in node) return this.segmentRow(node, list, index, path);
    if ("related" in node) return this.relatedRow(node, entity, list, index, path);
    return this.groupRow(node, entity, list, index, path);
  }

  addButtons(conditions, entity) {
    const add = (label, testid, make) => this.el("button", { type: "button", testid, className: "add-button",
      on: { click: () => { conditions.push(make()); this.render(); } } }, label);
    const relationships = this.registry.entities[entity].relationships;
    const field = this.fieldsOf(entity)[0];
    return this.el("div", { className: "add" },
      add("+ Condition", "add-condition", () => ({ field: field.name, op: this.opsOf(field)[0], value: this.defaultValue(field, this.opsOf(field)[0]) })),
      add("+ Group", "add-group", () => ({ match: "all", conditions: [] })),
      relationships.length ? add("+ Related records", "add-related",
        () => ({ related: relationships[0].name, quantifier: "exists", match: "all", conditions: [] })) : "",
      entity === "contact" && this.otherSegments().length ? add("+ In segment", "add-in-segment",
        () => ({ in_segment: this.otherSegments()[0].id })) : "");
  }

  groupBox(group, entity, path, isRoot) {
    const conditions = group.conditions;
    const children = conditions.map((child, i) => this.nodeRow(child, entity, conditions, i, `${path ? `${path}.` : ""}conditions[${i}]`));
    return this.el("div", { className: `tree-group${isRoot ? " root" : ""}`, testid: "tree-group" },
      this.el("div", { className: "group-head" },
        this.select("match", [["all", "all"], ["any", "any"]], group.match || "all", (m) => { group.match = m; this.changed(); }, "match"),
        this.el("span", { className: "row-label" }, conditions.length ? "of these:" : "of these (none yet: everyone matches)")),
      this.el("ul", { className: "tree-rows" }, children),
      this.editable ? this.addButtons(conditions, entity) : "");
  }

  render() {
    this.pickers.forEach((p) => p.destroy());
    this.pickers = [];
    const head = this.roots.length > 1 ? this.el("div", { className: "tree-root" }, "Members are ",
      this.select("entity", this.roots.map((r) => [r, r === "account" ? "contacts of accounts" : `${this.registry.entities[r].label.toLowerCase()}s`]),
        this.definition.entity, (entity) => { this.definition = { entity, match: "all", conditions: [] }; this.render(); }, "members are"),
      " matching") : "";
    this.container.replaceChildren(head, this.groupBox(this.definition, this.definition.entity, "", true),
      this.el("ul", { className: "row-errors tree-errors", testid: "errors", role: "alert" }));
    this.changed();
  }

  // Each error goes next to the row its path names; errors of the whole tree go below it.
  showErrors(errors) {
    this.container.querySelectorAll(".row-errors").forEach((list) => list.replaceChildren());
    this.container.querySelectorAll(".tree-row.has-error").forEach((row) => row.classList.remove("has-error"));
    const rest = [];
    (errors || []).forEach((error) => {
      const nodePath = (NODE_PATH.exec(error.path || "") || ["", ""])[1].replace(/^\./, "");
      const row = nodePath ? this.container.querySelector(`[data-path="${nodePath}"]`) : null;
      if (row) {
        row.classList.add("has-error");
        row.querySelector(":scope > .row-errors").append(this.el("li", {}, error.message));
      } else {
        rest.push(error);
      }
    });
    this.container.querySelector(".tree-errors").replaceChildren(...rest.map((e) => this.el("li", {}, e.path ? `${e.path}: ${e.message}` : e.message)));
    return rest;
  }
}

export function mountConditionTree(container, options) {
  const tree = new ConditionTree(container, options);
  tree.render();
  return {
    definition: () => tree.definition,
    setDefinition: (value) => { tree.definition = structuredClone(value); tree.render(); },
    showErrors: (errors) => tree.showErrors(errors),
  };
}
