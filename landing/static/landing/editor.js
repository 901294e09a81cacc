// The landing-page editor (landing/templates/landing/editor_form.html): brings a refused save's error
// summary into view, adds form-field rows from the formset's empty form, names a row's card after its
// field, and copies the embed snippet. The live preview itself is htmx (hx-post on #landing-preview).
const form = document.getElementById("landing-editor");
const summary = document.getElementById("error-summary");
if (summary) summary.focus();

const rows = document.getElementById("field-rows");
const addButton = document.getElementById("add-field");
const template = document.getElementById("field-row-template");
if (form && rows && addButton && template) {
  addButton.addEventListener("click", () => {
    const total = form.querySelector('input[name="fields-TOTAL_FORMS"]');
    const max = Number(form.querySelector('input[name="fields-MAX_NUM_FORMS"]').value || 1000);
    const index = Number(total.value);
    if (index >= max) {
      addButton.disabled = true;
      addButton.textContent = `A form has at most ${max} fields`;
      return;
    }
    const holder = document.createElement("div");
    holder.innerHTML = template.innerHTML
      .replaceAll("__prefix__", String(index))
      .replaceAll("__number__", String(index + 1));
    const row = holder.firstElementChild;
    rows.append(row);
    total.value = String(index + 1);
    row.querySelector('input[name$="-name"]').focus();
    form.dispatchEvent(new Event("row-added"));
  });
}

// A row's legend follows the name typed in it ("Field 3: company").
if (rows) {
  rows.addEventListener("input", (event) => {
    const input = event.target;
    if (!input.name || !input.name.endsWith("-name")) return;
    const legend = input.closest(".field-row")?.querySelector("legend");
    if (!legend) return;
    const number = legend.textContent.match(/^Field \d+/);
    legend.textContent = number ? number[0] + (input.value ? `: ${input.value}` : "") : legend.textContent;
  });
}

document.querySelectorAll("[data-copy]").forEach((button) => {
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById("embed-copied");
    try {
      await navigator.clipboard.writeText(source.value);
      status.textContent = "Copied.";
    } catch (error) {
      source.focus();
      source.select();
      status.textContent = "Selected: press Ctrl+C (⌘C on a Mac) to copy.";
    }
  });
});
