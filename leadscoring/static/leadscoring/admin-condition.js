// The scoring rule's condition in the admin: mounts the segment builder's condition tree (rooted at
// the lead) on each [data-condition-widget], keeps its hidden input filled with the tree, and shows
// the server's problems at their rows. The registry (and the segments a contact may be a member of)
// comes from the scoring rule admin's condition-registry/ view, read once per page. A rule with an interaction kind has no condition: the tree
// hides and the input empties while the rule's interaction kind (same form) is set.
import { mountConditionTree } from "../segments/condition-tree.js";

let registry = null;

function loadRegistry(url) {
  registry = registry || fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => response.json());
  return registry;
}

function mount(box) {
  if (box.dataset.mounted || box.closest(".empty-form")) return; // the inline's template row
  box.dataset.mounted = "true";
  const input = box.querySelector('input[type="hidden"]');
  const container = box.querySelector(".condition-tree");
  const off = box.querySelector("[data-testid='condition-off']");
  const kind = document.getElementById(input.id.replace(/condition$/, "interaction_kind"));
  let definition = null;
  try { definition = input.value ? JSON.parse(input.value) : null; } catch { definition = null; }
  loadRegistry(box.dataset.registryUrl).then((loaded) => {
    const inUse = () => !kind || !kind.value;
    const tree = mountConditionTree(container, {
      registry: loaded.registry,
      definition,
      roots: ["lead"],
      segments: loaded.segments,
      onChange: (value) => { if (inUse()) input.value = JSON.stringify(value); },
    });
    tree.showErrors(JSON.parse(box.querySelector('script[type="application/json"]').textContent));
    const apply = () => {
      container.hidden = !inUse();
      off.hidden = inUse();
      input.value = inUse() ? JSON.stringify(tree.definition()) : "";
    };
    if (kind) kind.addEventListener("change", apply);
    apply();
    box.dataset.ready = "true";
  });
}

document.querySelectorAll("[data-condition-widget]").forEach(mount);
// A rule added on the scoring model's page ("Add another Scoring rule").
document.addEventListener("formset:added", (event) => {
  event.target.querySelectorAll("[data-condition-widget]").forEach(mount);
});
