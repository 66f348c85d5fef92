"""The local runtime's changes to moto (avdual/runtime/moto_patches.py) change speed, not behaviour.

JSONPath parse cache: moto builds each rule target's input with jsonpath_ng for every event; the runtime
parses each path once. What the target receives must stay what AWS delivers: without an input transformer
"EventBridge passes the entire event to the target"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).
"""

from __future__ import annotations

import json

import boto3

from avdual.runtime import LocalRuntime


def test_the_jsonpath_parser_is_cached_while_a_runtime_runs(rt: LocalRuntime) -> None:
    import jsonpath_ng.ext

    assert jsonpath_ng.ext.parse("$.detail") is jsonpath_ng.ext.parse("$.detail")
    assert [m.value for m in jsonpath_ng.ext.parse("$.detail.n").find({"detail": {"n": 3}})] == [3]


def test_a_rule_target_without_input_transformer_still_receives_the_entire_event(rt: LocalRuntime) -> None:
    detail = {"metadata": {"event_id": "e1"}, "data": {"intake_id": "x", "n": 1, "nested": {"a": [1, 2]}}}
    for _ in range(2):  # the second event goes through the cached paths
        rt.put_event_raw("avdual.intake", "IntakeSubmitted", detail)
    url, _ = rt._queues["matching-intake-events"]
    msgs = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(msgs) == 2
    for m in msgs:
        event = json.loads(m["Body"])
        assert event["source"] == "avdual.intake"
        assert event["detail-type"] == "IntakeSubmitted"
        assert event["detail"] == detail
        assert {"id", "version", "time", "region", "resources"} <= set(event)  # moto omits "account"
