// AV dual – intake web form. Plain JS, no build step. Text for people is German.
// CONFIG, $, session, api, groupsOf and startLogin (the shared login, header and session) come from
// common/webassets/session.js.
const STATUS_TEXT = {
  submitted: "Eingegangen – die Zuordnung läuft …",
  waitlisted: "Auf der Warteliste (noch keine Begleitung frei)",
  assigned: "Zugeordnet",
  ended: "Begleitung beendet",
  withdrawn: "Zurückgezogen",
};
let idempotencyKey = null;
let duplicateOf = null; // the intake already there when the form's student is (409 of POST /intakes)
let editing = null; // {intake_id, version, before (the form as loaded), name}: the form corrects an intake
let listCursor = null;

// ------------------------------------------------------------------ helpers
function currentSchoolYear(today = new Date()) {
  const y = today.getMonth() >= 7 ? today.getFullYear() : today.getFullYear() - 1;
  return `${y}/${String((y + 1) % 100).padStart(2, "0")}`;
}

// One labelled checkbox or radio button per code of ``labels`` (code → German label), all named ``name``.
function choices(type, name, labels) {
  return Object.entries(labels || {}).map(([code, label]) => {
    const l = document.createElement("label");
    const i = document.createElement("input");
    i.type = type;
    i.name = name;
    i.value = code;
    l.append(i, ` ${label}`);
    return l;
  });
}

function option(value, text, selected = false) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  o.selected = selected;
  return o;
}

