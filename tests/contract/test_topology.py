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
    # moto accepts invalid patterns (docs/architecture.md, "The local runtime"): check shape ourselves.
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
    staff = {
        "CompanionUpdated": {"name"}
    }  # the companion's name: staff, not student data (reports name them)
    for spec in EVENTS.values():
        assert not forbidden & set(spec.data_model.model_fields) - staff.get(spec.detail_type, set()), (
            spec.detail_type
        )
        if "intake_id" in spec.data_model.model_fields:  # an event about a student names nobody
            assert not forbidden & set(spec.data_model.model_fields), spec.detail_type


def test_every_outbox_table_has_one_relay_function_of_its_service() -> None:
    """The relay is a topology function (CDK deploys it, the runtime invokes it): of the table's service,
    triggered by the table's stream, publishing with the service's one source every event the service's
    functions write into that outbox, with no access to any table's items."""
    tables = topology.outbox_tables()
    assert tables and tables == [t for t in TABLES.values() if t.stream]
    for t in tables:
        relay = topology.outbox_relay(t)
        assert relay.name == f"{t.name}-relay" and relay.service == t.service
        assert relay.handler == topology.OUTBOX_RELAY_HANDLER
        assert relay.stream is not None and relay.stream.table == t.name and not relay.tables
        assert {e.source for e in relay.publishes} == {topology.outbox_source(t)}
        written = {e for f in FUNCTIONS.values() if t.name in f.tables for e in f.publishes}
        assert written and written <= set(relay.publishes)
        assert topology.env_for(relay) == {t.env_var: t.name, topology.EVENT_BUS_ENV: "bus"}


def test_stream_filters_name_only_the_dynamodb_key() -> None:
    """AWS docs, "Using event filtering with a DynamoDB event source": DynamoDB event source mappings only
    support filtering on the ``dynamodb`` key (the event name cannot be filtered on)."""
    for f in FUNCTIONS.values():
        for pattern in f.stream.filter_patterns if f.stream else ():
            assert set(pattern) == {"dynamodb"}, f.name
