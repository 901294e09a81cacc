// The journey designer's small script: shows the fields that apply (the email's source, the update
// field's value, the settings' entry and trigger fields) and mounts the segment builder's own
// condition tree for if/then steps, which fills the step form's hidden `condition` field.
import { mountConditionTree } from "../segments/condition-tree.js";

function showOnly(scope, attribute, value) {
  scope.querySelectorAll(`[${attribute}]`).forEach((node) => {
    const shown = node.getAttribute(attribute) === value;
    node.hidden = !shown;
    node.querySelectorAll("input, select, textarea").forEach((input) => { input.disabled = !shown; });
  });
}

function emailSource(form) {
  const picked = form.querySelector('input[name="email_source"]:checked');
  if (picked) showOnly(form, "data-source", picked.value);
}

// The chosen template's editor link follows the picker.
function templateLink(form) {
  const picker = form.querySelector('[name="template"]');
  const link = form.querySelector('[data-testid="open-template"]');
  if (!picker || !link) return;
  link.hidden = !picker.value;
  if (picker.value) link.href = picker.dataset.editorUrl.replace(/0\/$/, `${picker.value}/`);
}

function updateFieldValue(form) {
  const picker = form.querySelector("[data-field-picker]");
  if (!picker) return;
  const option = picker.selectedOptions[0];
  const which = option.dataset.fixed === "true" ? "none" : option.dataset.choices === "true" ? picker.value : "text";
  showOnly(form, "data-value-for", which);
}

function settings(fieldset) {
  const entry = fieldset.querySelector('[name="entry_type"]');
  const trigger = fieldset.querySelector('[name="trigger_kind"]');
  const apply = () => {
    fieldset.querySelectorAll("[data-entry]").forEach((node) => {
      const kind = node.dataset.trigger;
      node.hidden = node.dataset.entry !== entry.value || (kind !== undefined && kind !== trigger.value);
    });
  };
  entry.addEventListener("change", apply);
  trigger.addEventListener("change", apply);
  apply();
}

function conditionTree(form) {
  const container = form.querySelector(".condition-tree");
  const input = form.querySelector("[data-condition-input]");
  if (!container || !input) return;
  const read = (id) => JSON.parse(document.getElementById(id).textContent);
  let definition = null;
  try { definition = input.value ? JSON.parse(input.value) : null; } catch { definition = null; }
  const tree = mountConditionTree(container, {
    registry: read("condition-registry"),
    definition,
    roots: ["contact"],
    segments: read("condition-segments"),
    onChange: (value) => { input.value = JSON.stringify(value); },
  });
  tree.showErrors(read("condition-problems"));
}

document.querySelectorAll('[data-testid="step-form"]').forEach((form) => {
  form.addEventListener("change", () => { emailSource(form); updateFieldValue(form); templateLink(form); });
  emailSource(form);
  updateFieldValue(form);
  conditionTree(form);
});
document.querySelectorAll("[data-settings]").forEach(settings);
document.body.dataset.designerReady = "true";