function newKey() {
  return (crypto.randomUUID && crypto.randomUUID()) ||
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// ------------------------------------------------------------------ session (shared login: startLogin)
/** Schools and office use the whole form; a companion (only where the companions' page is not served)
 * sees the list of their students, without entering, correcting or withdrawing. */
function onSessionStart(s) {
  const staff = s.role === "office" || s.role === "school";
  document.querySelectorAll('.tab[data-tab="intake"], .tab[data-tab="batch"]').forEach((b) => { b.hidden = !staff; });
  fillSchools();
  showTab(staff ? "intake" : "list");
}

function onSessionEnd() {
  resetForm();
  $("confirmation").hidden = true;
  $("intake-form").hidden = false;
}

// ------------------------------------------------------------------ form set-up
function fillSchools() {
  const groups = groupsOf(session.claims);
  const own = groups.filter((g) => g.startsWith("school-")).map((g) => g.slice(7));
  const office = groups.includes("office");
  for (const id of ["f-school_id", "b-school_id"]) {
    const sel = $(id);
    sel.replaceChildren();
    for (const [code, name] of Object.entries(CONFIG.schools || {})) {
      if (office || own.includes(code)) sel.append(option(code, name, own[0] === code));
    }
  }
}

function setUpForm() {
  const langs = Object.entries(CONFIG.languages || {});
  $("f-languages").replaceChildren(...langs.map(([c, n]) => option(c, n, c === "de")));
  $("f-parent_contact_language").replaceChildren(option("", "– bitte wählen –"), ...langs.map(([c, n]) => option(c, n)));
  const box = $("career-fields");
  box.replaceChildren(...choices("checkbox", "career_fields", CONFIG.career_fields));
  box.addEventListener("change", () => {
    const checked = box.querySelectorAll("input:checked").length;
    box.querySelectorAll("input:not(:checked)").forEach((i) => { i.disabled = checked >= 3; });
  });
  resetForm();
}

function resetForm() {
  $("intake-form").reset();
  $("f-school_year").value = currentSchoolYear();
  $("b-school_year").value = currentSchoolYear();
  $("l-school_year").value = currentSchoolYear();
  $("f-consent_version").value = CONFIG.consent_text_version || "";
  $("f-consent_given_on").value = new Date().toISOString().slice(0, 10);
  $("f-languages").querySelectorAll("option").forEach((o) => { o.selected = o.value === "de"; });
  $("career-fields").querySelectorAll("input").forEach((i) => { i.disabled = false; });
  if (session) fillSchools();
  clearErrors();
  hideDuplicate();
  idempotencyKey = null;
  setEditing(null);
}

// ------------------------------------------------------------------ submit
const MULTI = new Set(["career_fields", "student.languages"]);

function formJson(form) {
  const out = {};
  const set = (path, value) => {
    const keys = path.split(".");
    let t = out;
    for (const k of keys.slice(0, -1)) t = t[k] = t[k] || {};
    t[keys[keys.length - 1]] = value;
  };
  for (const el of form.elements) {
    if (!el.name || el.disabled && el.type !== "checkbox") continue;
    if (MULTI.has(el.name)) continue;
    if (el.type === "radio") {
      if (el.checked) set(el.name, el.value);
    } else if (el.type === "checkbox") {
      set(el.name, el.checked);
    } else if (el.value.trim() !== "") {
      set(el.name, el.type === "number" ? Number(el.value) : el.value);
    }
  }
  set("career_fields", Array.from(form.querySelectorAll('input[name="career_fields"]:checked'), (i) => i.value));
  set("student.languages", Array.from($("f-languages").selectedOptions, (o) => o.value));
  return out;
}

function clearErrors() {
  document.querySelectorAll(".field-error").forEach((p) => { p.textContent = ""; });
  document.querySelectorAll("[aria-invalid]").forEach((el) => {
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-describedby");
  });
  $("form-errors").hidden = true;
  $("form-errors-list").replaceChildren();
}

/** The form's own German label of a field (``student.date_of_birth`` → "Geburtsdatum"), "" if none. */
function fieldLabel(field) {
  const el = field && document.querySelector(`#intake-form [name="${CSS.escape(field)}"]`);
  if (!el) return "";
  const group = el.closest("fieldset.inline");
  const grouped = el.type === "radio" || (el.type === "checkbox" && MULTI.has(field));
  const text = grouped && group ? group.querySelector("legend").textContent
    : (el.labels && el.labels.length ? el.labels[0].textContent : "");
  return text.replace(/\s*\*\s*$/, "").trim();
}

/** A message that names its field: the API's "<Label>: <rule>." as is, else the form's label in front. */
function namedMessage(field, message) {
  const label = fieldLabel(field);
  const named = /^[^.]{1,80}: /.test(message);
  return label && !named ? `${label}: ${message}` : message;
}

function showErrors(errors, message) {
  clearErrors();
  const list = $("form-errors-list");
  const fieldErrors = errors.length > 0;
  $("form-errors-title").textContent = fieldErrors
    ? `Bitte ${errors.length === 1 ? "dieses Feld" : `diese ${errors.length} Angaben`} prüfen – es wurde nichts gespeichert`
    : "Es wurde nichts gespeichert";
  for (const err of fieldErrors ? errors : [{ field: "", message }]) {
    const field = String(err.field || "").replace(/\.\d+$/, "");
    const text = namedMessage(field, err.message);
    const target = document.getElementById(`e-${field}`);
    const inputs = field ? document.querySelectorAll(`#intake-form [name="${CSS.escape(field)}"]`) : [];
    if (target) {
      target.textContent = err.message;
      inputs.forEach((el) => {
        el.setAttribute("aria-invalid", "true");
        el.setAttribute("aria-describedby", target.id);
      });
    }
    const li = document.createElement("li");
    if (inputs.length) {
      const a = document.createElement("a");
      a.href = `#${inputs[0].id || ""}`;
      a.textContent = text;
      a.addEventListener("click", (ev) => {
        ev.preventDefault();
        inputs[0].focus();
      });
      li.append(a);
    } else {
      li.textContent = text;
    }
    list.append(li);
  }
  $("form-errors").hidden = false;
  $("form-errors").focus();
}

function hideDuplicate() {
  $("duplicate-box").hidden = true;
  duplicateOf = null;
}

function showDuplicate(body) {
  clearErrors();
  duplicateOf = body.duplicate_of;
  $("duplicate-text").textContent = body.message;
  $("duplicate-open").href = `#anmeldung-${body.duplicate_of}`;
  $("duplicate-box").hidden = false;
  $("duplicate-box").focus();
}

async function onSubmit(ev, allowDuplicate = false) {
  if (ev) ev.preventDefault();
  if (editing) return saveCorrection();
  const btn = $("submit");
  if (btn.disabled) return;
  btn.disabled = true;
  $("submit-state").textContent = "Wird gesendet …";
  idempotencyKey = idempotencyKey || newKey(); // the same key for retries of this submission
  try {
    const { status, body } = await api("POST", allowDuplicate ? "intakes?allow_duplicate=true" : "intakes", {
      json: formJson($("intake-form")), headers: { "Idempotency-Key": idempotencyKey },
    });
    hideDuplicate();
    if (status === 409 && body && body.duplicate_of) {
      showDuplicate(body);
      $("submit-state").textContent = "";
    } else if (status === 201) {
      clearErrors();
      showConfirmation(body.intake_id);
      $("submit-state").textContent = "";
    } else if (status === 401) {
      $("submit-state").textContent = "";
    } else {
      if (status !== 409) idempotencyKey = null; // nothing stored: a corrected form is a new request
      showErrors((body && body.errors) || [], (body && body.message) || "Die Anmeldung konnte nicht gespeichert werden.");
      $("submit-state").textContent = (body && body.message) || "";
    }
  } catch (_) {
    $("submit-state").textContent = "Keine Verbindung. Bitte erneut senden – die Anmeldung wird nicht doppelt gespeichert.";
  } finally {
    btn.disabled = false;
  }
}

async function showConfirmation(intakeId) {
  $("intake-form").hidden = true;
  $("confirmation").hidden = false;
  $("confirmation-id").textContent = intakeId;
  $("confirmation-status").textContent = STATUS_TEXT.submitted;
  for (let i = 0; i < 30 && session && !$("confirmation").hidden; i++) {
    const { status, body } = await api("GET", `intakes/${encodeURIComponent(intakeId)}`);
    if (status === 200) {
      let text = STATUS_TEXT[body.status] || body.status;
      if (body.status === "assigned" && body.companion_id) text += ` (Begleitung: ${body.companion_name || body.companion_id})`;
      $("confirmation-status").textContent = text;
      if (body.status !== "submitted") return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ------------------------------------------------------------------ correct (PATCH with If-Match)
function valueAt(obj, path) {
  return path.split(".").reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);
}

/** Put a stored intake (GET /intakes/{id}) into the form's fields. */
function fillForm(data) {
  const form = $("intake-form");
  for (const el of form.elements) {
    if (!el.name || MULTI.has(el.name)) continue;
    const v = valueAt(data, el.name);
    if (el.type === "radio") el.checked = v !== undefined && v !== null && String(v) === el.value;
    else if (el.type === "checkbox") el.checked = v === true;
    else el.value = v === undefined || v === null ? "" : String(v);
  }
  const fields = new Set(data.career_fields || []);
  const boxes = $("career-fields").querySelectorAll("input");
  boxes.forEach((i) => { i.checked = fields.has(i.value); });
  boxes.forEach((i) => { i.disabled = !i.checked && fields.size >= 3; });
  const langs = new Set(valueAt(data, "student.languages") || []);
  $("f-languages").querySelectorAll("option").forEach((o) => { o.selected = langs.has(o.value); });
}

/** JSON Merge Patch (RFC 7396) from ``before`` to ``after``: changed values, null for removed ones. */
function mergePatch(before, after) {
  const patch = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[key], b = after[key];
    if (!(key in after)) patch[key] = null;
    else if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
      const inner = mergePatch(a, b);
      if (Object.keys(inner).length) patch[key] = inner;
    } else if (JSON.stringify(a) !== JSON.stringify(b)) patch[key] = b;
  }
  return patch;
}

function setEditing(state) {
  editing = state;
  $("edit-banner").hidden = !state;
  $("edit-cancel").hidden = !state;
  $("edit-reload").hidden = true;
  $("form-title").textContent = state ? "Anmeldung korrigieren" : "Aufnahmebogen";
  $("submit").textContent = state ? "Korrektur speichern" : "Anmeldung absenden";
  if (state) {
    $("edit-text").textContent = `Sie korrigieren die Anmeldung von ${state.name} (Anmeldenummer ${state.intake_id}). ` +
      "Nur geänderte Angaben werden gespeichert; die Begleitung erfährt, welche Felder sich geändert haben.";
  }
}

async function startEdit(intakeId) {
  $("list-state").textContent = "Wird geladen …";
  const { status, body } = await api("GET", `intakes/${encodeURIComponent(intakeId)}`);
  if (status !== 200) {
    $("list-state").textContent = (body && body.message) || "Die Anmeldung konnte nicht geladen werden.";
    return;
  }
  $("list-state").textContent = "";
  resetForm();
  fillForm(body);
  const name = `${body.student.given_name} ${body.student.family_name}`;
  setEditing({ intake_id: body.intake_id, version: body.version, before: formJson($("intake-form")), name });
  $("confirmation").hidden = true;
  $("intake-form").hidden = false;
  showTab("intake", true);
  $("form-title").scrollIntoView();
  $("f-given_name").focus();
}

async function saveCorrection() {
  const btn = $("submit");
  if (btn.disabled) return;
  const patch = mergePatch(editing.before, formJson($("intake-form")));
  if (!Object.keys(patch).length) {
    $("submit-state").textContent = "Keine Änderung – es wurde nichts gespeichert.";
    return;
  }
  btn.disabled = true;
  $("submit-state").textContent = "Wird gespeichert …";
  try {
    const { status, body } = await api("PATCH", `intakes/${encodeURIComponent(editing.intake_id)}`, {
      json: patch, headers: { "If-Match": `"${editing.version}"` },
    });
    if (status === 200) {
      const name = editing.name;
      resetForm();
      await showTab("list");
      $("list-state").textContent = `Die Anmeldung von ${name} wurde korrigiert.`;
    } else if (status !== 401) {
      showErrors((body && body.errors) || [], (body && body.message) || "Die Korrektur konnte nicht gespeichert werden.");
      $("edit-reload").hidden = status !== 409;
      $("submit-state").textContent = (body && body.message) || "";
    }
  } catch (_) {
    $("submit-state").textContent = "Keine Verbindung. Bitte erneut speichern.";
  } finally {
    btn.disabled = false;
  }
}

// ------------------------------------------------------------------ list
const LIST_COLUMNS = ["Name", "Klasse", "Status", "Eingang"];

function row(item) {
  const tr = document.createElement("tr");
  const name = item.family_name === null ? "(gelöscht)" : `${item.family_name}, ${item.given_name}`;
  const status = STATUS_TEXT[item.status] || item.status;
  const cells = [name, item.class_name, item.status === "assigned" && item.companion_id
    ? `${status} (${item.companion_name || item.companion_id})` : status,
    new Date(item.submitted_at).toLocaleDateString("de-DE")];
  cells.forEach((text, i) => {
    const td = document.createElement("td");
    td.dataset.label = LIST_COLUMNS[i];
    td.textContent = text;
    tr.append(td);
  });
  const td = document.createElement("td");
  if (item.status !== "withdrawn" && session.role !== "companion") {
    const who = `${item.given_name} ${item.family_name}`;
    const fix = document.createElement("button");
    fix.type = "button";
    fix.className = "link";
    fix.textContent = "Korrigieren";
    fix.setAttribute("aria-label", `Anmeldung von ${who} korrigieren`);
    fix.addEventListener("click", () => startEdit(item.intake_id));
    const b = document.createElement("button");
    b.type = "button";
    b.className = "link";
    b.textContent = "Zurückziehen";
    b.setAttribute("aria-label", `Anmeldung von ${who} zurückziehen`);
    b.addEventListener("click", () => askWithdraw(item, b));
    td.append(fix, " ", b);
  }
  tr.append(td);
  return tr;
}

async function loadList(more = false) {
  const params = new URLSearchParams();
  const year = $("l-school_year").value.trim();
  if (year) params.set("school_year", year);
  if ($("l-status").value) params.set("status", $("l-status").value);
  const own = groupsOf(session.claims).filter((g) => g.startsWith("school-"));
  if (own.length > 1) params.set("school_id", $("f-school_id").value);
  if (more && listCursor) params.set("cursor", listCursor);
  $("list-state").textContent = "Wird geladen …";
  const { status, body } = await api("GET", `intakes?${params}`);
  if (status !== 200) {
    $("list-state").textContent = (body && body.message) || "Die Liste konnte nicht geladen werden.";
    return;
  }
  const tbody = $("list-table").querySelector("tbody");
  if (!more) tbody.replaceChildren();
  body.items.forEach((item) => tbody.append(row(item)));
  listCursor = body.next_cursor;
  $("list-more").hidden = !listCursor;
  $("list-table").hidden = false;
  const shown = tbody.children.length;
  // the API pages the list: without a total, say what is shown and that more exist
  $("list-state").textContent = listCursor
    ? `${shown} Anmeldungen angezeigt – es gibt weitere („Weitere laden“).`
    : `${shown} ${shown === 1 ? "Anmeldung" : "Anmeldungen"} (alle angezeigt).`;
}

// Withdrawal asks for the reason (CONFIG.withdraw_reasons); every reason erases the personal data.
let withdrawing = null; // {item, button}

function setUpWithdrawDialog() {
  const box = $("withdraw-reasons");
  box.replaceChildren(...choices("radio", "withdraw-reason", CONFIG.withdraw_reasons));
  $("withdraw-cancel").addEventListener("click", () => $("withdraw-dialog").close());
  box.addEventListener("change", () => { $("withdraw-error").textContent = ""; });
  $("withdraw-confirm").addEventListener("click", confirmWithdraw);
}

function askWithdraw(item, button) {
  withdrawing = { item, button };
  $("withdraw-who").textContent = `${item.given_name} ${item.family_name}, Klasse ${item.class_name}`;
  $("withdraw-dialog").querySelectorAll("input").forEach((i) => { i.checked = false; });
  $("withdraw-error").textContent = "";
  $("withdraw-dialog").showModal();
}

async function confirmWithdraw() {
  const chosen = $("withdraw-dialog").querySelector('input[name="withdraw-reason"]:checked');
  if (!chosen) {
    $("withdraw-error").textContent = "Bitte einen Grund auswählen.";
    return;
  }
  const { item, button } = withdrawing;
  $("withdraw-confirm").disabled = true;
  try {
    const { status, body } = await api("POST", `intakes/${encodeURIComponent(item.intake_id)}/withdraw`, {
      json: { reason: chosen.value }, headers: { "Idempotency-Key": newKey() },
    });
    if (status === 200) {
      $("withdraw-dialog").close();
      await loadList();
      $("list-state").textContent = `Die Anmeldung wurde zurückgezogen (${CONFIG.withdraw_reasons[chosen.value]}) und die Angaben gelöscht.`;
    } else {
      $("withdraw-error").textContent = (body && body.message) || "Die Anmeldung konnte nicht zurückgezogen werden.";
      button.disabled = false;
    }
  } finally {
    $("withdraw-confirm").disabled = false;
  }
}

// ------------------------------------------------------------------ class list upload
async function onBatch(ev) {
  ev.preventDefault();
  const form = $("batch-form");
  const data = new FormData();
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === "file") {
      if (el.files[0]) data.append("file", el.files[0], el.files[0].name);
    } else if (el.value.trim()) {
      data.append(el.name, el.value.trim());
    }
  }
  const out = $("batch-result");
  out.replaceChildren();
  $("batch-submit").disabled = true;
  try {
    const { status, body } = await api("POST", "intakes/batch", { form: data, headers: { "Idempotency-Key": newKey() } });
    const p = document.createElement("p");
    if (status !== 200) {
      p.className = "error";
      p.textContent = [(body && body.message) || "Fehler beim Hochladen.",
        ...((body && body.errors) || []).map((e) => e.message)].join(" ");
      out.append(p);
      return;
    }
    p.className = body.invalid ? "error" : "ok";
    p.textContent = `${body.stored} Zeile(n) gespeichert, ${body.duplicates} Zeile(n) bereits vorhanden ` +
      `(nicht noch einmal gespeichert), ${body.invalid} Zeile(n) mit Fehlern.`;
    out.append(p);
    const ul = document.createElement("ul");
    ul.id = "batch-rows";
    for (const r of body.rows.filter((x) => x.status !== "stored")) {
      const li = document.createElement("li");
      li.dataset.status = r.status;
      li.textContent = `Zeile ${r.row}: ` + r.errors.map((e) => e.message).join(" ");
      ul.append(li);
    }
    out.append(ul);
  } finally {
    $("batch-submit").disabled = false;
  }
}

