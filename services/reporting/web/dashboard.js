// AV dual – office dashboard. Plain JS, no build step. Text for people is German.
// Reads GET /dashboard/summary (office only): exact counts, the office's own view.
// CONFIG, $, session, api and startLogin (the shared login, header and session) come from
// common/webassets/session.js.
const NUMBER = new Intl.NumberFormat("de-DE");
const DECIMAL = new Intl.NumberFormat("de-DE", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

let schoolYear = null; // of the figures shown
let companionNames = {}; // companion_id -> name (staff), from the figures shown
const LABELS = CONFIG.labels || {};
const COST = new Intl.NumberFormat("de-DE", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

// ------------------------------------------------------------------ helpers
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return NUMBER.format(v);
  return String(v);
}

function cell(v, extra = "") {
  const suppressed = v === "<3" || v === "x";
  const td = el("td", { class: `n ${suppressed ? "supp" : ""} ${extra}`.trim() }, fmt(v));
  if (v === "<3") td.title = "Fallzahl 1 oder 2, aus Datenschutzgründen nicht ausgewiesen";
  if (v === "x") td.title = "Wert geheimgehalten, da sonst eine Fallzahl von 1 oder 2 berechnet werden könnte";
  return td;
}

function statTable(t, caption, rowHeader, totalLabel = "Insgesamt") {
  if (!t) return el("p", {}, "Keine Daten vorhanden.");
  const table = el("table", { class: "stat" }, el("caption", {}, caption));
  const head = el("tr", {}, el("th", { scope: "col" }, rowHeader),
    ...t.col_labels.map((c) => el("th", { scope: "col", class: "n" }, c)));
  if (t.row_totals) head.append(el("th", { scope: "col", class: "n" }, totalLabel));
  table.append(el("thead", {}, head));
  const body = el("tbody");
  t.row_labels.forEach((label, i) => {
    const tr = el("tr", {}, el("th", { scope: "row" }, label), ...t.cells[i].map((v) => cell(v)));
    if (t.row_totals) tr.append(cell(t.row_totals[i], "tot"));
    body.append(tr);
  });
  table.append(body);
  if (t.col_totals) {
    const tr = el("tr", {}, el("th", { scope: "row" }, totalLabel), ...t.col_totals.map((v) => cell(v)));
    if (t.row_totals) tr.append(cell(t.grand_total));
    table.append(el("tfoot", {}, tr));
  }
  return table;
}

function listTable(caption, header, rows, classOf = () => "") {
  const table = el("table", { class: "list" }, el("caption", {}, caption),
    el("thead", {}, el("tr", {}, ...header.map(([h, n]) => el("th", { scope: "col", class: n ? "n" : "" }, h)))));
  const body = el("tbody");
  for (const r of rows) {
    const cls = classOf(r);
    body.append(el("tr", cls ? { class: cls } : {},
      ...r.cells.map((v, i) => el("td", {
        class: header[i][1] ? (header[i][2] ? `n ${header[i][2](v)}` : "n") : null,
        "data-label": header[i][0],
      }, v instanceof Node ? v : fmt(v)))));
  }
  table.append(body);
  return table;
}

// ------------------------------------------------------------------ rendering
function signed(v) {
  if (v === null || v === undefined) return "–";
  return v > 0 ? `+${NUMBER.format(v)}` : v < 0 ? `−${NUMBER.format(-v)}` : "±0";
}

// Key figures as stock and flows of the running week: Wochenbeginn + Zugänge − Abgänge = Stand (exact counts).
function renderKpis(kpis, notes) {
  const box = $("kpis");
  const shown = kpis.filter((k) => ["intakes", "assigned", "waitlisted", "long_waits"].includes(k.key));
  box.replaceChildren(...shown.map((k) => el("div", { class: "kpi", "data-kpi": k.label },
    el("div", { class: "label" }, k.label),
    el("div", { class: "value" }, fmt(k.end)),
    el("div", { class: "prev" }, k.inflow === null
      ? `Wochenbeginn ${fmt(k.start)} · ${signed(k.change)}`
      : `Wochenbeginn ${fmt(k.start)} · +${fmt(k.inflow)} / −${fmt(k.outflow)} · ${signed(k.change)}`))));
  $("movement-notes").replaceChildren(...(notes || []).map((n) => el("li", {}, n)));
}

function renderWaitlist(w, chart) {
  const parts = [`${fmt(w.waiting)} Schülerinnen und Schüler warten auf eine Zuordnung`];
  if (w.waiting) parts.push(`davon ${fmt(w.longer_than_14_days)} länger als 14 Tage; längste Wartezeit ${fmt(w.longest_days)} Tage`);
  $("waitlist-summary").textContent = parts.join(", ") + ".";
  $("waitlist-figure").hidden = !chart;
  if (chart) $("waitlist-chart").src = chart;
  const rows = w.entries.map((e) => ({ days: e.days, cells: [studentButton(e), e.school_name, e.school, e.class_name, e.since.split("-").reverse().join("."), e.days, e.reason] }));
  $("waitlist-table").replaceChildren(rows.length
    ? listTable("Wartende (pseudonymisiert, längste Wartezeit zuerst)",
      [["Kennung"], ["Schule"], ["Kürzel"], ["Klasse"], ["seit"], ["Wartetage", true], ["Grund"]], rows,
      (r) => (r.days > 14 ? "warn" : r.days > 7 ? "attn" : ""))
    : el("p", {}, "Zurzeit wartet niemand."));
}

function renderCompanions(companions, target, chart) {
  companionNames = Object.fromEntries(companions.map((c) => [c.companion_id, c.name || c.companion_id]));
  $("caseload-figure").hidden = !chart;
  if (chart) $("caseload-chart").src = chart;
  const rows = companions.map((c) => {
    const util = c.capacity ? c.assigned / c.capacity : null;
    return { util, cells: [c.label, c.companion_id, c.schools, c.assigned, c.capacity,
      util === null ? "–" : `${Math.round(util * 100)} %`, c.fte === null ? "–" : DECIMAL.format(c.fte),
      c.fte ? DECIMAL.format(c.assigned / c.fte) : "–", companionButton(c)] };
  });
  $("companions-table").replaceChildren(rows.length
    ? listTable(`Fallzahl je Begleiter/in (Zielwert etwa ${target} je Vollzeitstelle)`,
      [["Begleiter/in"], ["Kürzel"], ["Schulen"], ["zugeordnet", true], ["Kapazität", true], ["Auslastung", true], ["VZÄ", true], ["je VZÄ", true], ["Ändern"]],
      rows, (r) => (r.util !== null && r.util >= 1 ? "warn" : r.util !== null && r.util >= 0.9 ? "attn" : ""))
    : el("p", {}, "Keine Begleiter/innen erfasst."));
}

// ------------------------------------------------------------------ casework (internships, meetings, Klebeeffekt)
function renderCasework(c) {
  $("casework").hidden = !c;
  if (!c) return;
  const k = c.klebeeffekt;
  const tile = (label, value, sub) => el("div", { class: "kpi", "data-kpi": label },
    el("div", { class: "label" }, label), el("div", { class: "value" }, fmt(value)), el("div", { class: "prev" }, sub));
  $("casework-kpis").replaceChildren(
    tile("mit Praktikum", c.with_internship, `von ${fmt(c.participants)} in Begleitung`),
    tile("Zielvereinbarungen geführt", c.goal_meetings_total.done, `fällig bis heute ${fmt(c.goal_meetings_total.due)}`),
    tile("Ausbildungsbeginne", k.training_starts, "duale Ausbildung"),
    tile("Klebeeffekt", k.in_former_internship_company, `im früheren Praktikumsbetrieb · ${k.share}`));
  $("casework-internships").replaceChildren(statTable(c.internships_per_student, "Praktika je Schülerin / Schüler", "Schule"));
  $("casework-months").replaceChildren(c.without_internship_by_month
    ? statTable(c.without_internship_by_month, "Schülerinnen und Schüler ohne Praktikum nach Monat", "Monat")
    : el("p", {}, "Noch keine Monate mit Schülerinnen und Schülern in Begleitung."));
  const t = c.goal_meetings_total;
  const rows = c.goal_meetings.map((g) => ({
    cells: [g.name, g.companion_id, g.students, g.done, g.due, g.behind, g.share] }));
  if (rows.length) rows.push({ cells: ["Insgesamt (alle Begleitungen)", "", t.students, t.done, t.due, t.due - t.done, c.goal_meetings_share] });
  $("casework-meetings").replaceChildren(rows.length
    ? listTable(`Zielvereinbarungsgespräche je Begleitung: die ${c.goal_meetings.length} mit dem größten Rückstand (höchstens ${c.goal_meetings_limit}; die letzte Zeile zählt alle; negativ: mehr geführt als bis heute fällig)`,
      [["Begleiter/in"], ["Kürzel"], ["Schüler/innen", true], ["geführt", true], ["fällig", true], ["Rückstand", true], ["Anteil", true]], rows)
    : el("p", {}, "Keine Begleitung mit Schülerinnen und Schülern."));
}

function render(s) {
  schoolYear = s.school_year;
  const asOf = new Date(s.as_of);
  $("stand").textContent = `Schuljahr ${s.school_year} · Stand ${asOf.toLocaleString("de-DE", { dateStyle: "medium", timeStyle: "short" })} · ${s.week.label}`;
  renderKpis(s.kpis, s.movement_notes);
  $("status-table").replaceChildren(statTable(s.status_by_school, "Anmeldungen nach Schule und Bearbeitungsstand", "Schule", "Insgesamt"));
  $("new-title").textContent = `Neu in ${s.week.label}`;
  $("new-table").replaceChildren(statTable(s.new_this_week, `Ereignisse in ${s.week.label} nach Schule (wer angemeldet und zugeordnet wurde, zählt in beiden Spalten)`, "Schule"));
  renderWaitlist(s.waitlist, s.charts && s.charts.waitlist_trend);
  renderCompanions(s.companions, s.target_per_fte, s.charts && s.charts.caseload);
  renderCasework(s.casework);
}

async function load() {
  $("app-error").textContent = "";
  const btn = $("refresh");
  btn.disabled = true;
  try {
    const r = await api("GET", "dashboard/summary");
    if (!session) return;
    if (r.status !== 200) {
      $("app-error").textContent = r.status === 403 ? "Keine Berechtigung." : "Die Zahlen konnten nicht geladen werden.";
      return;
    }
    render(r.body);
    document.body.dataset.loaded = "true";
  } catch (_) {
    $("app-error").textContent = "Der Server ist nicht erreichbar.";
  } finally {
    btn.disabled = false;
  }
}

// ------------------------------------------------------------------ report files (GET /reports/{id}/files/{format})
const FORMAT_TEXT = { pdf: "PDF", xlsx: "Excel", html: "HTML" };
// API Gateway returns a file as bytes only when Accept names its media type (binary media types of the API)
const ACCEPT = {
  pdf: "application/pdf",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  html: "text/html",
};

async function downloadFile(reportId, format) {
  const resp = await fetch(`${API}reports/${encodeURIComponent(reportId)}/files/${format}`, {
    headers: { Authorization: `Bearer ${session.token}`, Accept: ACCEPT[format] },
  });
  if (resp.status === 401) { logout("Die Anmeldung ist abgelaufen. Bitte erneut anmelden."); return false; }
  if (!resp.ok) return false;
  const blob = await resp.blob();
  const disposition = resp.headers.get("Content-Disposition") || "";
  const name = (/filename="([^"]+)"/.exec(disposition) || [])[1] || `Bericht-${reportId}.${format}`;
  const a = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  return true;
}

