"""The demo scenario: companions and synthetic intakes (Faker, fixed seed) from the scenario file.

``data/scenario/ludwigsburg-2026-27.json`` holds the schools, companions and distributions;
``data/scenario/intakes.json`` holds the generated intake forms (regenerate with
``avdual scenario generate``; generation is deterministic for the file's seed).
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from faker import Faker

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "data" / "scenario" / "ludwigsburg-2026-27.json"
INTAKES = ROOT / "data" / "scenario" / "intakes.json"

NAME_LOCALES = {
    "de": "de_DE",
    "tr": "tr_TR",
    "ar": "ar_AA",
    "ru": "ru_RU",
    "uk": "uk_UA",
    "it": "it_IT",
    "hr": "hr_HR",
    "ro": "ro_RO",
    "fa": "fa_IR",
    "el": "el_GR",
}


def load_scenario(path: Path = SCENARIO) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def load_intakes(path: Path = INTAKES) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))


def _pick(rng: random.Random, dist: dict[str, float]) -> str:
    keys = sorted(dist)
    return rng.choices(keys, weights=[dist[k] for k in keys], k=1)[0]


def generate_intakes(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    """Deterministic intake forms (API ``POST /intakes`` bodies) for the scenario."""
    rng = random.Random(scenario["seed"])
    fakers = {lang: Faker(loc) for lang, loc in NAME_LOCALES.items()}
    for i, faker in enumerate(fakers.values()):
        faker.seed_instance(scenario["seed"] + i)
    dist = scenario["distributions"]
    start = date(int(scenario["school_year"][:4]), 8, 1)
    submitted = date.fromisoformat(scenario["submission_date"])
    forms: list[dict[str, Any]] = []
    for school_id, spec in scenario["schools"].items():
        for n in range(spec["intakes"]):
            age = int(_pick(rng, dist["age_at_school_year_start"]))
            dob = start - timedelta(days=age * 365 + rng.randint(1, 360) + age // 4)
            gender = _pick(rng, dist["gender"])
            lang = _pick(rng, dist["home_language"])
            fk = fakers[lang]
            given = (
                fk.first_name_female()
                if gender == "weiblich"
                else fk.first_name_male()
                if gender == "maennlich"
                else fk.first_name()
            )
            languages = ["de"] if lang == "de" else ["de", lang]
            fields: list[str] = []
            for _ in range(rng.choice([1, 2, 2, 3])):
                f = _pick(rng, dist["career_fields"])
                if f not in fields:
                    fields.append(f)
            birthday_pending = (submitted.month, submitted.day) < (dob.month, dob.day)
            adult = (submitted.year - dob.year - birthday_pending) >= 18
            forms.append(
                {
                    "school_id": school_id,
                    "school_year": scenario["school_year"],
                    "class_name": spec["classes"][n % len(spec["classes"])],
                    "student": {
                        "given_name": given,
                        "family_name": fk.last_name(),
                        "date_of_birth": dob.isoformat(),
                        "gender": gender,
                        "languages": languages,
                        "parent_contact_language": lang if lang != "de" and rng.random() < 0.6 else "de",
                    },
                    "german_support": lang != "de" and rng.random() < dist["german_support"] * 2,
                    "career_fields": fields,
                    "consent": {
                        "student": True,
                        "guardian": None if adult else True,
                        "text_version": scenario["consent_text_version"],
                        "given_on": (submitted - timedelta(days=rng.randint(0, 10))).isoformat(),
                    },
                }
            )
    rng.shuffle(forms)
    return forms


def write_intakes(path: Path = INTAKES) -> int:
    forms = generate_intakes(load_scenario())
    path.write_text(json.dumps(forms, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return len(forms)
