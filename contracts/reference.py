"""Reference data shared by all services: schools, career fields, languages.

Schools: the six vocational schools of Landkreis Ludwigsburg offering AV dual in 2026/27
(docs/architecture.md, public information of the Bildungsbüro).
"""

from __future__ import annotations

from datetime import date
from typing import Any

SCHOOL_YEAR_PATTERN = r"^\d{4}/\d{2}$"
#: The declaration of a school year wherever the APIs take one (``Field``, ``Query``, ``Form``): pattern,
#: German label and the rule in words (``common.field_errors``). Plain data, so that the topology and the
#: functions that only move events read this module without pydantic (``common.text.SchoolYear``).
SCHOOL_YEAR: dict[str, Any] = {
    "pattern": SCHOOL_YEAR_PATTERN,
    "title": "Schuljahr",
    "examples": ["2026/27"],
    "json_schema_extra": {"x-rule": "erwartet JJJJ/JJ, z. B. 2026/27"},
}

SCHOOLS: dict[str, str] = {
    "RFS": "Robert-Franck-Schule Ludwigsburg",
    "MPS": "Mathilde-Planck-Schule Ludwigsburg",
    "OWS": "Oscar-Walcker-Schule Ludwigsburg",
    "EBS": "Erich-Bracher-Schule Kornwestheim",
    "CSS": "Carl-Schaefer-Schule Ludwigsburg",
    "BSZBB": "Berufliches Schulzentrum Bietigheim-Bissingen",
}

# Berufsfelder (career fields) as used by the Bundesagentur für Arbeit's BERUFENET grouping, simplified.
CAREER_FIELDS: dict[str, str] = {
    "metall": "Metall, Maschinenbau",
    "elektro": "Elektro",
    "kfz": "Fahrzeugtechnik",
    "bau": "Bau, Architektur, Holz",
    "handel": "Handel, Verkauf",
    "buero": "Wirtschaft, Verwaltung, Büro",
    "gesundheit": "Gesundheit, Pflege",
    "soziales": "Soziales, Erziehung",
    "gastro": "Gastronomie, Hotel, Lebensmittel",
    "logistik": "Lager, Logistik, Verkehr",
    "it": "IT, Medien",
    "koerperpflege": "Körperpflege, Friseur",
    "garten": "Garten, Landwirtschaft",
}

# ISO 639-1 codes of languages relevant for parent contact in the county.
LANGUAGES: dict[str, str] = {
    "de": "Deutsch",
    "tr": "Türkisch",
    "ar": "Arabisch",
    "ru": "Russisch",
    "uk": "Ukrainisch",
    "it": "Italienisch",
    "el": "Griechisch",
    "hr": "Kroatisch",
    "sr": "Serbisch",
    "pl": "Polnisch",
    "ro": "Rumänisch",
    "fa": "Persisch",
    "ku": "Kurdisch",
    "ti": "Tigrinya",
    "en": "Englisch",
    "sq": "Albanisch",
    "bg": "Bulgarisch",
    "es": "Spanisch",
    "fr": "Französisch",
}

GENDER_LABELS: dict[str, str] = {
    "weiblich": "weiblich",
    "maennlich": "männlich",
    "divers": "divers",
    "keine_angabe": "keine Angabe",
}

#: The withdrawal dialog's reasons (``contracts.events.WithdrawReason``); every one erases the personal data.
WITHDRAW_REASON_LABELS: dict[str, str] = {
    "consent_withdrawn": "Einwilligung widerrufen",
    "duplicate": "doppelt erfasst",
    "entered_in_error": "irrtümlich erfasst",
    "left_school": "Schule verlassen",
}

AGE_BAND_LABELS: dict[str, str] = {
    "unter_16": "unter 16",
    "16": "16",
    "17": "17",
    "18": "18",
    "19_plus": "19 und älter",
}

#: Destinations that name a company (training or work place from the directory): the ones that can be with a
#: former internship company (the Klebeeffekt).
DESTINATIONS_WITH_COMPANY: tuple[str, ...] = (
    "dual_training",
    "school_based_training",
    "einstiegsqualifizierung",
    "bqdual",
    "job",
)

#: German labels of the matching model's soft criteria (an assignment's explanation: criterion → cost), in the
#: order explanations list them.
MATCHING_CRITERIA_LABELS: dict[str, str] = {
    "continuity": "Kontinuität",
    "class_cohesion": "Klassenzusammenhalt",
    "career_fields": "Berufsfelder",
    "parent_language": "Sprache Elternkontakt",
    "gender_preference": "Geschlechtswunsch",
    "load_balance": "Auslastung",
}


