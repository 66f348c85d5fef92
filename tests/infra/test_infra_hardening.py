"""Security and reliability of the synthesized stack: cdk-nag, cfn-lint, IAM, KMS, DLQs, alarms, dashboard,
concurrency, the outbox relays' stream event source mappings. On the process's one synth (with cdk-nag,
tests/infra/cfn.py)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from contracts import topology as topo
from tests.infra.cfn import CONTEXT, STAGE
from tests.infra.cfn import Synthesized as Hardened
from tests.infra.cfn import as_list as _as_list
from tests.infra.cfn import ref as _ref

pytestmark = pytest.mark.infra

ALARM_EMAIL = CONTEXT["alarmEmail"]
PACKS = ("AwsSolutions", "Serverless")

#: Every kind of acknowledgment the stack may carry. A new kind (or a broader one) fails this
#: module until it is added here, i.e. until a reviewer has seen it. Reasons are in infra/nag.py.
EXPECTED_ACKNOWLEDGED_RULES = {
    "AwsSolutions-L1",  # python3.13 pinned with the Powertools layer (docs/architecture.md)
    "Serverless-LambdaLatestVersion",  # same
    "AwsSolutions-IAM5[Resource::*]",  # X-Ray (no resource-level permissions); relays' dynamodb:ListStreams
    "AwsSolutions-IAM5[Resource::<bucket>/*]",  # object actions need object ARNs (report bucket only)
    # one-time schedules get their names at run time: CreateSchedule on a name prefix in one group
    "AwsSolutions-IAM5[Resource::<one-time schedule>-*]",
    "AwsSolutions-IAM4[AmazonAPIGatewayPushToCloudWatchLogs]",  # account-level API Gateway logging role
    "Serverless-LambdaDLQ",  # synchronously invoked functions (API, SQS and DynamoDB stream event sources)
    "Serverless-LambdaEventSourceMappingDestination",  # SQS sources: the queue's redrive policy
    "Serverless-SQSRedrivePolicy",  # a DLQ has no DLQ
    "AwsSolutions-SQS3",  # DLQs of rules/relays/functions/subscriptions are not redrive targets
    "AwsSolutions-S1",  # the access-log bucket itself
    "AwsSolutions-APIG2",  # validation by the handlers' pydantic models
    "AwsSolutions-APIG3",  # WAF: operations decision (managed rules block class-list uploads)
    "AwsSolutions-APIG4",  # OPTIONS / public routes (/ pending authorizer, see below)
    "AwsSolutions-COG4",  # same
}


@pytest.fixture(scope="module")
def hard(synthesized: Hardened) -> Hardened:
    return synthesized


def _plugin_reports(hard: Hardened) -> dict[str, dict[str, Any]]:
    return {p["pluginName"]: p for p in hard.report.get("pluginReports", [])}


def _acknowledgments(hard: Hardened) -> list[dict[str, Any]]:
    return [
        {
            "pack": name,
            "rule": v["ruleName"],
            "id": v["acknowledgedId"],
            "reason": v["reason"],
            "at": v["acknowledgedAt"],
            "paths": [c["constructPath"] for c in v["violatingConstructs"]],
        }
        for name, p in _plugin_reports(hard).items()
        for v in p.get("suppressedViolations", [])
    ]


def _kind(rule: str) -> str:
    """``…IAM5[Resource::<ReportingReportsBucket62939512.Arn>/*]`` → ``…IAM5[Resource::<bucket>/*]``."""
    rule = re.sub(r"\[Resource::<[A-Za-z0-9]+\.Arn>/\*\]", "[Resource::<bucket>/*]", rule)
    rule = re.sub(
        r"\[Resource::arn:[^\]]*:schedule/[^/\]]+/[^/\]]+-\*\]", "[Resource::<one-time schedule>-*]", rule
    )
    return re.sub(r"\[Policy::.*/(\w+)\]", r"[\1]", rule)


