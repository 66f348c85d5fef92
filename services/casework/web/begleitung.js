// AV dual – the companions' page /begleitung. Plain JS, no build step. Text for people is German.
// Composes casework (GET /students, internships, meetings, companies), intake (names and contacts: GET /intakes)
// and matching (assignment with explanation, exit: /assignments/{id}). The server decides who sees what.
// CONFIG, $, API, TOKEN_KEY, AUTH_ERRORS, decodeJwt, groupsOf and cognito come from common/webassets/session.js.
const L = CONFIG.labels || {};
const STATUS = { assigned: "in Begleitung", waitlisted: "Warteliste", ended: "ausgetreten", withdrawn: "zurückgezogen" };
const CHANGE = { assigned: "zugeordnet", reassigned: "übergeben", waitlisted: "Warteliste", ended: "ausgetreten",
  withdrawn: "zurückgezogen" };

let session = null; // {token, claims, role, companionId}
let companionNames = {}; // companion code → name, as the casework API names them
let students = []; // rows of GET /students with .name
let names = {}; // intake_id -> "Vorname Nachname"
let current = null; // {id, detail, intake, assignment}
let editing = null; // internship being edited or ended

// ------------------------------------------------------------------ helpers
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function day(iso) {
  if (!iso) return "–";
  const [y, m, d] = String(iso).slice(0, 10).split("-");
  return `${d}.${m}.${y}`;
}

/** A companion by name with the code in brackets, or the code where the name is not known. */
function companion(id) {
  return companionNames[id] ? `${companionNames[id]} (${id})` : id;
}

