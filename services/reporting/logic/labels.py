"""German labels of the report categories (codes from ``contracts.events`` / ``contracts.reference``)."""

from __future__ import annotations

from contracts import reference
from contracts.reference import AGE_BAND_LABELS, CAREER_FIELDS, GENDER_LABELS, SCHOOLS

__all__ = [
    "AGE_BAND_LABELS",
    "CAREER_FIELDS",
    "DESTINATIONS",
    "EXIT_REASONS",
    "GENDER_LABELS",
    "GERMAN_SUPPORT",
    "SCHOOLS",
    "STATUS_LABELS",
    "WAITLIST_REASONS",
    "WAIT_BUCKET_LABELS",
]

STATUS_LABELS = reference.STATUS_LABELS
EXIT_REASONS = reference.EXIT_REASON_LABELS
DESTINATIONS = reference.DESTINATION_LABELS
WITH_COMPANY_COLUMNS = ["im ehemaligen Praktikumsbetrieb", "anderer Betrieb / nicht zutreffend"]
GERMAN_SUPPORT: dict[str, str] = {"yes": "mit Sprachförderbedarf", "no": "ohne Sprachförderbedarf"}
WAITLIST_REASONS: dict[str, str] = {
    "no_capacity": "keine freie Kapazität",
    "no_companion_for_school": "keine Begleitung für die Schule",
    "no_consent": "Einwilligung fehlt",
    "no_active_companion": "keine Begleitung im Dienst",
}
WAIT_BUCKET_LABELS: dict[str, str] = {
    "0": "sofort zugeordnet",
    "1-7": "1 bis 7 Tage",
    "8-14": "8 bis 14 Tage",
    "15-28": "15 bis 28 Tage",
    "29+": "mehr als 28 Tage",
}
OTHER_SCHOOLS = "übrige Schulen"
