"""``Idempotency-Key`` on POST: same key + same request → same response, one record, one event; same key +
other request → 409; keyed on parsed fields (whitespace and key order do not matter)."""

from __future__ import annotations

import json
from collections import Counter

from avdual.runtime import LocalRuntime
from tests.integration.test_intake_api import OFFICE, SCHOOL, intakes, outbox, post, subscribers

KEY = "3f6c1f0e-5d0b-4a57-9d7e-0d1c2b3a4f5e"


def test_double_submit_with_one_key_gives_one_record_and_one_event(rt: LocalRuntime, form: dict) -> None:
    first = post(rt, form, key=KEY)
    second = post(rt, form, key=KEY)
    assert first.status == second.status == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert len(intakes(rt)) == 1
    assert outbox(rt) == Counter({"IntakeSubmitted": 1})
    rt.drain()
    assert rt.stats.by_detail_type["IntakeSubmitted"] == subscribers("IntakeSubmitted")


def test_same_key_with_a_changed_body_is_409(rt: LocalRuntime, form: dict) -> None:
    assert post(rt, form, key=KEY).status == 201
    form["class_name"] = "AVd1b"
    r = post(rt, form, key=KEY)
    assert r.status == 409 and "Idempotency-Key" in r.json()["message"]
    assert len(intakes(rt)) == 1


def test_whitespace_and_key_order_do_not_matter(rt: LocalRuntime, form: dict) -> None:
    assert post(rt, form, key=KEY).status == 201
    reordered = {k: form[k] for k in reversed(list(form))}
    reordered["student"] = {k: form["student"][k] for k in reversed(list(form["student"]))}
    reordered["class_name"] = "  AVd1a "
    raw = json.dumps(reordered, indent=4, ensure_ascii=False)
    r = post(rt, raw=raw, key=KEY)
    assert r.status == 201 and r.headers.get("Idempotent-Replayed") == "true"
    assert len(intakes(rt)) == 1


def test_keys_are_per_caller_and_per_operation(rt: LocalRuntime, form: dict) -> None:
    a = post(rt, form, key=KEY, claims=SCHOOL)
    form["student"]["given_name"] = "Ayla"  # another student (the same one again would be a duplicate)
    b = post(rt, form, key=KEY, claims=OFFICE)  # another user who happens to use the same key
    assert a.status == b.status == 201 and a.json()["intake_id"] != b.json()["intake_id"]
    iid = a.json()["intake_id"]
    w = rt.api("POST", f"/intakes/{iid}/withdraw", body={}, claims=SCHOOL, headers={"Idempotency-Key": KEY})
    assert w.status == 200 and w.json()["status"] == "withdrawn"


def test_without_a_key_every_post_is_new(rt: LocalRuntime, form: dict) -> None:
    assert post(rt, form).status == 201
    form["student"]["given_name"] = "Ayla"  # another student: the same one again is a duplicate (409)
    assert post(rt, form).status == 201
    assert len(intakes(rt)) == 2


def test_a_failed_request_does_not_block_its_key(rt: LocalRuntime, form: dict) -> None:
    form["student"]["date_of_birth"] = "2030-01-01"
    assert post(rt, form, key=KEY).status == 422
    form["student"]["date_of_birth"] = "2010-05-17"
    assert post(rt, form, key=KEY).status == 201  # the corrected form may reuse the key
    assert len(intakes(rt)) == 1


def test_invalid_key_format_is_422(rt: LocalRuntime, form: dict) -> None:
    r = post(rt, form, key="x")
    assert r.status == 422 and r.json()["errors"][0]["field"].lower() == "idempotency-key"
    assert intakes(rt) == []


def test_withdraw_twice_publishes_once(rt: LocalRuntime, form: dict) -> None:
    iid = post(rt, form).json()["intake_id"]
    for _ in range(2):  # without a key: withdrawing is idempotent by itself
        r = rt.api("POST", f"/intakes/{iid}/withdraw", body={"reason": "duplicate"}, claims=SCHOOL)
        assert r.status == 200 and r.json()["withdrawn_reason"] == "duplicate"
    assert outbox(rt)["IntakeWithdrawn"] == 1