// ------------------------------------------------------------------ navigation
function showTab(name, keepEditing = false) {
  if (editing && !keepEditing && name === "intake") resetForm(); // the tab "Neue Anmeldung": a new one
  for (const t of ["intake", "list", "batch"]) $(`tab-${t}`).hidden = t !== name;
  document.querySelectorAll(".tab").forEach((b) => {
    // correcting is none of the tabs (not a new intake)
    if (b.dataset.tab === name && !(editing && name === "intake")) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  });
  return name === "list" ? loadList() : Promise.resolve();
}

document.addEventListener("DOMContentLoaded", () => {
  setUpForm();
  setUpWithdrawDialog();
  $("edit-cancel").addEventListener("click", () => { resetForm(); showTab("list"); });
  $("edit-reload").addEventListener("click", () => editing && startEdit(editing.intake_id));
  $("duplicate-open").addEventListener("click", (ev) => {
    ev.preventDefault();
    if (duplicateOf) startEdit(duplicateOf);
  });
  $("duplicate-override").addEventListener("click", () => onSubmit(null, true));
  $("intake-form").addEventListener("submit", onSubmit);
  $("new-intake").addEventListener("click", () => {
    $("confirmation").hidden = true;
    $("intake-form").hidden = false;
    resetForm();
    $("f-given_name").focus();
  });
  $("list-load").addEventListener("click", () => loadList());
  $("list-more").addEventListener("click", () => loadList(true));
  $("batch-form").addEventListener("submit", onBatch);
  document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  startLogin({
    // a companion works on the companions' page once it is served (CONFIG.homes); until then the list here
    roles: CONFIG.homes && CONFIG.homes.companion ? ["office", "school"] : ["office", "school", "companion"],
    onStart: onSessionStart,
    onEnd: onSessionEnd,
    refusal: "Dieses Formular ist für Schulen und das Bildungsbüro.",
  });
});