# --------------------------------------------------------------------------- 1. cdk-nag
def test_cdk_nag_has_no_unacknowledged_findings(hard: Hardened) -> None:
    reports = _plugin_reports(hard)
    # both packs must report: a malformed acknowledgment was seen to drop a whole plugin report
    assert set(reports) == set(PACKS), f"plugin reports: {sorted(reports)}"
    findings = [
        f"{name}: {v['ruleName']} at {[c['constructPath'] for c in v['violatingConstructs']]}"
        for name, p in reports.items()
        for v in p["violations"]
    ]
    assert not findings, "\n".join(findings)
    assert all(p["conclusion"] == "success" for p in reports.values())
    assert hard.synth_error is None, hard.synth_error


def test_no_cdk_warning_or_error_annotations(hard: Hardened) -> None:
    manifest = json.loads((Path(hard.app.outdir) / "manifest.json").read_text())
    metadata = manifest["artifacts"][hard.stack.artifact_id].get("metadata", {})
    noisy = [
        (path, entry["type"], str(entry.get("data"))[:200])
        for path, entries in metadata.items()
        for entry in entries
        if entry["type"] in {"aws:cdk:warning", "aws:cdk:error"}
    ]
    assert not noisy, noisy


def test_acknowledgments_are_reasoned_narrow_and_reviewed(hard: Hardened) -> None:
    acks = _acknowledgments(hard)
    assert acks, "expected acknowledgments"
    stack_path = hard.stack.node.path
    listing = []
    for ack in acks:
        assert ack["id"].split("::", 1)[0] in PACKS, ack  # prefixed id (see infra/nag.py)
        assert len(ack["reason"]) >= 40, ack
        # resource level: attached to the violating resource or its L2 construct, never a stack/service
        assert ack["at"] != stack_path, ack
        for path in ack["paths"]:
            assert path.startswith(ack["at"] + "/") or path == ack["at"], ack
            assert path.count("/") - ack["at"].count("/") <= 2, ack
        if ack["rule"].startswith("AwsSolutions-IAM5"):
            assert "[" in ack["id"], f"IAM5 must name the wildcard: {ack}"
        listing.append(f"{ack['rule']:<70} {ack['at']}")
    unexpected = {_kind(a["rule"]) for a in acks} - EXPECTED_ACKNOWLEDGED_RULES
    assert not unexpected, f"new kinds of acknowledgment, review and list them: {sorted(unexpected)}"
    print("\n".join(sorted(listing)))  # visible with -s / in CI logs


def test_api_authorizer_acknowledgments_only_for_options_public_or_pending(hard: Hardened) -> None:
    has_authorizer = bool(hard.of_type("AWS::ApiGateway::Authorizer"))
    public = {(r.method, r.path) for r in topo.ROUTES if getattr(r, "public", False)}
    for ack in _acknowledgments(hard):
        if ack["rule"] not in {"AwsSolutions-APIG4", "AwsSolutions-COG4"}:
            continue
        for path in ack["paths"]:  # …/RestApi/Default/<path parts>/<METHOD>/Resource
            parts = path.split("/Default/", 1)[1].split("/")[:-1]
            method, resource = parts[-1], "/" + "/".join(parts[:-1])
            assert method == "OPTIONS" or (method, resource) in public or not has_authorizer, path


# --------------------------------------------------------------------------- 2. cfn-lint
def test_cfn_lint_is_clean_except_w3005(hard: Hardened) -> None:
    from cfnlint.api import ManualArgs, lint

    matches = lint(hard.template_text, config=ManualArgs(regions=["eu-central-1"], ignore_checks=["W3005"]))
    assert not matches, "\n".join(f"{m.rule.id} {m}" for m in matches)


