"""Contract tests: events ↔ subscription patterns ↔ topology consistency."""

from __future__ import annotations

import re

import pytest

from contracts import topology
from contracts.events import EVENTS, Source
from contracts.topology import FUNCTIONS, ROUTES, SUBSCRIPTIONS, TABLES

ALLOWED_PATTERN_KEYS = {"source", "detail-type"}


def matches(pattern: dict[str, list[str]], source: str, detail_type: str) -> bool:
    """Exact-match semantics of EventBridge for our (string list) patterns."""
    return source in pattern["source"] and detail_type in pattern["detail-type"]


def test_topology_is_consistent() -> None:
    topology.validate()


@pytest.mark.parametrize("sub", SUBSCRIPTIONS.values(), ids=lambda s: s.name)
def test_patterns_are_valid_eventbridge_patterns(sub: topology.Subscription) -> None:
    # moto accepts invalid patterns (DESIGN.md §5): check shape ourselves.
    p = sub.pattern()
    assert set(p) == ALLOWED_PATTERN_KEYS
    for values in p.values():
        assert values and all(isinstance(v, str) and v for v in values)
        assert values == sorted(set(values))
    assert all(re.fullmatch(r"avdual\.[a-z]+", s) for s in p["source"])


@pytest.mark.parametrize("sub", SUBSCRIPTIONS.values(), ids=lambda s: s.name)
def test_pattern_matches_exactly_the_subscribed_events(sub: topology.Subscription) -> None:
    wanted = {e.detail_type for e in sub.events}
    for spec in EVENTS.values():
        assert matches(sub.pattern(), spec.source.value, spec.detail_type) == (spec.detail_type in wanted)


def test_detail_types_are_past_tense_facts_and_sources_per_service() -> None:
    for dt, spec in EVENTS.items():
        assert dt == spec.detail_type
        assert re.fullmatch(r"[A-Z][A-Za-z]+(ed|Withdrawn)", dt), dt
        assert spec.source in Source


def test_every_published_event_has_a_producer_function() -> None:
    produced = {e.detail_type for f in FUNCTIONS.values() for e in f.publishes}
    consumed = {e.detail_type for s in SUBSCRIPTIONS.values() for e in s.events}
    assert consumed <= produced, consumed - produced


def test_functions_only_touch_their_own_services_tables() -> None:
    for f in FUNCTIONS.values():
        for t in f.tables:
            assert TABLES[t].service in (f.service, "platform"), (f.name, t)


def test_routes_point_at_api_functions() -> None:
    for r in ROUTES:
        assert FUNCTIONS[r.function].handler.endswith("handlers.api.handler")


def test_events_carry_no_direct_identifiers() -> None:
    forbidden = {"given_name", "family_name", "date_of_birth", "name", "email", "phone", "remark", "address"}
    for spec in EVENTS.values():
        assert not forbidden & set(spec.data_model.model_fields), spec.detail_type