function reportLine(report, text) {
  const line = el("span", { "data-report": report.report_id }, `${text} Herunterladen: `);
  report.formats.forEach((f, i) => {
    if (i) line.append(" · ");
    const b = el("button", { type: "button", class: "link", "data-format": f }, FORMAT_TEXT[f] || f);
    b.addEventListener("click", async () => {
      if (!(await downloadFile(report.report_id, f))) b.after(" (Download fehlgeschlagen)");
    });
    line.append(b);
  });
  for (const why of Object.values(report.unavailable || {})) line.append(el("div", { class: "muted" }, why));
  return line;
}

// a link from a report e-mail: /dashboard#bericht=<id>&format=pdf opens the report and downloads the file
async function openReportFromLink() {
  const params = new URLSearchParams(location.hash.slice(1));
  const reportId = params.get("bericht");
  if (!reportId || !session) return;
  const box = $("report-result");
  box.hidden = false;
  const r = await api("GET", `reports/${encodeURIComponent(reportId)}`);
  if (r.status !== 200) {
    box.textContent = "Dieser Bericht wurde nicht gefunden.";
    return;
  }
  box.replaceChildren(reportLine(r.body, `${r.body.period_label}: Bericht ${r.body.report_id}.`));
  const format = params.get("format");
  if (format && r.body.formats.includes(format)) await downloadFile(reportId, format);
  history.replaceState(null, "", location.pathname + location.search);
}

