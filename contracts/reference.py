"""Reference data shared by all services: schools, career fields, languages.

Schools: the six vocational schools of Landkreis Ludwigsburg offering AV dual in 2026/27
(docs/architecture.md, public information of the Bildungsbüro).
"""

from __future__ import annotations

from datetime import date

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

AGE_BAND_LABELS: dict[str, str] = {
    "unter_16": "unter 16",
    "16": "16",
    "17": "17",
    "18": "18",
    "19_plus": "19 und älter",
}


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
