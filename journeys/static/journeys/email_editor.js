// The email editor: GrapesJS with its MJML plugin. Saves the MJML and the editor's project data
// through /api/email-templates/<id>/ (the server compiles, inlines and checks), previews the saved
// email for a contact, and sends a test copy.
(function () {
  "use strict";
  const app = document.getElementById("email-app");
  if (!app) return;
  const api = app.dataset.api;
  const canEdit = app.dataset.canEdit === "true";
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  const $ = (id) => document.getElementById(id);
  const projectData = JSON.parse($("editor-data").textContent || "{}");
  const mjmlSource = JSON.parse($("mjml-source").textContent || '""');
  const mjmlPlugin = window["grapesjs-mjml"].default || window["grapesjs-mjml"];
  const hasProject = projectData && Object.keys(projectData).length > 0;

  const editor = grapesjs.init({
    container: "#gjs",
    height: "640px",
    storageManager: false,
    cssIcons: "", // Font Awesome is served with the page (node_modules), never from a CDN
    fromElement: false,
    plugins: [mjmlPlugin],
    pluginsOpts: { [mjmlPlugin]: {} },
    ...(hasProject ? { projectData: projectData } : { components: mjmlSource }),
  });
  let contactId = null;
  let dirty = false;
  editor.on("update", () => { dirty = true; });
  editor.on("load", () => {
    const frame = editor.Canvas.getFrameEl();
    if (frame) frame.title = "Email canvas";
    app.querySelectorAll("#gjs iframe:not([title])").forEach((other) => { other.title = "Email editor frame"; });
    app.dataset.editorReady = "true";
  });
  ["email-name", "email-kind", "email-subject", "email-preheader"].forEach((id) =>
    $(id).addEventListener("input", () => { dirty = true; }));

  async function call(url, method, body) {
    const response = await fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { detail: response.statusText }; }
    return { ok: response.ok, status: response.status, data: data };
  }

  function showErrors(errors) {
    const box = $("email-errors");
    box.replaceChildren();
    if (!errors) { box.hidden = true; return; }
    const title = document.createElement("strong");
    title.textContent = "Not saved:";
    const list = document.createElement("ul");
    Object.entries(errors).forEach(([field, problems]) => {
      (Array.isArray(problems) ? problems : [problems]).forEach((problem) => {
        const item = document.createElement("li");
        item.textContent = field === "detail" ? String(problem) : field + ": " + problem;
        list.append(item);
      });
    });
    box.append(title, list);
    box.hidden = false;
  }

  function showLinks(links) {
    const list = $("link-list");
    list.replaceChildren();
    (links || []).forEach((link) => {
      const item = document.createElement("li");
      item.textContent = (link.ok ? "OK " : "Problem ") + (link.url || "(empty)") + (link.problem ? ": " + link.problem : "");
      item.className = link.ok ? "link-ok" : "link-bad";
      list.append(item);
    });
  }

  async function save() {
    if (!canEdit) return true;
    $("save-status").textContent = "Saving…";
    const result = await call(api, "PATCH", {
      name: $("email-name").value,
      kind: $("email-kind").value,
      subject: $("email-subject").value,
      preheader: $("email-preheader").value,
      mjml: editor.getHtml(),
      editor_data: editor.getProjectData(),
    });
    if (!result.ok) {
      $("save-status").textContent = "Not saved.";
      showErrors(result.data);
      if (result.data.links) showLinks(result.data.links.map((p) => ({ ok: false, url: "", problem: p })));
      return false;
    }
    dirty = false;
    showErrors(null);
    showLinks(result.data.links);
    $("save-status").textContent = "Saved.";
    return true;
  }

  // --- Merge fields ---------------------------------------------------------------------------
  function currentTag() {
    const option = $("merge-field").selectedOptions[0];
    const [entity, field] = option.value.split("|");
    const fallback = $("merge-default").value.replace(/["{}]/g, "").trim();
    if (!entity) return "{{ " + field + " }}";
    return fallback ? "{{ " + entity + "." + field + '|default:"' + fallback + '" }}' : "{{ " + entity + "." + field + " }}";
  }
  function refreshTag() { $("merge-tag").textContent = currentTag(); }
  $("merge-field").addEventListener("change", () => {
    const suggested = /default:"([^"]*)"/.exec($("merge-field").selectedOptions[0].dataset.tag || "");
    $("merge-default").value = suggested ? suggested[1] : "";
    refreshTag();
  });
  $("merge-default").addEventListener("input", refreshTag);
  $("merge-insert").addEventListener("click", () => {
    const tag = currentTag();
    const target = $("merge-target").value;
    if (target !== "body") {
      const input = $("email-" + target);
      const at = input.selectionStart ?? input.value.length;
      input.value = input.value.slice(0, at) + tag + input.value.slice(input.selectionEnd ?? at);
      dirty = true;
      return;
    }
    const rte = editor.RichTextEditor.globalRte;
    if (editor.getEditing() && rte && rte.insertHTML) { rte.insertHTML(tag); dirty = true; return; }
    const selected = editor.getSelected();
    if (selected && selected.is("mj-text")) {
      selected.append({ type: "textnode", content: " " + tag });
      dirty = true;
    } else {
      $("save-status").textContent = "Select a text block in the editor first.";
    }
  });
  $("merge-field").dispatchEvent(new Event("change"));

  // --- Preview and test send -----------------------------------------------------------------
  let searchTimer = null;
  $("contact-search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(searchContacts, 250);
  });
  async function searchContacts() {
    const query = $("contact-search").value.trim();
    const results = $("contact-results");
    results.replaceChildren();
    if (query.length < 2) return;
    const response = await fetch(app.dataset.contacts + "?q=" + encodeURIComponent(query), { credentials: "same-origin" });
    const data = await response.json();
    data.results.forEach((row) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary outline";
      button.textContent = row.label;
      button.dataset.testid = "contact-option";
      button.addEventListener("click", () => preview(row.id, row.label));
      item.append(button);
      results.append(item);
    });
    if (!data.results.length) results.textContent = "No contact found.";
  }

  async function preview(id, label) {
    if (dirty && !(await save())) return;
    contactId = id;
    const result = await call(api + "preview/", "POST", { contact: id });
    if (!result.ok) { showErrors(result.data); return; }
    $("preview-contact").textContent = label;
    $("preview-subject").textContent = result.data.subject;
    $("preview-text").textContent = result.data.text;
    const notices = $("preview-notices");
    notices.replaceChildren();
    [result.data.sending, result.data.tracking_notice].filter(Boolean).forEach((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      notices.append(item);
    });
    $("preview-frame").src = app.dataset.preview + "?contact=" + id + "&t=" + Date.now();
    $("contact-results").replaceChildren();
  }

  $("test-send").addEventListener("click", async () => {
    const status = $("test-status");
    if (dirty && !(await save())) { status.textContent = "Fix the problems above first."; return; }
    status.textContent = "Sending…";
    const result = await call(api + "test-send/", "POST", { to: $("test-to").value, contact: contactId });
    status.textContent = result.ok
      ? "Test sent to " + result.data.sent_to + "."
      : "Not sent: " + Object.entries(result.data).map(([k, v]) => (k === "detail" ? v : k + ": " + v)).join("; ");
  });

  if ($("email-save")) $("email-save").addEventListener("click", save);
  $("preview-frame").src = app.dataset.preview + "?t=" + Date.now();
})();