# --------------------------------------------------------------------------- 3. IAM and API auth
def _identity_statements(hard: Hardened) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for lid, res in hard.resources.items():
        props = res.get("Properties", {})
        if res["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            out += [(lid, s) for s in _as_list(props["PolicyDocument"]["Statement"])]
        elif res["Type"] in {"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"}:
            for policy in props.get("Policies", []):
                out += [(lid, s) for s in _as_list(policy["PolicyDocument"]["Statement"])]
    return out


def _resource_policy_statements(hard: Hardened) -> list[tuple[str, dict[str, Any]]]:
    docs = {
        "AWS::SQS::QueuePolicy": "PolicyDocument",
        "AWS::S3::BucketPolicy": "PolicyDocument",
        "AWS::SNS::TopicPolicy": "PolicyDocument",
        "AWS::KMS::Key": "KeyPolicy",
        "AWS::Events::EventBusPolicy": "Statement",
    }
    out = []
    for lid, res in hard.resources.items():
        key = docs.get(res["Type"])
        if key and key in res.get("Properties", {}):
            doc = res["Properties"][key]
            out += [(lid, s) for s in _as_list(doc.get("Statement", doc))]
    return out


def _is_wildcard_action(action: Any) -> bool:
    return isinstance(action, str) and (action == "*" or action.endswith(":*"))


def _is_account_root(statement: dict[str, Any]) -> bool:
    return ":root" in json.dumps(statement.get("Principal", {}))


def test_no_iam_statement_allows_a_wildcard_action(hard: Hardened) -> None:
    statements = _identity_statements(hard)
    assert len(statements) > 20
    bad = [(lid, s) for lid, s in statements if any(_is_wildcard_action(a) for a in _as_list(s["Action"]))]
    assert not bad, bad
    assert not [s for _, s in statements if "NotAction" in s or "NotResource" in s]
    # resource policies: Deny s3:* / sqs:* without TLS is fine; an Allow may not use a wildcard action,
    # except the account-root statement of a key policy (AWS's default: delegates key access to IAM)
    for lid, s in _resource_policy_statements(hard):
        if s["Effect"] == "Allow" and any(_is_wildcard_action(a) for a in _as_list(s["Action"])):
            assert hard.resources[lid]["Type"] == "AWS::KMS::Key" and _is_account_root(s), (lid, s)
            assert s["Action"] == "kms:*" and "Condition" not in s


def test_resource_star_only_where_iam_cannot_scope(hard: Hardened) -> None:
    """Resource "*" only for X-Ray and dynamodb:ListStreams (matches the IAM5[Resource::*] acks)."""
    allowed = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "dynamodb:ListStreams"}
    for lid, s in _identity_statements(hard):
        if "*" in _as_list(s.get("Resource", [])):
            assert set(_as_list(s["Action"])) <= allowed, (lid, s)


def test_no_aws_managed_policies_on_function_roles(hard: Hardened) -> None:
    managed = {
        lid for lid, r in hard.of_type("AWS::IAM::Role").items() if r["Properties"].get("ManagedPolicyArns")
    }
    api_account_role = _ref(
        next(iter(hard.of_type("AWS::ApiGateway::Account").values()))["Properties"]["CloudWatchRoleArn"]
    )
    assert managed <= {api_account_role}


def _method_paths(hard: Hardened) -> dict[str, tuple[str, str]]:
    resources = hard.of_type("AWS::ApiGateway::Resource")

    def path(rid: str) -> str:
        props = resources[rid]["Properties"]
        parent = props["ParentId"]
        prefix = path(_ref(parent)) if isinstance(parent, dict) and "Ref" in parent else ""
        return f"{prefix}/{props['PathPart']}"

    out = {}
    for lid, m in hard.of_type("AWS::ApiGateway::Method").items():
        rid = m["Properties"]["ResourceId"]
        p = path(_ref(rid)) if isinstance(rid, dict) and "Ref" in rid else "/"
        out[lid] = (m["Properties"]["HttpMethod"], p)
    return out


def test_every_non_options_method_has_an_authorizer(hard: Hardened) -> None:
    public = {(r.method, r.path) for r in topo.ROUTES if getattr(r, "public", False)}
    authorizers = set(hard.of_type("AWS::ApiGateway::Authorizer"))
    paths = _method_paths(hard)
    missing = []
    for lid, m in hard.of_type("AWS::ApiGateway::Method").items():
        props = m["Properties"]
        if props["HttpMethod"] == "OPTIONS" or paths[lid] in public:
            continue
        if (
            props.get("AuthorizationType") != "COGNITO_USER_POOLS"
            or _ref(props.get("AuthorizerId")) not in authorizers
        ):
            missing.append(paths[lid])
    assert not missing, f"methods without the Cognito authorizer: {sorted(missing)}"