# German labels of the codes the APIs take (Literal fields): error messages name the allowed values with
# these labels (``common.field_errors``), reports and pages show them.
STATUS_LABELS: dict[str, str] = {
    "submitted": "in Bearbeitung",
    "assigned": "zugeordnet",
    "waitlisted": "Warteliste",
    "ended": "beendet",
    "withdrawn": "zurückgezogen",
}
TRACK_LABELS: dict[str, str] = {"av_dual": "AV dual", "av_dual_fsr": "AV dual mit Weg zur Fachschulreife"}
CERTIFICATE_LABELS: dict[str, str] = {
    "none": "kein Abschluss",
    "hauptschulabschluss": "Hauptschulabschluss",
    "other": "anderer Abschluss",
}
INTERNSHIP_MODEL_LABELS: dict[str, str] = {"weekly_days": "Tage pro Woche", "block": "Blockpraktikum"}
EXIT_REASON_LABELS: dict[str, str] = {
    "completed": "regulär beendet",
    "dropped_out": "abgebrochen",
    "moved_away": "verzogen",
    "withdrawn": "zurückgezogen",
    "other": "sonstiges",
}
DESTINATION_LABELS: dict[str, str] = {
    "dual_training": "Duale Ausbildung",
    "school_based_training": "Schulische Ausbildung",
    "einstiegsqualifizierung": "Einstiegsqualifizierung",
    "bqdual": "BQdual",
    "bfs": "Berufsfachschule",
    "further_school": "Weiterführende Schule",
    "repeat_year_vabo": "Wiederholung / VABO",
    "agency_programme": "Maßnahme der Arbeitsagentur",
    "job": "Arbeit",
    "voluntary_service": "Freiwilligendienst",
    "nothing": "Ohne Anschluss",
    "moved_away": "Verzogen",
    "unknown": "Unbekannt",
}
REPORT_TYPE_LABELS: dict[str, str] = {"weekly": "Wochenbericht", "school_year": "Schuljahresbericht"}
REPORT_PERIOD_LABELS: dict[str, str] = {"this_week": "laufende Woche", "last_week": "letzte volle Woche"}
AUDIT_ACTION_LABELS: dict[str, str] = {
    "create": "angelegt",
    "read": "gelesen",
    "list": "aufgelistet",
    "update": "berichtigt",
    "withdraw": "zurückgezogen",
    "exit": "Austritt erfasst",
    "assign": "Begleitung gewählt",
}
OFFICE_REASON_LABELS: dict[str, str] = {
    "handover": "Übergabe an eine andere Begleitung",
    "continuity": "Kontinuität (frühere Begleitung)",
    "parent_language": "Sprache für den Elternkontakt",
    "class_cohesion": "Klassenzusammenhalt",
    "career_fields": "Berufsfelder / Betriebsnetzwerk",
    "student_request": "Wunsch der Schülerin / des Schülers",
    "school_request": "Wunsch der Schule",
    "workload": "Auslastung",
    "other": "Sonstiges",
}
#: Every code → label table; a set of allowed values is labelled by the table with exactly these codes.
CHOICE_LABELS: tuple[dict[str, str], ...] = (
    SCHOOLS,
    CAREER_FIELDS,
    LANGUAGES,
    GENDER_LABELS,
    AGE_BAND_LABELS,
    STATUS_LABELS,
    TRACK_LABELS,
    CERTIFICATE_LABELS,
    INTERNSHIP_MODEL_LABELS,
    WITHDRAW_REASON_LABELS,
    EXIT_REASON_LABELS,
    DESTINATION_LABELS,
    REPORT_TYPE_LABELS,
    REPORT_PERIOD_LABELS,
    AUDIT_ACTION_LABELS,
    OFFICE_REASON_LABELS,
)


def school_year_bounds(school_year: str) -> tuple[date, date]:
    """``"2026/27"`` → (2026-08-01, 2027-07-31): the school year in Baden-Württemberg runs
    1 August – 31 July (Schulgesetz BW § 26). Raises ``ValueError`` if the years are not consecutive."""
    start_year = int(school_year[:4])
    if int(school_year[5:7]) != (start_year + 1) % 100:
        raise ValueError(school_year)
    return date(start_year, 8, 1), date(start_year + 1, 7, 31)


def school_year_of(day: date) -> str:
    """The school year containing ``day`` (e.g. 2026-11-30 → ``"2026/27"``)."""
    start = day.year if day.month >= 8 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"