async function createReport(btn, request, waiting) {
  btn.disabled = true;
  const box = $("report-result");
  box.hidden = false;
  box.textContent = waiting;
  try {
    const r = await api("POST", "reports", { json: request });
    if (r.status !== 201) {
      box.textContent = "Der Bericht konnte nicht erstellt werden.";
      return;
    }
    box.replaceChildren(reportLine(r.body,
      `${r.body.period_label}: Bericht ${r.body.report_id} erstellt${r.body.emailed ? " und per E-Mail versandt" : ""}.`));
  } catch (_) {
    box.textContent = "Der Server ist nicht erreichbar.";
  } finally {
    btn.disabled = false;
  }
}

function makeReport() {
  return createReport($("make-report"), { report_type: "weekly", period: "this_week" }, "Der Wochenbericht wird erstellt …");
}

// The school-year report leaves the office (steering group): ordered after a confirmation.
async function orderYearReport() {
  const ok = await confirmAction("Schuljahresbericht bestellen?",
    [`Der Schuljahresbericht ${schoolYear} wird jetzt erstellt und an das Postfach des Bildungsbüros gesendet.`,
      "Er ist für die Steuerungsgruppe bestimmt: Fallzahlen von 1 oder 2 sind darin gesperrt."],
    "Bericht bestellen");
  if (!ok) return;
  await createReport($("order-year-report"), { report_type: "school_year", school_year: schoolYear },
    "Der Schuljahresbericht wird erstellt …");
}