# --------------------------------------------------------------------------- 4. KMS and S3
def _key_ids(hard: Hardened) -> dict[str, str]:
    keys = hard.stack.platform.keys
    return {name: hard.logical_id(getattr(keys, name)) for name in ("data", "messaging", "logs")}


def _key_of(value: Any) -> str:
    return _ref(value)


def test_customer_managed_keys_with_rotation(hard: Hardened) -> None:
    """The encryption keys rotate; the HMAC keys of the topology's ``MAC_KEYS`` cannot (AWS rotates symmetric
    encryption keys only: docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html)."""
    keys = {
        lid: k
        for lid, k in hard.of_type("AWS::KMS::Key").items()
        if k["Properties"].get("KeySpec") != "HMAC_256"
    }
    assert set(keys) == set(_key_ids(hard).values())
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["DeletionPolicy"] == "Retain"


def test_tables_queues_topic_bucket_and_logs_use_their_keys(hard: Hardened) -> None:
    ids = _key_ids(hard)
    for table in hard.of_type("AWS::DynamoDB::Table").values():
        sse = table["Properties"]["SSESpecification"]
        assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS"
        assert _key_of(sse["KMSMasterKeyId"]) == ids["data"]
    for q in hard.of_type("AWS::SQS::Queue").values():
        assert _key_of(q["Properties"]["KmsMasterKeyId"]) == ids["messaging"]
    for topic in hard.of_type("AWS::SNS::Topic").values():
        assert _key_of(topic["Properties"]["KmsMasterKeyId"]) == ids["messaging"]
    for lid, group in hard.of_type("AWS::Logs::LogGroup").items():
        assert _key_of(group["Properties"]["KmsKeyId"]) == ids["logs"], lid
        assert group["Properties"]["RetentionInDays"] > 0, lid
    reports = hard.resources[hard.logical_id(hard.stack.services["reporting"].buckets["reports"])]
    rule = reports["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert _key_of(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]) == ids["data"]
    assert rule["BucketKeyEnabled"] is True


def _key_statements(hard: Hardened, name: str) -> list[dict[str, Any]]:
    key = hard.resources[_key_ids(hard)[name]]
    return _as_list(key["Properties"]["KeyPolicy"]["Statement"])


def test_messaging_key_lets_eventbridge_and_cloudwatch_encrypt(hard: Hardened) -> None:
    statements = _key_statements(hard, "messaging")
    by_service = {
        json.dumps(s["Principal"].get("Service")): s for s in statements if "Service" in s["Principal"]
    }
    events = by_service['"events.amazonaws.com"']  # conditions: tests/infra/test_aws_rules.py
    assert sorted(events["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    cloudwatch = by_service['"cloudwatch.amazonaws.com"']
    assert sorted(cloudwatch["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    sns = by_service['"sns.amazonaws.com"']  # alarm e-mail subscription DLQ
    assert sorted(sns["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    # no other service may use the messaging key, and no service statement has wildcard actions
    assert set(by_service) == {'"events.amazonaws.com"', '"cloudwatch.amazonaws.com"', '"sns.amazonaws.com"'}


def test_logs_key_is_limited_by_encryption_context(hard: Hardened) -> None:
    (logs,) = [s for s in _key_statements(hard, "logs") if "Service" in s["Principal"]]
    assert "logs." in json.dumps(logs["Principal"]["Service"])
    assert "kms:Decrypt" in logs["Action"] and "kms:GenerateDataKey" in logs["Action"]
    context = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert ":log-group:*" in json.dumps(context)
    assert [s for s in _key_statements(hard, "data") if "Service" in s["Principal"]] == []


def test_buckets_are_private_tls_only_and_logged(hard: Hardened) -> None:
    buckets = hard.of_type("AWS::S3::Bucket")
    access_logs = hard.logical_id(hard.stack.platform.access_logs)
    for lid, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
        )
        if lid != access_logs:
            assert _ref(props["LoggingConfiguration"]["DestinationBucketName"]) == access_logs
    policies = {_ref(p["Properties"]["Bucket"]): p for p in hard.of_type("AWS::S3::BucketPolicy").values()}
    assert set(policies) == set(buckets)
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


# --------------------------------------------------------------------------- 5. reliability
def test_rule_targets_have_dlq_and_retry_policy(hard: Hardened) -> None:
    queues = hard.of_type("AWS::SQS::Queue")
    for rule in hard.of_type("AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            assert _ref(target["DeadLetterConfig"]["Arn"]) in queues
            assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 24 * 3600
    # queue policies let events.amazonaws.com send only on behalf of one rule
    for policy in hard.of_type("AWS::SQS::QueuePolicy").values():
        for s in policy["Properties"]["PolicyDocument"]["Statement"]:
            if s["Effect"] == "Allow" and s["Principal"] == {"Service": "events.amazonaws.com"}:
                assert s["Action"] == "sqs:SendMessage"
                assert _ref(s["Condition"]["ArnEquals"]["aws:SourceArn"]) in hard.of_type("AWS::Events::Rule")


def _alarms(hard: Hardened) -> list[dict[str, Any]]:
    return [a["Properties"] for a in hard.of_type("AWS::CloudWatch::Alarm").values()]


def _dlq_ids(hard: Hardened) -> set[str]:
    queues = hard.of_type("AWS::SQS::Queue")
    return {k for k, q in queues.items() if "RedrivePolicy" not in q["Properties"]}


def test_every_dlq_has_a_depth_alarm_to_the_topic(hard: Hardened) -> None:
    topic = next(iter(hard.of_type("AWS::SNS::Topic")))
    alarmed = Counter()
    for a in _alarms(hard):
        assert [_ref(x) for x in a["AlarmActions"]] == [topic]
        assert a["ComparisonOperator"] == "GreaterThanThreshold"
        assert a["TreatMissingData"] == "notBreaching"
        if a["MetricName"] == "IteratorAge":  # a relay behind: milliseconds of its oldest unprocessed record
            assert a["Threshold"] == 5 * 60 * 1000 and a["Statistic"] == "Maximum"
        else:  # counts: any is one too many
            assert a["Threshold"] == 0
        if a["MetricName"] == "ApproximateNumberOfMessagesVisible":
            assert a["Namespace"] == "AWS/SQS" and a["Statistic"] == "Maximum"
            (dim,) = a["Dimensions"]
            alarmed[dim["Value"]["Fn::GetAtt"][0]] += 1
    assert set(alarmed) == _dlq_ids(hard)
    assert set(alarmed.values()) == {1}


def test_function_errors_throttles_and_api_5xx_alarms(hard: Hardened) -> None:
    functions = set(hard.of_type("AWS::Lambda::Function"))
    by_metric: dict[str, set[str]] = {}
    for a in _alarms(hard):
        if a["Namespace"] == "AWS/Lambda":
            (dim,) = a["Dimensions"]
            by_metric.setdefault(a["MetricName"], set()).add(_ref(dim["Value"]))
    relays = {hard.logical_id(hard.stack.relays[t.name]) for t in topo.outbox_tables()}
    assert by_metric == {"Errors": functions, "Throttles": functions, "IteratorAge": relays}
    api = [a for a in _alarms(hard) if a["Namespace"] == "AWS/ApiGateway"]
    assert [a["MetricName"] for a in api] == ["5XXError"]
    assert {d["Name"] for d in api[0]["Dimensions"]} == {"ApiName", "Stage"}


def test_alarm_topic_is_encrypted_tls_only_with_email(hard: Hardened) -> None:
    (topic,) = hard.of_type("AWS::SNS::Topic").values()
    assert topic["Properties"]["TopicName"] == f"avdual-{STAGE}-alarms"
    (policy,) = hard.of_type("AWS::SNS::TopicPolicy").values()
    assert "aws:SecureTransport" in json.dumps(policy)
    (sub,) = hard.of_type("AWS::SNS::Subscription").values()
    assert sub["Properties"]["Protocol"] == "email" and sub["Properties"]["Endpoint"] == ALARM_EMAIL
    assert _ref(sub["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]) in _dlq_ids(hard)


def test_dashboard_shows_dlqs_functions_api_and_alarms(hard: Hardened) -> None:
    (dashboard,) = hard.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for metric in (
        "ApproximateNumberOfMessagesVisible",
        "Errors",
        "Throttles",
        "Invocations",
        "5XXError",
        "IteratorAge",
        "alarms",
    ):
        assert metric in body, metric
    for lid in (
        _dlq_ids(hard)
        | set(hard.of_type("AWS::Lambda::Function"))
        | set(hard.of_type("AWS::CloudWatch::Alarm"))
    ):
        assert f'"{lid}"' in body, lid


def test_tracing_logging_and_throttling_of_the_api_stage(hard: Hardened) -> None:
    (stage,) = hard.of_type("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["TracingEnabled"] is True
    assert '"requestId"' in props["AccessLogSetting"]["Format"]
    (settings,) = props["MethodSettings"]
    assert settings["HttpMethod"] == "*" and settings["ResourcePath"] == "/*"
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    assert settings["LoggingLevel"] == "ERROR" and settings["DataTraceEnabled"] is False
    # the execution log group exists (encrypted, retained) before the stage turns logging on
    names = [
        json.dumps(g["Properties"].get("LogGroupName")) for g in hard.of_type("AWS::Logs::LogGroup").values()
    ]
    assert any("API-Gateway-Execution-Logs_" in n for n in names)
    for fn in hard.of_type("AWS::Lambda::Function").values():
        assert fn["Properties"]["TracingConfig"] == {"Mode": "Active"}


# --------------------------------------------------------------------------- 6. outbox relays
def _stream_mapping(hard: Hardened, table: topo.Table) -> dict[str, Any]:
    svc = hard.stack.services[table.service]
    return dict(hard.resources[hard.logical_id(svc.stream_mappings[table.name])]["Properties"])


def test_each_outbox_relay_is_triggered_by_its_tables_stream(hard: Hardened) -> None:
    """The relay's DynamoDB event source mapping, as the topology declares it. AWS docs: "Lambda parameters
    for Amazon DynamoDB event source mappings" (StartingPosition TRIM_HORIZON | LATEST; MaximumRetryAttempts
    -1 = infinite, 0..10,000; MaximumRecordAgeInSeconds -1 or up to 604,800, stream retention 24 h),
    "Configuring partial batch response with DynamoDB and Lambda" (FunctionResponseTypes
    ReportBatchItemFailures), "Retain discarded records for a DynamoDB event source in Lambda" (SQS on-failure
    destination: a standard queue)."""
    tables = topo.outbox_tables()
    assert len(tables) >= 1
    queues = hard.of_type("AWS::SQS::Queue")
    for table in tables:
        svc = hard.stack.services[table.service]
        relay = topo.outbox_relay(table)
        src = relay.stream
        assert src is not None and src.table == table.name
        m = _stream_mapping(hard, table)
        assert m["EventSourceArn"] == {"Fn::GetAtt": [hard.logical_id(svc.tables[table.name]), "StreamArn"]}
        assert _ref(m["FunctionName"]) == hard.logical_id(hard.stack.functions[relay.name])
        assert m["StartingPosition"] == "TRIM_HORIZON"  # outbox items written before the mapping existed too
        assert m["BatchSize"] == src.batch_size
        assert m["BisectBatchOnFunctionError"] is True
        assert 0 <= m["MaximumRetryAttempts"] == src.max_retry_attempts <= 10_000  # finite: never blocks
        assert 60 <= m["MaximumRecordAgeInSeconds"] == src.max_record_age_seconds < 24 * 3600
        assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        dlq = _ref(m["DestinationConfig"]["OnFailure"]["Destination"])
        assert dlq == hard.logical_id(svc.relay_dead_letter_queues[table.name])
        assert "FifoQueue" not in queues[dlq]["Properties"]
        table_props = hard.resources[hard.logical_id(svc.tables[table.name])]["Properties"]
        # the filter tells an insert by the missing old image: the stream must carry both images
        assert table_props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_relay_filters_are_the_topologys_and_name_only_the_dynamodb_key(hard: Hardened) -> None:
    """AWS docs: "Using event filtering with a DynamoDB event source" — DynamoDB event source mappings only
    support filtering on the ``dynamodb`` key; "Control which events Lambda sends to your function" — up to
    five filters per mapping, each pattern at most 4,096 characters (AWS::Lambda::EventSourceMapping
    Filter)."""
    for table in topo.outbox_tables():
        src = topo.outbox_relay(table).stream
        assert src is not None
        patterns = [f["Pattern"] for f in _stream_mapping(hard, table)["FilterCriteria"]["Filters"]]
        assert [json.loads(p) for p in patterns] == list(src.filter_patterns)
        assert 1 <= len(patterns) <= 5
        for p in patterns:
            assert set(json.loads(p)) == {"dynamodb"}, p
            assert len(p) <= 4096


def _role_statements(hard: Hardened, function: Any) -> list[dict[str, Any]]:
    role = _ref(hard.resources[hard.logical_id(function)]["Properties"]["Role"])
    return [
        s
        for p in hard.of_type("AWS::IAM::Policy").values()
        if role in [_ref(r) for r in p["Properties"]["Roles"]]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_relay_role_reads_its_stream_sends_to_its_dlq_and_puts_events_only(hard: Hardened) -> None:
    """AWS docs: "Using AWS Lambda with Amazon DynamoDB" / DynamoDB developer guide "IAM policy to allow an
    AWS Lambda function to access DynamoDB stream records" (DescribeStream, GetRecords, GetShardIterator,
    ListStreams); "Retain discarded records for a DynamoDB event source in Lambda" (sqs:SendMessage for an
    SQS destination); an encrypted queue needs kms:GenerateDataKey and kms:Decrypt from its producer; stream
    records of a table with a customer-managed key need kms:Decrypt."""
    keys = hard.stack.platform.keys
    for table in topo.outbox_tables():
        svc = hard.stack.services[table.service]
        statements = _role_statements(hard, hard.stack.functions[topo.outbox_relay_name(table)])
        by_action: dict[str, list[Any]] = {}
        for st in statements:
            assert st["Effect"] == "Allow"
            for action in _as_list(st["Action"]):
                by_action.setdefault(action, []).extend(_as_list(st["Resource"]))
        stream = {"Fn::GetAtt": [hard.logical_id(svc.tables[table.name]), "StreamArn"]}
        for action in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"):
            assert by_action.pop(action) == [stream], action
        assert by_action.pop("dynamodb:ListStreams") == ["*"]
        dlq = hard.logical_id(svc.relay_dead_letter_queues[table.name])
        assert [_ref(r) for r in by_action.pop("sqs:SendMessage")] == [dlq]
        assert [_ref(r) for r in by_action.pop("kms:GenerateDataKey")] == [hard.logical_id(keys.messaging)]
        assert sorted(_ref(r) for r in by_action.pop("kms:Decrypt")) == sorted(
            [hard.logical_id(keys.data), hard.logical_id(keys.messaging)]
        )
        assert [_ref(r) for r in by_action.pop("events:PutEvents")] == [
            hard.logical_id(hard.stack.platform.bus)
        ]
        assert set(by_action) == {
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
        }  # no item access to any table


def test_stream_mapping_is_created_after_the_relay_role_policy(hard: Hardened) -> None:
    """Lambda checks the execution role's stream permissions when the event source mapping is created
    (``InvalidParameterValueException: Cannot access stream … Please ensure the role can perform the
    GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM``, as reported
    in aws-samples/lambda-refarch-webapp#7): the mapping depends on the role's policy."""
    for table in topo.outbox_tables():
        svc = hard.stack.services[table.service]
        mapping = hard.resources[hard.logical_id(svc.stream_mappings[table.name])]
        role = _ref(
            hard.resources[hard.logical_id(hard.stack.functions[topo.outbox_relay_name(table)])][
                "Properties"
            ]["Role"]
        )
        policies = {
            k
            for k, p in hard.of_type("AWS::IAM::Policy").items()
            if role in [_ref(r) for r in p["Properties"]["Roles"]]
        }
        assert policies and policies <= set(mapping.get("DependsOn", []))


def test_synth_needs_no_lookups(hard: Hardened) -> None:
    import aws_cdk as cdk

    assert cdk.Token.is_unresolved(hard.stack.account) and cdk.Token.is_unresolved(hard.stack.region)
    manifest = json.loads((Path(hard.app.outdir) / "manifest.json").read_text())
    assert not manifest.get("missing")
