"""Crafted report contexts, shaped as the report builder will produce them (see the template headers)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined, select_autoescape

from contracts.reference import AGE_BAND_LABELS, GENDER_LABELS, SCHOOLS
from services.reporting.logic import charts
from services.reporting.logic.figures import NEW_COLUMNS
from services.reporting.logic.suppression import (
    change,
    exact_table,
    points,
    ratio,
    sum_display,
    suppress_linked,
)
from services.reporting.logic.templates import TEMPLATES, add_filters

SCHOOL_NAMES = list(SCHOOLS.values())
STATUS_COLUMNS = ["in Bearbeitung", "zugeordnet", "Warteliste", "beendet", "zurückgezogen"]


def environment(strict: bool = True) -> Environment:
    """Same loader and autoescaping as services/reporting/logic/templates.py."""
    return add_filters(
        Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html", "j2"]),
            undefined=StrictUndefined if strict else Undefined,
        )
    )


def weekly_context() -> dict[str, Any]:
    status = exact_table(
        SCHOOL_NAMES,
        STATUS_COLUMNS,
        [
            [2, 38, 1, 3, 0],
            [0, 36, 0, 2, 1],
            [4, 40, 3, 1, 0],
            [1, 22, 0, 0, 0],
            [3, 35, 2, 4, 2],
            [0, 30, 1, 0, 0],
        ],
    )
    new = exact_table(
        SCHOOL_NAMES,
        NEW_COLUMNS,
        [
            [3, 2, 1, 1, 0, 0],
            [0, 0, 0, 0, 1, 0],
            [5, 4, 0, 1, 0, 0],
            [1, 1, 0, 0, 0, 0],
            [6, 3, 1, 2, 1, 0],
            [4, 4, 0, 0, 0, 1],
        ],
        row_totals=False,
    )
    companions = [
        {"label": f"Begleiter/in {i:02d}", "schools": s, "assigned": a, "capacity": c, "fte": f}
        for i, (s, a, c, f) in enumerate(
            [
                ("RFS", 38, 40, 1.0),
                ("RFS, MPS", 41, 40, 1.0),
                ("MPS", 20, 20, 0.5),
                ("OWS", 35, 40, 1.0),
                ("OWS", 40, 40, 1.0),
                ("EBS", 22, 30, 0.75),
                ("CSS", 35, 40, 1.0),
                ("BSZBB", 30, 40, 1.0),
                ("MPS", 15, 20, 0.5),
                ("OWS, CSS", 5, 20, 0.5),
                ("RFS", 0, 40, 1.0),
            ],
            1,
        )
    ]
    end = date(2026, 11, 29)
    waitlist = [
        {
            "ref": f"…{k}",
            "school": s,
            "class_name": cl,
            "since": end - timedelta(days=d),
            "days": d,
            "reason": "keine freie Kapazität",
        }
        for k, s, cl, d in [
            ("7KQ2ZD", "OWS", "AVd1", 17),
            ("3M9XTA", "CSS", "AVd2", 3),
            ("Q1W8RP", "OWS", "AVd2", 9),
            ("ZX41HB", "BSZBB", "AV-1", 21),
            ("K8D2PL", "RFS", "AVd-a", 5),
            ("M2P0QS", "CSS", "AVd1", 1),
            ("B7T3VN", "OWS", "AVd1", 12),
        ]
    ]
    assigned = dict(zip(status.row_labels, status.column("zugeordnet"), strict=True))
    ftes = [1.5, 1.5, 2.25, 0.75, 1.25, 1.0]
    kpis = [
        {"key": k, "label": label, "start": a, "inflow": i, "outflow": o, "end": e, "change": e - a}
        for k, label, a, i, o, e in [
            ("intakes", "Anmeldungen insgesamt", 212, status.grand_total - 212, 0, status.grand_total),
            ("assigned", "zugeordnet", 190, 14, 3, 201),
            ("waitlisted", "auf der Warteliste", 5, 4, 2, 7),
            ("long_waits", "länger als 14 Tage wartend", 1, None, None, 2),
        ]
    ]
    trend = [0, 3, 5, 9, 12, 8, 6, 7, 4, 7, 8, 7]
    trend_points = [(date(2026, 9, 7) + timedelta(days=7 * i), n) for i, n in enumerate(trend)]
    return {
        "school_year": "2026/27",
        "week": {"label": "KW 48/2026", "start": date(2026, 11, 23), "end": end},
        "generated_at": datetime(2026, 11, 30, 7, 0),
        "report_id": "01KB5Z6Q0C3V7E8M2N4P6R8T0W",
        "kpis": kpis,
        "movement_notes": ["auf der Warteliste: 5 zu Wochenbeginn + 4 Zugänge − 2 Abgänge = 7."],
        "new_this_week": new,
        "status_by_school": status,
        "waitlist": waitlist,
        "companions": companions,
        "schools_caseload": [
            {"school": s, "assigned": assigned[s], "fte": f} for s, f in zip(SCHOOL_NAMES, ftes, strict=True)
        ],
        "target_per_fte": 40,
        "charts": {
            "caseload": charts.png_data_uri(charts.caseload_chart(companions)),
            "waitlist_trend": charts.png_data_uri(charts.waitlist_trend_chart(trend_points)),
        },
        "notes": ["Testbericht mit erfundenen Zahlen."],
        "issuer": "Bildungsbüro Landkreis Ludwigsburg",
    }


def school_year_context() -> dict[str, Any]:
    people = suppress_linked(
        {
            "gender": (
                SCHOOL_NAMES,
                list(GENDER_LABELS.values()),
                [
                    [14, 25, 1, 0],
                    [20, 18, 0, 0],
                    [9, 30, 0, 2],
                    [11, 15, 0, 0],
                    [17, 22, 0, 0],
                    [12, 21, 0, 1],
                ],
            ),
            "age": (
                SCHOOL_NAMES,
                list(AGE_BAND_LABELS.values()),
                [
                    [3, 10, 14, 8, 5],
                    [2, 12, 13, 9, 2],
                    [4, 11, 15, 10, 1],
                    [5, 9, 8, 3, 1],
                    [1, 13, 12, 9, 4],
                    [6, 10, 9, 5, 4],
                ],
            ),
            "german": (
                SCHOOL_NAMES,
                ["mit Sprachförderbedarf", "ohne Sprachförderbedarf"],
                [[20, 20], [2, 36], [15, 26], [12, 14], [18, 21], [17, 17]],
            ),
        },
        share="rows",
    )
    gender, age, german = people["gender"], people["age"], people["german"]
    dest_rows = [
        "Duale Ausbildung",
        "Schulische Ausbildung",
        "Einstiegsqualifizierung",
        "BQdual",
        "Berufsfachschule",
        "Weiterführende Schule",
        "Wiederholung / VABO",
        "Maßnahme der Arbeitsagentur",
        "Arbeit",
        "Freiwilligendienst",
        "Ohne Anschluss",
        "Verzogen",
        "Unbekannt",
    ]
    leavers = suppress_linked(
        {
            "exits": (
                SCHOOL_NAMES,
                ["regulär beendet", "abgebrochen", "verzogen", "zurückgezogen", "sonstiges"],
                [
                    [30, 4, 1, 0, 0],
                    [28, 2, 0, 1, 0],
                    [33, 5, 2, 0, 1],
                    [20, 3, 0, 0, 0],
                    [29, 6, 1, 1, 0],
                    [25, 2, 1, 0, 0],
                ],
            ),
            "destinations": (
                dest_rows,
                ["im ehemaligen Praktikumsbetrieb", "anderer Betrieb / nicht zutreffend"],
                [
                    [45, 25],
                    [0, 9],
                    [5, 6],
                    [0, 4],
                    [0, 45],
                    [0, 11],
                    [0, 7],
                    [0, 5],
                    [1, 6],
                    [0, 2],
                    [0, 15],
                    [0, 6],
                    [0, 3],
                ],
            ),
        },
        share="grand",
    )
    exits, destinations = leavers["exits"], leavers["destinations"]
    training = sum_display(
        [destinations.row_total("Duale Ausbildung"), destinations.row_total("Schulische Ausbildung")]
    )
    with_company = destinations.cell("Duale Ausbildung", "im ehemaligen Praktikumsbetrieb")
    transitions = [
        {
            "label": "Übergang in Ausbildung (dual und schulisch)",
            "count": training,
            "share": ratio(training, destinations.grand_total),
        },
        {
            "label": "davon im ehemaligen Praktikumsbetrieb",
            "count": with_company,
            "share": ratio(with_company, destinations.grand_total),
        },
    ]
    chart_items = list(zip(destinations.row_labels, destinations.row_totals or (), strict=True))
    training_share = ratio(training, destinations.grand_total)
    cohort: list[dict[str, Any]] = [
        {"label": label, "previous": prev, "current": cur, "delta": change(cur, prev)}
        for label, prev, cur in [
            ("Anmeldungen", 231, gender.grand_total),
            ("Austritte", 190, exits.grand_total),
            ("Übergang in Ausbildung", 61, training),
        ]
    ]
    cohort.append(
        {
            "label": "Anteil Übergang in Ausbildung",
            "previous": 0.321,
            "current": training_share,
            "delta": points(training_share, 0.321),
            "unit": "percent",
        }
    )
    return {
        "school_year": "2026/27",
        "previous_school_year": "2025/26",
        "generated_at": datetime(2027, 7, 31, 7, 0),
        "report_id": "01KQ0000000000000000000000",
        "summary": [
            {"label": "Anmeldungen", "value": gender.grand_total},
            {"label": "Austritte", "value": exits.grand_total},
            {"label": "Übergang in Ausbildung", "value": training},
            {"label": "Anteil Übergang in Ausbildung", "value": training_share, "unit": "percent"},
        ],
        "by_gender": gender,
        "by_age": age,
        "by_german_support": german,
        "exits": exits,
        "destinations": destinations,
        "transitions": transitions,
        "cohort": cohort,
        "charts": {
            "destinations": charts.png_data_uri(
                charts.destination_chart(chart_items, destinations.grand_total)
            ),
            "caseload": None,
        },
        "notes": [],
    }