// ------------------------------------------------------------------ office actions (confirmed; the services audit them)
// A modal confirmation: resolves true when the office confirms.
function confirmAction(title, paragraphs, okLabel) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").replaceChildren(...paragraphs.map((t) => (t instanceof Node ? t : el("p", {}, t))));
  $("confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

function errorText(r, fallback) {
  const b = r.body || {};
  const fields = (b.errors || []).map((e) => e.message);
  return fields.length ? fields.join(" ") : (b.message || fallback);
}

function label(table, code) {
  return ((LABELS[table] || {})[code]) || code;
}

function germanDate(iso) {
  return iso ? iso.slice(0, 10).split("-").reverse().join(".") : "–";
}

// The waitlist's reference opens the intake (GET /intakes/{id}: the intake service audits the read).
function studentButton(entry) {
  const b = el("button", { type: "button", class: "link", "data-intake": entry.intake_id,
    title: "Anmeldung öffnen (der Zugriff wird protokolliert)" }, entry.ref);
  b.addEventListener("click", () => openStudent(entry.intake_id));
  return b;
}

async function openStudent(intakeId) {
  const dialog = $("student-dialog");
  $("student-title").textContent = "Anmeldung";
  $("student-state").textContent = "Wird geladen …";
  $("student-facts").replaceChildren();
  $("choice").hidden = true;
  dialog.showModal();
  const r = await api("GET", `intakes/${encodeURIComponent(intakeId)}`);
  if (!session) return;
  if (r.status !== 200) {
    $("student-state").textContent = r.status === 404 ? "Diese Anmeldung gibt es nicht (mehr)."
      : errorText(r, "Die Anmeldung konnte nicht geladen werden.");
    return;
  }
  const v = r.body;
  const st = v.student;
  $("student-title").textContent = st ? `${st.given_name} ${st.family_name}` : "Anmeldung (gelöscht)";
  $("student-state").textContent = "";
  const facts = [
    ["Kennung", v.intake_id],
    ["Stand", label("status", v.status)],
    ["Schule", label("schools", v.school_id)],
    ["Klasse", `${v.class_name} (Schuljahr ${v.school_year})`],
    ["Bildungsgang", label("track", v.track)],
    ["Eingereicht", `${germanDate(v.submitted_at)} von ${v.submitted_by}`],
  ];
  if (st) {
    facts.push(["Geburtsdatum", germanDate(st.date_of_birth)], ["Geschlecht", label("gender", st.gender)],
      ["Sprachen", (st.languages || []).map((c) => label("languages", c)).join(", ") || "–"]);
  }
  facts.push(["Berufsfelder", (v.career_fields || []).map((c) => label("career_fields", c)).join(", ") || "–"],
    ["Wunschberuf", v.wished_job || "–"],
    ["Abschluss bei Eintritt", v.certificate_on_entry ? label("certificate", v.certificate_on_entry) : "–"],
    ["Sprachförderung Deutsch", v.german_support ? "ja" : "nein"]);
  if (v.companion_id) facts.push(["Begleitung", companionNames[v.companion_id] || v.companion_id]);
  $("student-facts").replaceChildren(...facts.flatMap(([k, val]) => [el("dt", {}, k), el("dd", {}, val)]));
  if (["waitlisted", "assigned"].includes(v.status)) await loadOptions(v.intake_id);
}

// The office chooses a student's companion (GET /assignments/{id}/options, POST /assignments/{id}/companion):
// every companion of the school with the cost of that choice and why it is (not) allowed.
let choiceIntake = null;

function explanationText(explanation, criteria) {
  return Object.entries(explanation).filter(([, v]) => v).map(([k, v]) => `${criteria[k] || k} ${COST.format(v)}`)
    .join(", ") || "keine Kosten";
}

async function loadOptions(intakeId) {
  choiceIntake = intakeId;
  const r = await api("GET", `assignments/${encodeURIComponent(intakeId)}/options`);
  if (!session || r.status !== 200) return;
  const o = r.body;
  const rows = o.options.map((c) => {
    const radio = el("input", { type: "radio", name: "choice", value: c.companion_id,
      "aria-label": `${c.name} wählen` });
    radio.disabled = !c.allowed || c.current;
    return { best: c.best, cells: [radio, c.name + (c.current ? " (jetzt)" : "") + (c.best ? " – Vorschlag des Modells" : ""),
      `${NUMBER.format(c.used)} / ${NUMBER.format(c.capacity)}`, COST.format(c.cost),
      c.allowed ? explanationText(c.explanation, o.criteria) : c.violations.join(" ")] };
  });
  $("choice-table").replaceChildren(listTable("Mögliche Begleitungen (Kosten: niedriger ist besser)",
    [["Wahl"], ["Begleiter/in"], ["belegt / Kapazität", true], ["Kosten", true], ["Zusammensetzung bzw. warum nicht"]],
    rows, (row) => (row.best ? "best" : "")));
  const reasons = LABELS.office_reasons || {};
  $("choice-reason").replaceChildren(...Object.entries(reasons).map(([k, t]) => el("option", { value: k }, t)));
  $("choice-note").value = "";
  $("choice-state").textContent = "";
  $("choice").hidden = false;
}

async function chooseCompanion() {
  const picked = document.querySelector('#choice-table input[name="choice"]:checked');
  if (!picked) {
    $("choice-state").textContent = "Bitte eine Begleitung wählen.";
    return;
  }
  const reason = $("choice-reason").value;
  const name = companionNames[picked.value] || picked.value;
  const ok = await confirmAction(`${name} zuordnen?`,
    [`Die Schülerin / der Schüler ${$("student-title").textContent} wird ${name} zugeordnet.`,
      `Grund: ${label("office_reasons", reason)}.`], "Zuordnen");
  if (!ok) return;
  const body = { companion_id: picked.value, reason };
  if ($("choice-note").value.trim()) body.note = $("choice-note").value.trim();
  const r = await api("POST", `assignments/${encodeURIComponent(choiceIntake)}/companion`, { json: body });
  if (!session) return;
  if (r.status !== 200) {
    $("choice-state").textContent = errorText(r, "Die Zuordnung ist fehlgeschlagen.");
    return;
  }
  const chosen = r.body.chosen;
  const best = r.body.best;
  const done = `Zugeordnet: ${chosen.name} · Kosten ${COST.format(chosen.cost)}` +
    (best && best.companion_id !== chosen.companion_id ? ` (Vorschlag des Modells: ${best.name}, ${COST.format(best.cost)})` : "") +
    ". Die Zahlen folgen in einigen Sekunden.";
  await loadOptions(choiceIntake); // reloading the options clears the state line: say what happened after it
  $("choice-state").textContent = done;
  setTimeout(() => { if (session) load(); }, 3000); // the figures follow the matching events
}

// Capacity and leave of a companion (PATCH /companions/{id}): a changed capacity or absence takes effect at
// once in matching — waiting students get freed places, students of an absent companion move.
let companionEdit = null; // {companion, patch, summary}

function companionButton(c) {
  const b = el("button", { type: "button", class: "link", "data-companion": c.companion_id,
    "aria-label": `${c.name || c.companion_id}: Kapazität oder Abwesenheit ändern` }, "Ändern");
  b.addEventListener("click", () => editCompanion(c.companion_id));
  return b;
}

function leaveText(p) {
  return `${germanDate(p.start)} bis ${germanDate(p.end)}`;
}

async function editCompanion(companionId) {
  $("companion-state").textContent = "";
  const r = await api("GET", `companions/${encodeURIComponent(companionId)}`);
  if (!session) return;
  if (r.status !== 200) {
    $("companion-state").textContent = errorText(r, "Die Begleitung konnte nicht geladen werden.");
    return;
  }
  const c = r.body;
  companionEdit = { companion: c };
  $("companion-title").textContent = `Begleitung ändern: ${c.name} (${c.companion_id})`;
  $("companion-capacity").value = c.capacity;
  $("leave-start").value = $("leave-end").value = "";
  $("companion-error").textContent = "";
  $("companion-leaves").replaceChildren(...(c.leave_periods.length
    ? c.leave_periods.map((p) => el("li", {}, leaveText(p))) : [el("li", {}, "keine eingetragen")]));
  $("companion-dialog").showModal();
}

// The edit dialog's values as a patch and its German summary; null (with a message) when incomplete.
function companionPatch() {
  const c = companionEdit.companion;
  const capacity = Number($("companion-capacity").value);
  const start = $("leave-start").value;
  const end = $("leave-end").value || start;
  if (!$("companion-capacity").value || !Number.isInteger(capacity) || capacity < 0 || capacity > 200) {
    $("companion-error").textContent = "Kapazität: bitte eine ganze Zahl von 0 bis 200 angeben.";
    return null;
  }
  if (!start && $("leave-end").value) {
    $("companion-error").textContent = "Abwesenheit: bitte auch den ersten Tag angeben.";
    return null;
  }
  const patch = {};
  const summary = [];
  if (capacity !== c.capacity) {
    patch.capacity = capacity;
    summary.push(`Kapazität ${c.capacity} → ${capacity} (zurzeit ${c.used} zugeordnet).`);
  }
  if (start) {
    patch.leave_periods = [...c.leave_periods, { start, end }];
    summary.push(`Abwesenheit ${leaveText({ start, end })} eintragen.`);
  }
  if (!summary.length) {
    $("companion-error").textContent = "Es wurde nichts geändert.";
    return null;
  }
  return { patch, summary };
}

// What a registry change does to the students (matching's RegistryChange): moves and placements as a table.
function changeTable(change) {
  const rows = [...change.moves, ...change.placements].map((m) => ({ cells: [`…${m.intake_id.slice(-8)}`,
    label("schools", m.school_id), m.class_name || "–", companionText(m.from_companion_id),
    companionText(m.to_companion_id), m.why || "–"] }));
  return rows.length ? listTable("Betroffene Schülerinnen und Schüler (pseudonymisiert)",
    [["Kennung"], ["Schule"], ["Klasse"], ["bisher"], ["neu"], ["warum"]], rows) : null;
}

// Preview (dry run) → confirmation with what the change does → apply (with allow_waitlist when students
// would lose their companion and the office confirmed exactly that).
async function checkCompanionChange() {
  const change = companionPatch();
  if (!change) return;
  const c = companionEdit.companion;
  const path = `companions/${encodeURIComponent(c.companion_id)}`;
  const preview = await api("PATCH", `${path}?dry_run=true`, { json: change.patch });
  if (!session) return;
  if (preview.status !== 200) {
    $("companion-error").textContent = errorText(preview, "Die Änderung konnte nicht geprüft werden.");
    return;
  }
  const effect = preview.body.change;
  $("companion-dialog").close();
  const table = changeTable(effect);
  const lose = effect.to_waitlist.length;
  const ok = await confirmAction(`Änderung für ${c.name} übernehmen?`, [...change.summary, effect.message,
    ...(table ? [table] : []), ...effect.notes,
    ...(lose ? [`Achtung: ${NUMBER.format(lose)} Schülerin(nen)/Schüler verlieren ihre Begleitung und kommen auf die Warteliste.`] : [])],
  "Änderung übernehmen");
  if (!ok) {
    $("companion-state").textContent = "Nicht geändert.";
    return;
  }
  $("companion-state").textContent = "Die Änderung wird gespeichert …";
  const r = await api("PATCH", effect.needs_confirmation ? `${path}?allow_waitlist=true` : path, { json: change.patch });
  if (!session) return;
  if (r.status !== 200) {
    $("companion-state").textContent = errorText(r, "Die Änderung konnte nicht gespeichert werden.");
    return;
  }
  $("companion-state").textContent = `Gespeichert: ${c.name} – ${change.summary.join(" ")} ${r.body.change.message} ` +
    "Die Zahlen oben folgen in einigen Sekunden.";
  setTimeout(() => { if (session) load(); }, 3000); // the figures follow the matching events
}

// Rebalance: a preview of the moves and their cost change, then apply the previewed plan.
let rebalancePlan = null;

function signedCost(v) {
  return v > 0 ? `+${COST.format(v)}` : v < 0 ? `−${COST.format(-v)}` : "±0,00";
}

function companionText(id) {
  return id ? (companionNames[id] || id) : "Warteliste";
}

function renderMoves(res) {
  const rows = res.moves.map((m) => ({ cells: [studentButton({ intake_id: m.intake_id, ref: `…${m.intake_id.slice(-8)}` }), label("schools", m.school_id),
    m.class_name || "–", companionText(m.from_companion_id), companionText(m.to_companion_id),
    m.cost_before === null ? "–" : COST.format(m.cost_before), m.cost_after === null ? "–" : COST.format(m.cost_after),
    signedCost(m.cost_change),
    ...(res.dry_run ? [] : [m.applied ? "angewendet" : `übersprungen${m.skipped_reason ? `: ${m.skipped_reason}` : ""}`])] }));
  const header = [["Kennung"], ["Schule"], ["Klasse"], ["bisher"], ["neu"], ["Kosten vorher", true],
    ["Kosten nachher", true], ["Veränderung", true, (v) => (v.startsWith("−") ? "neg" : v.startsWith("+") ? "pos" : "")]];
  if (!res.dry_run) header.push(["Ergebnis"]);
  $("rebalance-table").replaceChildren(rows.length
    ? listTable(res.dry_run ? "Vorgeschlagene Wechsel (Kosten: niedriger ist besser)" : "Wechsel der Neuverteilung", header, rows)
    : el("p", {}, "Keine Wechsel: die Zuordnung ist schon die beste."));
}

function planSummary(res) {
  return `${NUMBER.format(res.moves.length)} Wechsel; Gesamtkosten ${COST.format(res.total_cost_before)} → ` +
    `${COST.format(res.total_cost_after)} (${signedCost(res.cost_change)}); zugeordnet ` +
    `${NUMBER.format(res.assigned_before)} → ${NUMBER.format(res.assigned_after)} von ${NUMBER.format(res.students)}.`;
}

async function previewRebalance() {
  const btn = $("rebalance-preview");
  btn.disabled = true;
  $("rebalance-apply").hidden = true;
  $("rebalance-state").textContent = "Der Vorschlag wird berechnet …";
  try {
    const r = await api("POST", "assignments/rebalance?dry_run=true");
    if (!session) return;
    if (r.status !== 200) {
      $("rebalance-state").textContent = errorText(r, "Der Vorschlag konnte nicht berechnet werden.");
      return;
    }
    rebalancePlan = r.body;
    $("rebalance-state").textContent = `Vorschlag: ${planSummary(r.body)}`;
    renderMoves(r.body);
    $("rebalance-apply").hidden = !r.body.moves.length;
  } catch (_) {
    $("rebalance-state").textContent = "Der Server ist nicht erreichbar.";
  } finally {
    btn.disabled = false;
  }
}

async function applyRebalance() {
  const plan = rebalancePlan;
  if (!plan) return;
  const ok = await confirmAction("Neuverteilung anwenden?",
    [`${NUMBER.format(plan.moves.length)} Schülerinnen und Schüler wechseln die Begleitung, wie in der Vorschau ` +
      `gezeigt: Gesamtkosten ${COST.format(plan.total_cost_before)} → ${COST.format(plan.total_cost_after)}.`,
    "Die Wechsel werden sofort wirksam. Hat sich der Stand seit der Vorschau geändert, wird nichts angewendet."],
    "Neuverteilung anwenden");
  if (!ok) return;
  const btn = $("rebalance-apply");
  btn.disabled = true;
  $("rebalance-state").textContent = "Die Neuverteilung wird angewendet …";
  try {
    const q = new URLSearchParams({ dry_run: "false" });
    if (plan.plan_id) q.set("plan_id", plan.plan_id);
    const r = await api("POST", `assignments/rebalance?${q}`);
    if (!session) return;
    if (r.status === 409) {
      $("rebalance-state").textContent = "Der Stand hat sich seit der Vorschau geändert; nichts wurde angewendet. Bitte den Vorschlag neu berechnen.";
      btn.hidden = true;
      return;
    }
    if (r.status !== 200) {
      $("rebalance-state").textContent = errorText(r, "Die Neuverteilung ist fehlgeschlagen.");
      return;
    }
    rebalancePlan = null;
    btn.hidden = true;
    $("rebalance-state").textContent = `Angewendet: ${NUMBER.format(r.body.applied)} Wechsel` +
      (r.body.skipped ? `, ${NUMBER.format(r.body.skipped)} übersprungen (Stand geändert)` : "") +
      ". Die Zahlen oben folgen, sobald die Wechsel verarbeitet sind (einige Sekunden).";
    renderMoves(r.body);
    setTimeout(() => { if (session) load(); }, 3000); // the figures are updated from the matching events
  } catch (_) {
    $("rebalance-state").textContent = "Der Server ist nicht erreichbar.";
  } finally {
    btn.disabled = false;
  }
}

// ------------------------------------------------------------------ audit log (GET /audit, every service's entries)
const ACTION_TEXT = { create: "angelegt", read: "gelesen", list: "aufgelistet", update: "berichtigt",
  withdraw: "zurückgezogen", exit: "Austritt erfasst" };
const SERVICE_TEXT = { intake: "Anmeldungen", matching: "Zuordnung", reporting: "Berichte" };
const ROLE_TEXT = { office: "Bildungsbüro", school: "Schule", companion: "Begleitung" };
let auditCursor = null;

function isoDay(d) {
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

async function loadAudit(ev, more = false) {
  if (ev) ev.preventDefault();
  const params = new URLSearchParams({ from: $("audit-from").value, to: $("audit-to").value, limit: "50" });
  const intake = $("audit-intake").value.trim();
  if (intake) params.set("intake_id", intake);
  if (more && auditCursor) params.set("cursor", auditCursor);
  $("audit-state").textContent = "Wird geladen …";
  const r = await api("GET", `audit?${params}`);
  if (!session) return;
  if (r.status !== 200) {
    const errors = (r.body && r.body.errors) || [];
    $("audit-state").textContent = errors.length ? errors.map((e) => e.message).join(" ")
      : ((r.body && r.body.message) || "Das Protokoll konnte nicht geladen werden.");
    return;
  }
  const rows = r.body.items.map((e) => ({ cells: [
    new Date(e.at).toLocaleString("de-DE", { dateStyle: "short", timeStyle: "medium" }),
    e.actor_name, ROLE_TEXT[e.role] || e.role, ACTION_TEXT[e.action] || e.action,
    SERVICE_TEXT[e.service] || e.service, e.purpose,
    e.count, e.intake_ids.slice(0, 3).join(", ") + (e.count > 3 ? " …" : "")] }));
  const header = [["Zeit"], ["Konto"], ["Rolle"], ["Aktion"], ["Bereich"], ["Zweck"], ["Anzahl", true], ["Anmeldungen"]];
  const wrap = $("audit-table");
  const existing = wrap.querySelector("tbody");
  if (more && existing) {
    const extra = listTable("", header, rows).querySelector("tbody");
    existing.append(...extra.children);
  } else {
    wrap.replaceChildren(listTable("Zugriffe auf personenbezogene Daten (neueste zuerst)", header, rows));
  }
  auditCursor = r.body.next_cursor;
  $("audit-more").hidden = !auditCursor;
  $("audit-state").textContent = `${wrap.querySelectorAll("tbody tr").length} Einträge.`;
}

// ------------------------------------------------------------------ start
document.addEventListener("DOMContentLoaded", () => {
  $("refresh").addEventListener("click", load);
  $("make-report").addEventListener("click", makeReport);
  window.addEventListener("hashchange", openReportFromLink);
  $("order-year-report").addEventListener("click", orderYearReport);
  $("rebalance-preview").addEventListener("click", previewRebalance);
  $("rebalance-apply").addEventListener("click", applyRebalance);
  $("companion-check").addEventListener("click", checkCompanionChange);
  $("choice-submit").addEventListener("click", chooseCompanion);
  $("open-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = $("open-intake").value.trim().toUpperCase();
    if (/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) openStudent(id);
  });
  $("audit-from").value = $("audit-to").value = isoDay(new Date());
  $("audit-form").addEventListener("submit", loadAudit);
  $("audit-more").addEventListener("click", () => loadAudit(null, true));
  startLogin({
    roles: ["office"],
    onStart: async () => {
      await load();
      await openReportFromLink();
    },
    refusal: "Das Dashboard ist nur für das Bildungsbüro freigegeben.",
  });
});