function today() {
  const d = new Date();
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

function newKey() {
  return (crypto.randomUUID && crypto.randomUUID()) ||
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fillSelect(select, labels, { empty = null } = {}) {
  const options = Object.entries(labels).map(([v, t]) => el("option", { value: v }, t));
  if (empty !== null) options.unshift(el("option", { value: "" }, empty));
  select.replaceChildren(...options);
}

function fillChecks(box, labels, name) {
  box.replaceChildren(...Object.entries(labels).map(([v, t]) =>
    el("label", {}, el("input", { type: "checkbox", name, value: v }), t)));
}

function checked(box) {
  return [...box.querySelectorAll("input:checked")].map((i) => i.value);
}

function table(header, rows, caption) {
  const t = el("table", { class: "cards" });
  if (caption) t.append(el("caption", { class: "muted" }, caption));
  t.append(el("thead", {}, el("tr", {}, ...header.map((h) => el("th", { scope: "col" }, h)))));
  const body = el("tbody");
  for (const cells of rows) {
    body.append(el("tr", {}, ...cells.map((c, i) => el("td", { "data-label": header[i] }, c))));
  }
  t.append(body);
  return t;
}

async function api(method, path, json, headers = {}) {
  const init = { method, headers: { Authorization: `Bearer ${session.token}`, ...headers } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  const resp = await fetch(API + path, init);
  const body = await resp.json().catch(() => null);
  if (resp.status === 401) logout("Die Anmeldung ist abgelaufen. Bitte erneut anmelden.");
  return { status: resp.status, body };
}

// The API's German answer: the message and, per field, the field's rule.
function problem(r, fallback) {
  if (!r.body) return fallback;
  const lines = [r.body.message || fallback];
  for (const e of r.body.errors || []) lines.push(`${e.field}: ${e.message}`);
  return lines.join("\n");
}

// ------------------------------------------------------------------ login (Cognito InitiateAuth)
async function onLogin(ev) {
  ev.preventDefault();
  const btn = $("login-submit");
  btn.disabled = true;
  $("login-error").textContent = "";
  try {
    const result = await cognito("InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH", ClientId: CONFIG.client_id,
      AuthParameters: { USERNAME: $("login-user").value.trim(), PASSWORD: $("login-password").value },
    });
    if (!result.AuthenticationResult) {
      $("login-error").textContent = "Bitte die Anmeldung zuerst im Anmeldeformular abschließen (neues Passwort / Zwei-Faktor).";
      return;
    }
    await startSession(result.AuthenticationResult.IdToken);
  } catch (e) {
    $("login-error").textContent = e && e.type === "NoEndpoint"
      ? "Anmeldung mit Passwort ist hier nicht eingerichtet. Bitte mit Token anmelden."
      : (AUTH_ERRORS[e && e.type] || "Die Anmeldung ist fehlgeschlagen. Bitte erneut versuchen.");
  } finally {
    btn.disabled = false;
  }
}

async function onTokenLogin(ev) {
  ev.preventDefault();
  const token = $("token-input").value.trim().replace(/^Bearer\s+/i, "");
  try {
    decodeJwt(token);
  } catch (_) {
    $("login-error").textContent = "Das ist kein gültiges Token.";
    return;
  }
  await startSession(token);
}

async function startSession(token) {
  const claims = decodeJwt(token);
  const groups = groupsOf(claims);
  const role = groups.includes("office") ? "office" : groups.includes("companion") ? "companion" : null;
  if (!role) {
    $("login-error").textContent = "Diese Seite ist nur für die AV dual-Begleiter/innen und das Bildungsbüro freigegeben.";
    return;
  }
  session = { token, claims, role, companionId: claims["custom:companion_id"] || null };
  sessionStorage.setItem(TOKEN_KEY, token);
  $("who-name").textContent = claims.email || claims["cognito:username"] || "angemeldet";
  $("who").hidden = false;
  $("login").hidden = true;
  $("list").hidden = false;
  $("office-form").hidden = role !== "office";
  $("list-title").textContent = role === "office" ? "Schülerinnen und Schüler einer Begleitung" : "Meine Schülerinnen und Schüler";
  if (role === "companion") await loadList();
}

function logout(message = "") {
  session = null;
  sessionStorage.removeItem(TOKEN_KEY);
  for (const id of ["who", "list", "detail"]) $(id).hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
}

// ------------------------------------------------------------------ the caseload
async function intakeNames(companionId) {
  let cursor = null;
  do {
    const params = new URLSearchParams({ limit: "100" });
    if (companionId) params.set("companion_id", companionId);
    if (cursor) params.set("cursor", cursor);
    const r = await api("GET", `intakes?${params}`);
    if (r.status !== 200) return;
    for (const i of r.body.items) if (i.given_name) names[i.intake_id] = `${i.given_name} ${i.family_name}`;
    cursor = r.body.next_cursor;
  } while (cursor);
}

async function loadList() {
  $("list-error").textContent = "";
  $("list-state").textContent = "Wird geladen …";
  const params = new URLSearchParams();
  const officeCompanion = session.role === "office" ? $("office-companion").value.trim().toUpperCase() : null;
  if (officeCompanion) params.set("companion_id", officeCompanion);
  const r = await api("GET", `students${params.toString() ? `?${params}` : ""}`);
  if (!session) return;
  if (r.status !== 200) {
    $("list-state").textContent = "";
    $("list-error").textContent = problem(r, "Die Liste konnte nicht geladen werden.");
    return;
  }
  companionNames = { ...companionNames, ...(r.body.companion_names || {}) };
  if (session.companionId && companionNames[session.companionId]) $("who-name").textContent = companionNames[session.companionId];
  const subs = r.body.substituting_for || [];
  $("substituting").hidden = !subs.length;
  $("substituting").textContent = subs.length
    ? `Sie vertreten heute ${subs.map(companion).join(", ")}: deren Schülerinnen und Schüler sind zum Lesen aufgeführt.` : "";
  await Promise.all([intakeNames(officeCompanion || (session.role === "office" ? null : undefined)),
    ...subs.map((c) => intakeNames(c))]);
  // names of students no longer listed under the companion in intake (e.g. after the exit): one read each
  await Promise.all(r.body.items.filter((s) => !(s.intake_id in names)).slice(0, 50).map(async (s) => {
    const one = await api("GET", `intakes/${s.intake_id}`);
    if (one.status === 200 && one.body.student) names[s.intake_id] = `${one.body.student.given_name} ${one.body.student.family_name}`;
  }));
  students = r.body.items.map((s) => ({ ...s, name: names[s.intake_id] || "(Name nicht verfügbar)" }))
    .sort((a, b) => a.name.localeCompare(b.name, "de"));
  renderList();
  document.body.dataset.loaded = "true";
}

function internshipCell(s) {
  const target = s.internship_target || L.internship_target || 40;
  const done = s.internship_days || 0;
  const pct = Math.min(100, Math.round((done / target) * 100));
  const bar = el("span", { class: "bar", "aria-hidden": "true" }, el("span", { style: null }));
  bar.firstChild.dataset.pct = String(pct);
  const line = el("span", {}, bar, `${done} von ${target} Tagen`);
  if (!s.current_internship) return el("div", {}, el("div", { class: "muted" }, s.internships ? "zurzeit kein Praktikum" : "noch kein Praktikum"), line);
  const c = s.current_internship;
  const when = s.status === "ended" ? "bis zum Austritt" : c.start_date > today() ? `ab ${day(c.start_date)}` : `seit ${day(c.start_date)}`;
  return el("div", {}, el("div", {}, c.company_name || "Betrieb"), el("div", { class: "muted" }, when), line);
}

function meetingsCell(s) {
  const g = s.goal_meetings;
  const per = L.goal_meetings_per_year || 3;
  const badge = el("span", { class: `badge ${g.done >= g.due ? "ok" : "due"}` }, `${g.done} von ${per}`);
  const next = g.next_due ? el("div", { class: "muted" }, `nächstes bis ${day(g.next_due)}`)
    : s.status === "assigned" ? el("div", { class: "muted" }, "alle geführt") : null;
  return el("div", {}, badge, g.done < g.due ? el("span", { class: "muted" }, ` (${g.due - g.done} überfällig)`) : null, next);
}

function renderList() {
  const q = $("search").value.trim().toLocaleLowerCase("de");
  const status = $("status-filter").value;
  const rows = students.filter((s) => (!q || s.name.toLocaleLowerCase("de").includes(q)) && (!status || s.status === status));
  $("list-state").textContent = `${rows.length} von ${students.length} Schülerinnen und Schülern.`;
  const header = ["Name", "Schule", "Klasse", "seit", "Praktikum", "Zielvereinbarungen", "Status"];
  $("students").replaceChildren(table(header, rows.map((s) => [
    el("button", { type: "button", class: "link", "data-open": s.intake_id }, s.name),
    s.school_name, s.class_name || "–", day(s.since),
    internshipCell(s), meetingsCell(s),
    el("span", {}, STATUS[s.status] || s.status, s.read_only ? el("div", { class: "muted" }, "Vertretung (nur lesen)") : null),
  ])));
  for (const b of $("students").querySelectorAll(".bar > span")) b.style.width = `${b.dataset.pct}%`;
}

// ------------------------------------------------------------------ one student
async function openStudent(id) {
  $("detail-error").textContent = "";
  const [detail, intake, assignment] = await Promise.all([
    api("GET", `students/${id}`), api("GET", `intakes/${id}`), api("GET", `assignments/${id}`)]);
  if (!session) return;
  if (detail.status !== 200) {
    $("list-error").textContent = problem(detail, "Die Schülerin / der Schüler konnte nicht geöffnet werden.");
    return;
  }
  companionNames = { ...companionNames, ...(detail.body.companion_names || {}) };
  current = { id, detail: detail.body, intake: intake.status === 200 ? intake.body : null,
    assignment: assignment.status === 200 ? assignment.body : null };
  $("list").hidden = true;
  $("detail").hidden = false;
  for (const f of ["internship-form", "end-form", "meeting-form", "exit-form"]) $(f).hidden = true;
  renderDetail();
  window.scrollTo(0, 0);
}

function facts(dl, pairs) {
  dl.replaceChildren(...pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function renderDetail() {
  const { detail, intake, assignment } = current;
  const s = detail.summary;
  const st = intake && intake.student;
  $("detail-title").textContent = st ? `${st.given_name} ${st.family_name}` : (names[current.id] || "Schülerin / Schüler");
  const readOnly = s.read_only || s.status !== "assigned";
  $("detail-note").hidden = !s.read_only;
  $("detail-note").textContent = s.read_only ? "Sie vertreten die Begleitung dieser Schülerin / dieses Schülers: nur lesen." : "";
  const lang = (codes) => (codes || []).map((c) => (L.languages || {})[c] || c).join(", ");
  facts($("intake-data"), [
    ["Schule", s.school_name], ["Klasse", s.class_name], ["Schuljahr", s.school_year],
    ["Geburtsdatum", st && day(st.date_of_birth)], ["Telefon", st && st.phone], ["E-Mail", st && st.email],
    ["Sprachen", st && lang(st.languages)],
    ["Sprache Elternkontakt", st && st.parent_contact_language && lang([st.parent_contact_language])],
    ["Berufsfelder", intake && (intake.career_fields || []).map((c) => (L.career_fields || {})[c] || c).join(", ")],
    ["Berufswunsch", intake && intake.wished_job], ["Bemerkung der Schule", intake && intake.remark],
  ]);
  const expl = assignment && assignment.explanation ? Object.entries(assignment.explanation)
    .filter(([, v]) => v).map(([k, v]) => `${(L.criteria || {})[k] || k} ${v.toFixed(2)}`).join(", ") : "";
  facts($("assignment-data"), [
    ["Begleitung", s.companion_id && companion(s.companion_id)], ["bei ihr / ihm seit", day(s.since)], ["Status", STATUS[s.status] || s.status],
    ["Begründung der Zuordnung", expl ? `${expl} (Kosten je Kriterium, niedriger ist besser)` : (assignment ? "alle Kriterien erfüllt" : null)],
    ["Praktikumstage", `${s.internship_days} von ${s.internship_target}`],
    ["Zielvereinbarungen", `${s.goal_meetings.done} von ${L.goal_meetings_per_year || 3} (fällig bis heute: ${s.goal_meetings.due})`],
  ]);
  $("history").replaceChildren(...detail.history.map((h) => el("li", {},
    `${day(h.at)}: ${CHANGE[h.kind] || h.kind}${h.companion_id ? ` – ${h.from_companion_id ? `${companion(h.from_companion_id)} → ` : ""}${companion(h.companion_id)}` : ""}`)));

  const ints = detail.internships;
  $("internships").replaceChildren(ints.length ? table(
    ["Betrieb", "Berufsfeld", "Modell", "Zeitraum", "Tage", "Stand", ""],
    ints.map((i) => [
      el("div", {}, i.company_name || i.company_id, i.company_town ? el("div", { class: "muted" }, i.company_town) : null,
        i.contact_person ? el("div", { class: "muted" }, `Ansprechperson: ${i.contact_person}`) : null),
      (L.career_fields || {})[i.career_field] || i.career_field,
      i.model === "weekly_days" ? i.weekdays.map((d) => (L.weekdays || {})[d] || d).join(", ") : (L.internship_models || {})[i.model],
      i.end_date ? `${day(i.start_date)} – ${day(i.end_date)}` : `ab ${day(i.start_date)}`, String(i.days_completed),
      i.ended ? `beendet: ${(L.end_reasons || {})[i.end_reason] || i.end_reason}`
        : detail.exit ? `beim Austritt am ${day(detail.exit.exit_date)} nicht beendet`
          : i.start_date > today() ? "geplant" : "läuft",
      readOnly || i.ended ? "" : el("span", { class: "actions" },
        el("button", { type: "button", class: "small secondary", "data-edit": i.internship_id }, "Ändern"),
        el("button", { type: "button", class: "small secondary", "data-end": i.internship_id }, "Beenden")),
    ])) : el("p", { class: "muted" }, "Noch kein Praktikum erfasst."));

  const ms = [...detail.meetings].sort((a, b) => b.meeting_date.localeCompare(a.meeting_date));
  $("meetings").replaceChildren(ms.length ? table(["Datum", "Art", "Beteiligte", "Notiz"], ms.map((m) => [
    day(m.meeting_date), (L.meeting_types || {})[m.meeting_type] || m.meeting_type,
    m.participants.map((p) => (L.participants || {})[p] || p).join(", ") || "–",
    el("div", { class: "note" }, m.note || "–"),
  ])) : el("p", { class: "muted" }, "Noch keine Gespräche oder Kontakte erfasst."));

  const x = detail.exit;
  $("exit").replaceChildren(x ? el("dl", { class: "facts" },
    el("dt", {}, "Austritt"), el("dd", {}, day(x.exit_date)),
    el("dt", {}, "Grund"), el("dd", {}, (L.exit_reasons || {})[x.reason] || x.reason),
    el("dt", {}, "Verbleib"), el("dd", {}, (L.destinations || {})[x.destination] || x.destination),
    ...(x.company_id ? [el("dt", {}, "Betrieb"), el("dd", {}, detail.exit_company_name || x.company_id)] : []),
    el("dt", {}, "Klebeeffekt"), el("dd", {}, x.former_internship_company ? "ja – früherer Praktikumsbetrieb" : "nein"),
  ) : el("p", { class: "muted" }, "Kein Austritt erfasst."));

  for (const id of ["new-internship", "new-meeting"]) $(id).hidden = readOnly;
  $("new-exit").hidden = readOnly || Boolean(x);
}

// ------------------------------------------------------------------ company directory
async function searchCompanies(preselect) {
  const q = $("company-search").value.trim();
  const r = await api("GET", `companies${q ? `?${new URLSearchParams({ q })}` : ""}`);
  const list = r.status === 200 ? r.body : [];
  const select = $("company-select");
  select.replaceChildren(el("option", { value: "" }, list.length ? "– bitte wählen –" : "kein Betrieb gefunden"),
    ...list.map((c) => el("option", { value: c.company_id }, `${c.name}, ${c.town}`)));
  if (preselect) select.value = preselect;
}

async function saveCompany() {
  $("nc-error").textContent = "";
  const body = { name: $("nc-name").value, town: $("nc-town").value, sector: $("nc-sector").value };
  for (const [k, id] of [["contact_person", "nc-contact"], ["phone", "nc-phone"], ["email", "nc-email"]]) {
    if ($(id).value.trim()) body[k] = $(id).value;
  }
  const r = await api("POST", "companies", body, { "Idempotency-Key": newKey() });
  if (r.status !== 201) {
    $("nc-error").textContent = problem(r, "Der Betrieb konnte nicht aufgenommen werden.");
    return;
  }
  $("company-search").value = r.body.name;
  await searchCompanies(r.body.company_id);
  $("new-company").open = false;
  for (const id of ["nc-name", "nc-town", "nc-contact", "nc-phone", "nc-email"]) $(id).value = "";
  if (!$("i-career").value) $("i-career").value = r.body.sector;
}

// ------------------------------------------------------------------ internships
function showOnly(formId) {
  for (const f of ["internship-form", "end-form", "meeting-form", "exit-form"]) $(f).hidden = f !== formId;
  $(formId).querySelector(".error").textContent = "";
  $(formId).scrollIntoView({ block: "nearest" });
}

function syncModel() {
  $("i-weekdays-box").hidden = $("i-model").value !== "weekly_days";
}

async function openInternshipForm(internship = null) {
  editing = internship;
  $("internship-form-title").textContent = internship ? "Praktikum ändern" : "Praktikum erfassen";
  $("company-search").value = internship ? (internship.company_name || "") : "";
  await searchCompanies(internship && internship.company_id);
  $("i-career").value = internship ? internship.career_field : ((current.intake && current.intake.career_fields || [])[0] || "");
  $("i-model").value = internship ? internship.model : "weekly_days";
  for (const box of $("i-weekdays").querySelectorAll("input")) box.checked = internship ? internship.weekdays.includes(box.value) : false;
  $("i-start").value = internship ? internship.start_date : today();
  $("i-end").value = internship && internship.end_date ? internship.end_date : "";
  $("i-days").value = internship ? internship.days_completed : 0;
  $("i-contact").value = internship && internship.contact_person ? internship.contact_person : "";
  $("i-task").value = internship && internship.learning_task ? internship.learning_task : "";
  syncModel();
  showOnly("internship-form");
}

async function submitInternship(ev) {
  ev.preventDefault();
  const body = {
    company_id: $("company-select").value || null, career_field: $("i-career").value, model: $("i-model").value,
    weekdays: $("i-model").value === "weekly_days" ? checked($("i-weekdays")) : [],
    start_date: $("i-start").value || null, end_date: $("i-end").value || null,
    days_completed: Number($("i-days").value || 0),
    learning_task: $("i-task").value.trim() || null, contact_person: $("i-contact").value.trim() || null,
  };
  if (!body.company_id) {
    $("internship-error").textContent = "Bitte einen Betrieb aus dem Verzeichnis wählen oder neu aufnehmen.";
    return;
  }
  let r;
  if (editing) {
    r = await api("PATCH", `students/${current.id}/internships/${editing.internship_id}`, body);
  } else {
    for (const k of ["end_date", "learning_task", "contact_person"]) if (body[k] === null) delete body[k];
    r = await api("POST", `students/${current.id}/internships`, body, { "Idempotency-Key": newKey() });
  }
  if (r.status !== 200 && r.status !== 201) {
    $("internship-error").textContent = problem(r, "Das Praktikum konnte nicht gespeichert werden.");
    return;
  }
  await openStudent(current.id);
}

function openEndForm(internship) {
  editing = internship;
  $("e-date").value = internship.end_date && internship.end_date <= today() ? internship.end_date : today();
  $("e-days").value = internship.days_completed;
  $("e-reason").value = "completed";
  showOnly("end-form");
}

async function submitEnd(ev) {
  ev.preventDefault();
  const r = await api("POST", `students/${current.id}/internships/${editing.internship_id}/end`, {
    end_date: $("e-date").value || null, days_completed: Number($("e-days").value || 0), end_reason: $("e-reason").value });
  if (r.status !== 200) {
    $("end-error").textContent = problem(r, "Das Praktikum konnte nicht beendet werden.");
    return;
  }
  await openStudent(current.id);
}

// ------------------------------------------------------------------ meetings and contacts
function openMeetingForm() {
  $("m-date").value = today();
  $("m-type").value = "goal_agreement";
  for (const box of $("m-participants").querySelectorAll("input")) box.checked = ["student", "companion"].includes(box.value);
  $("m-note").value = "";
  showOnly("meeting-form");
}

async function submitMeeting(ev) {
  ev.preventDefault();
  const body = { meeting_date: $("m-date").value || null, meeting_type: $("m-type").value, participants: checked($("m-participants")) };
  if ($("m-note").value.trim()) body.note = $("m-note").value;
  const r = await api("POST", `students/${current.id}/meetings`, body, { "Idempotency-Key": newKey() });
  if (r.status !== 201) {
    $("meeting-error").textContent = problem(r, "Das Gespräch konnte nicht gespeichert werden.");
    return;
  }
  await openStudent(current.id);
}

// ------------------------------------------------------------------ exit and destination (matching)
function syncDestination() {
  const withCompany = (L.with_company || []).includes($("x-destination").value);
  $("x-company").disabled = !withCompany;
  if (!withCompany) $("x-company").value = "";
}

function openExitForm() {
  $("x-date").value = today();
  $("x-reason").value = "completed";
  $("x-destination").value = "dual_training";
  const seen = new Map();
  for (const i of current.detail.internships) seen.set(i.company_id, `${i.company_name || i.company_id} (Praktikumsbetrieb)`);
  $("x-company").replaceChildren(el("option", { value: "" }, "– kein Betrieb / anderer –"),
    ...[...seen].map(([id, name]) => el("option", { value: id }, name)));
  $("x-company").value = current.detail.internships.length ? current.detail.internships[current.detail.internships.length - 1].company_id : "";
  syncDestination();
  showOnly("exit-form");
}

async function submitExit(ev) {
  ev.preventDefault();
  const body = { exit_date: $("x-date").value || null, reason: $("x-reason").value, destination: $("x-destination").value };
  if ($("x-company").value) body.company_id = $("x-company").value;
  const r = await api("POST", `assignments/${current.id}/exit`, body);
  if (r.status !== 200 && r.status !== 201) {
    $("exit-error").textContent = problem(r, "Der Austritt konnte nicht gespeichert werden.");
    return;
  }
  // casework learns the exit from matching's event; the page shows it once it arrived
  for (let n = 0; n < 10; n++) {
    const d = await api("GET", `students/${current.id}`);
    if (d.status === 200 && d.body.exit) break;
    await new Promise((res) => setTimeout(res, 300));
  }
  await openStudent(current.id);
}

// ------------------------------------------------------------------ start
document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", onLogin);
  $("token-form").addEventListener("submit", onTokenLogin);
  $("logout").addEventListener("click", () => logout());
  $("office-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadList(); });
  $("search").addEventListener("input", renderList);
  $("status-filter").addEventListener("change", renderList);
  $("students").addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-open]");
    if (b) openStudent(b.dataset.open);
  });
  $("back").addEventListener("click", async () => {
    $("detail").hidden = true;
    $("list").hidden = false;
    await loadList();
  });
  $("internships").addEventListener("click", (ev) => {
    const find = (id) => current.detail.internships.find((i) => i.internship_id === id);
    const edit = ev.target.closest("[data-edit]");
    const end = ev.target.closest("[data-end]");
    if (edit) openInternshipForm(find(edit.dataset.edit));
    if (end) openEndForm(find(end.dataset.end));
  });
  for (const b of document.querySelectorAll("[data-cancel]")) b.addEventListener("click", () => { $(b.dataset.cancel).hidden = true; });
  fillSelect($("nc-sector"), L.career_fields || {});
  fillSelect($("i-career"), L.career_fields || {});
  fillSelect($("i-model"), L.internship_models || {});
  fillChecks($("i-weekdays"), L.weekdays || {}, "weekdays");
  fillSelect($("e-reason"), L.end_reasons || {});
  fillSelect($("m-type"), L.meeting_types || {});
  fillChecks($("m-participants"), L.participants || {}, "participants");
  fillSelect($("x-reason"), L.exit_reasons || {});
  fillSelect($("x-destination"), L.destinations || {});
  $("i-model").addEventListener("change", syncModel);
  $("x-destination").addEventListener("change", syncDestination);
  let timer = null;
  $("company-search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => searchCompanies(), 250); });
  $("nc-save").addEventListener("click", saveCompany);
  $("new-internship").addEventListener("click", () => openInternshipForm());
  $("internship-form").addEventListener("submit", submitInternship);
  $("end-form").addEventListener("submit", submitEnd);
  $("new-meeting").addEventListener("click", openMeetingForm);
  $("meeting-form").addEventListener("submit", submitMeeting);
  $("new-exit").addEventListener("click", openExitForm);
  $("exit-form").addEventListener("submit", submitExit);
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    try {
      if (decodeJwt(saved).exp * 1000 > Date.now()) startSession(saved);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) { sessionStorage.removeItem(TOKEN_KEY); }
  }
});
