"""Casework benchmark for ``make bench``: the companions' routes through the local gateway (API Gateway event
→ Lambda handler → DynamoDB on moto), as the page ``/begleitung`` calls them.

The demo scenario's intakes are submitted and assigned first; the companion with the largest caseload then
lists it, opens students, creates companies, records internships and meetings, and ends internships. Per
route: milliseconds per request (median, p95, max) and the AWS API calls one request makes (moto in-process,
so the times compare code paths, not AWS latency).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

ROUNDS = 20
OFFICE = {"sub": "office-bench", "cognito:groups": "office"}


def _claims(companion_id: str) -> dict[str, str]:
    return {
        "sub": f"begleitung-{companion_id.lower()}",
        "cognito:groups": "companion",
        "custom:companion_id": companion_id,
    }


def _time(rt: Any, name: str, calls: list[Callable[[], Any]], expect: int) -> dict[str, Any]:
    """Run ``calls`` one after the other; each must answer ``expect``."""
    ms: list[float] = []
    aws: list[int] = []
    for call in calls:
        before = sum(rt.api_calls.values())
        t0 = time.perf_counter()
        r = call()
        ms.append((time.perf_counter() - t0) * 1000)
        aws.append(sum(rt.api_calls.values()) - before)
        if r.status != expect:
            raise RuntimeError(f"{name}: {r.status} {r.body}")
    ms.sort()
    return {
        "requests": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[max(0, round(0.95 * len(ms)) - 1)], 1),
        "max_ms": round(ms[-1], 1),
        "aws_calls_per_request": round(statistics.mean(aws), 1),
    }


def bench_casework_routes() -> dict[str, Any]:
    from avdual.demo import seed_companions, submit_all
    from avdual.runtime import LocalRuntime
    from avdual.scenario import load_intakes, load_scenario
    from contracts.calendar import local_date

    scenario, forms = load_scenario(), load_intakes()
    with LocalRuntime(stage="bench-cw", log_level="ERROR") as rt:
        seed_companions(rt, scenario)
        rt.drain()
        submit_all(rt, forms)
        rt.drain()
        caseloads = Counter(a["companion_id"] for a in rt.scan("assignments") if a["status"] == "assigned")
        companion, size = caseloads.most_common(1)[0]
        students = sorted(
            a["intake_id"]
            for a in rt.scan("assignments")
            if a["status"] == "assigned" and a["companion_id"] == companion
        )[:ROUNDS]
        me = _claims(companion)
        today = local_date(rt.clock.now())
        api = rt.api
        out: dict[str, Any] = {"companion": companion, "caseload": size}

        def company(n: int) -> Callable[[], Any]:
            body = {"name": f"Betrieb {n:03d} GmbH", "town": "Ludwigsburg", "sector": "metall"}
            return lambda: api("POST", "/companies", body=body, claims=me)

        out["POST /companies"] = _time(rt, "POST /companies", [company(n) for n in range(ROUNDS)], 201)
        companies = api("GET", "/companies", claims=me).json()
        items = companies["items"] if isinstance(companies, dict) else companies
        company_id = items[0]["company_id"]

        def internship(sid: str) -> Callable[[], Any]:
            body = {
                "company_id": company_id,
                "career_field": "metall",
                "model": "weekly_days",
                "weekdays": ["mo", "di"],
                "start_date": (today - timedelta(days=14)).isoformat(),
                "days_completed": 4,
            }
            return lambda: api("POST", f"/students/{sid}/internships", body=body, claims=me)

        def meeting(sid: str) -> Callable[[], Any]:
            body = {
                "meeting_date": today.isoformat(),
                "meeting_type": "goal_agreement",
                "participants": ["student", "guardian", "companion"],
                "note": "Ziele besprochen.",
            }
            return lambda: api("POST", f"/students/{sid}/meetings", body=body, claims=me)

        out["POST /students/{id}/internships"] = _time(
            rt, "POST internships", [internship(s) for s in students], 201
        )
        out["POST /students/{id}/meetings"] = _time(rt, "POST meetings", [meeting(s) for s in students], 201)
        rt.drain()
        internships = {
            s: api("GET", f"/students/{s}", claims=me).json()["internships"][0]["internship_id"]
            for s in students
        }

        def end(sid: str) -> Callable[[], Any]:
            body = {
                "end_date": today.isoformat(),
                "end_reason": "completed",
                "days_completed": 6,
            }
            path = f"/students/{sid}/internships/{internships[sid]}/end"
            return lambda: api("POST", path, body=body, claims=me)

        out["POST /students/{id}/internships/{iid}/end"] = _time(
            rt, "end internship", [end(s) for s in students], 200
        )
        rt.drain()
        out["GET /students (caseload)"] = _time(
            rt, "GET /students", [lambda: api("GET", "/students", claims=me) for _ in range(ROUNDS)], 200
        )
        out["GET /students/{id}"] = _time(
            rt,
            "GET /students/{id}",
            [partial(api, "GET", f"/students/{s}", claims=me) for s in students],
            200,
        )
        out["GET /companies"] = _time(
            rt, "GET /companies", [lambda: api("GET", "/companies", claims=me) for _ in range(ROUNDS)], 200
        )
        out["GET /students?companion_id (office)"] = _time(
            rt,
            "GET /students (office)",
            [
                lambda: api("GET", "/students", query={"companion_id": companion}, claims=OFFICE)
                for _ in range(ROUNDS)
            ],
            200,
        )
        return out
