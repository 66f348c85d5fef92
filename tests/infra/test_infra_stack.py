"""The synthesized template has exactly what ``contracts.topology`` declares
(docs/adr/0006-topology-as-code.md)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from contracts import topology as topo
from tests.infra.cfn import CONTEXT, STAGE, Synthesized

pytestmark = pytest.mark.infra

PLATFORM_ENV = {topo.SERVICE_NAME_ENV, topo.STAGE_ENV, topo.TRACE_DISABLED_ENV}
#: A deployed stage's own addresses (``infra.app.mail_addresses``).
MAIL_CONTEXT = {k: CONTEXT[k] for k in ("mailSender", "officeEmail")}


class Synth:
    """The process's one synth of the stack (tests/infra/cfn.py), plus lookup helpers over its template."""

    def __init__(self, synthesized: Synthesized) -> None:
        self.app, self.stack, self.json = synthesized.app, synthesized.stack, synthesized.json

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.json["Resources"].items() if r["Type"] == cfn_type}

    def logical_id(self, construct: Any) -> str:
        return self.stack.resolve(construct.node.default_child.logical_id)

    def topology_functions(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Topology function name → (logical id, resource), by the ``avdual:function`` tag."""
        from contracts.operations import TAG_FUNCTION

        return {
            _tags(r)[TAG_FUNCTION]: (k, r)
            for k, r in self.of_type("AWS::Lambda::Function").items()
            if TAG_FUNCTION in _tags(r)
        }

    def powertools_parameter(self) -> str:
        from infra.constructs.runtime import powertools_layer_parameter

        (name,) = [
            k for k, p in self.json["Parameters"].items() if p.get("Default") == powertools_layer_parameter()
        ]
        assert self.json["Parameters"][name]["Type"] == "AWS::SSM::Parameter::Value<String>"
        return name

    def function_id(self, name: str) -> str:
        return self.topology_functions()[name][0]


def _ref_id(value: Any) -> str:
    """Logical id of a ``Ref`` or ``Fn::GetAtt``."""
    if "Ref" in value:
        return value["Ref"]
    return value["Fn::GetAtt"][0]


def _canon(pattern: dict[str, list[str]]) -> str:
    return json.dumps({k: sorted(v) for k, v in pattern.items()}, sort_keys=True)


@pytest.fixture(scope="module")
def synth(synthesized: Synthesized) -> Synth:
    return Synth(synthesized)


def test_stack_is_env_agnostic_without_lookups(synth: Synth) -> None:
    import aws_cdk as cdk

    assert synth.stack.stack_name == f"AvDual-{STAGE}"
    assert cdk.Token.is_unresolved(synth.stack.account)
    assert cdk.Token.is_unresolved(synth.stack.region)
    manifest = json.loads((Path(synth.app.outdir) / "manifest.json").read_text())
    assert not manifest.get("missing"), "synth needed a context lookup"


def test_custom_bus_and_archive(synth: Synth) -> None:
    buses = synth.of_type("AWS::Events::EventBus")
    assert [b["Properties"]["Name"] for b in buses.values()] == [f"avdual-{STAGE}"]
    (archive,) = synth.of_type("AWS::Events::Archive").values()
    assert _ref_id(archive["Properties"]["SourceArn"]) == next(iter(buses))


def test_one_rule_per_subscription_on_the_custom_bus(synth: Synth) -> None:
    rules = synth.of_type("AWS::Events::Rule")
    bus_id = next(iter(synth.of_type("AWS::Events::EventBus")))
    assert len(rules) == len(topo.SUBSCRIPTIONS)
    assert Counter(_canon(r["Properties"]["EventPattern"]) for r in rules.values()) == Counter(
        _canon(s.pattern()) for s in topo.SUBSCRIPTIONS.values()
    )
    for rule in rules.values():
        assert _ref_id(rule["Properties"]["EventBusName"]) == bus_id
        (target,) = rule["Properties"]["Targets"]
        assert "DeadLetterConfig" in target


def test_rule_queue_and_event_source_lead_to_the_consumer(synth: Synth) -> None:
    """pattern → SQS queue (redrive to DLQ) → event source mapping → consumer handler, batch size."""
    queues = synth.of_type("AWS::SQS::Queue")
    functions = synth.of_type("AWS::Lambda::Function")
    mappings = {
        _ref_id(m["Properties"]["EventSourceArn"]): m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
    }
    wired = {}
    for rule in synth.of_type("AWS::Events::Rule").values():
        queue_id = _ref_id(rule["Properties"]["Targets"][0]["Arn"])
        esm = mappings[queue_id]
        handler = functions[_ref_id(esm["FunctionName"])]["Properties"]["Handler"]
        redrive = queues[queue_id]["Properties"]["RedrivePolicy"]
        wired[_canon(rule["Properties"]["EventPattern"])] = (
            handler,
            esm["BatchSize"],
            redrive["maxReceiveCount"],
            queues[queue_id]["Properties"]["VisibilityTimeout"],
        )
    expected = {}
    for sub in topo.SUBSCRIPTIONS.values():
        consumer = topo.FUNCTIONS[sub.consumer]
        expected[_canon(sub.pattern())] = (
            consumer.handler,
            sub.batch_size,
            sub.max_receive_count,
            6 * consumer.timeout_seconds,
        )
    assert wired == expected


def test_event_source_mappings_report_batch_item_failures(synth: Synth) -> None:
    """One mapping per subscription (SQS) and per stream-triggered function (the outbox relays)."""
    mappings = synth.of_type("AWS::Lambda::EventSourceMapping")
    streams = [f for f in topo.FUNCTIONS.values() if f.stream]
    assert len(mappings) == len(topo.SUBSCRIPTIONS) + len(streams)
    for m in mappings.values():
        assert m["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_every_queue_has_a_redrive_policy_or_is_a_dlq(synth: Synth) -> None:
    """Subscription queues redrive to a DLQ; every other queue is the DLQ of a rule target, a function
    (asynchronous invocations), a schedule or a stream event source mapping (on-failure destination of an
    outbox relay). All are KMS-encrypted and TLS-only."""
    queues = synth.of_type("AWS::SQS::Queue")
    with_redrive = {k for k, q in queues.items() if "RedrivePolicy" in q["Properties"]}
    assert len(with_redrive) == len(topo.SUBSCRIPTIONS)
    dlqs = {_ref_id(queues[k]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]) for k in with_redrive}
    rule_dlqs = {
        _ref_id(r["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"])
        for r in synth.of_type("AWS::Events::Rule").values()
    }
    function_dlqs = {
        _ref_id(f["Properties"]["DeadLetterConfig"]["TargetArn"])
        for f in synth.of_type("AWS::Lambda::Function").values()
        if "DeadLetterConfig" in f["Properties"]
    }
    schedule_dlqs = {
        _ref_id(s["Properties"]["Target"]["DeadLetterConfig"]["Arn"])
        for s in synth.of_type("AWS::Scheduler::Schedule").values()
    }
    relay_dlqs = {
        _ref_id(m["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if "DestinationConfig" in m["Properties"]
    }
    subscription_dlqs = {
        _ref_id(s["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for s in synth.of_type("AWS::SNS::Subscription").values()
        if "RedrivePolicy" in s["Properties"]
    }
    others = rule_dlqs | function_dlqs | schedule_dlqs | relay_dlqs | subscription_dlqs
    assert with_redrive | dlqs | others == set(queues)
    assert not with_redrive & (dlqs | others)
    for q in queues.values():
        assert "SqsManagedSseEnabled" not in q["Properties"]
        assert "KmsMasterKeyId" in q["Properties"]
    # every queue policy denies non-TLS access
    for policy in synth.of_type("AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s) for s in statements)


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}


def test_operations_tags_find_every_queue_table_and_function(synth: Synth) -> None:
    """``avdual ops --stage`` discovers resources by these tags (contracts/operations.py)."""
    from contracts.operations import (
        DEAD_LETTER_KINDS,
        TAG_DLQ_KIND,
        TAG_DLQ_OF,
        TAG_FUNCTION,
        TAG_QUEUE_OF,
        TAG_TABLE,
    )

    queues = synth.of_type("AWS::SQS::Queue")
    main = {_tags(q)[TAG_QUEUE_OF] for q in queues.values() if TAG_QUEUE_OF in _tags(q)}
    assert main == set(topo.SUBSCRIPTIONS)
    dlqs = [
        (_tags(q)[TAG_DLQ_KIND], _tags(q)[TAG_DLQ_OF]) for q in queues.values() if TAG_DLQ_KIND in _tags(q)
    ]
    assert len(dlqs) + len(main) == len(queues)  # every queue is found
    assert {k for k, _ in dlqs} <= set(DEAD_LETTER_KINDS)
    assert {o for k, o in dlqs if k == "subscription"} == {o for k, o in dlqs if k == "rule"} == main
    assert {o for k, o in dlqs if k == "relay"} == {t.name for t in topo.TABLES.values() if t.stream}
    assert {o for k, o in dlqs if k == "async"} == {f.name for f in topo.FUNCTIONS.values() if f.schedules}
    tables = {_tags(t).get(TAG_TABLE) for t in synth.of_type("AWS::DynamoDB::Table").values()}
    assert tables == set(topo.TABLES)
    functions = {_tags(f).get(TAG_FUNCTION) for f in synth.of_type("AWS::Lambda::Function").values()}
    assert set(topo.FUNCTIONS) <= functions


def test_tables_match_topology(synth: Synth) -> None:
    tables = synth.of_type("AWS::DynamoDB::Table")
    assert len(tables) == len(topo.TABLES)
    constructs = dict(synth.stack.platform.tables)
    for svc in synth.stack.services.values():
        constructs.update(svc.tables)
    assert set(constructs) == set(topo.TABLES)
    for name, spec in topo.TABLES.items():
        res = tables[synth.logical_id(constructs[name])]
        props = res["Properties"]
        assert res["DeletionPolicy"] == "Retain"
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        keys = [{"AttributeName": spec.pk, "KeyType": "HASH"}]
        if spec.sk:
            keys.append({"AttributeName": spec.sk, "KeyType": "RANGE"})
        assert props["KeySchema"] == keys
        numbers = {i.sk for i in spec.indexes if i.sk_number}
        assert {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]} == {
            a: "N" if a in numbers else "S"
            for a in {spec.pk, spec.sk, *(k for i in spec.indexes for k in (i.pk, i.sk))}
            if a
        }
        gsis = {
            g["IndexName"]: [k["AttributeName"] for k in g["KeySchema"]]
            for g in props.get("GlobalSecondaryIndexes", [])
        }
        assert gsis == {i.name: [i.pk] + ([i.sk] if i.sk else []) for i in spec.indexes}
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in props
        if spec.stream:
            assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        else:
            assert "StreamSpecification" not in props


def test_report_bucket(synth: Synth) -> None:
    """Topology buckets plus one server-access-log bucket; all private, expiring, retained."""
    buckets = synth.of_type("AWS::S3::Bucket")
    assert len(buckets) == len(topo.BUCKETS) + 1
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert bucket["DeletionPolicy"] == "Retain"
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"aws:kms", "AES256"}
        assert [r["ExpirationInDays"] for r in props["LifecycleConfiguration"]["Rules"]] == [400]
    for policy in synth.of_type("AWS::S3::BucketPolicy").values():
        assert "aws:SecureTransport" in json.dumps(policy["Properties"]["PolicyDocument"])


def test_functions_match_topology(synth: Synth) -> None:
    """Every topology function, the outbox relays included, and nothing else of ours."""
    functions = synth.topology_functions()
    assert set(functions) == set(topo.FUNCTIONS)
    assert {t.name + "-relay" for t in topo.TABLES.values() if t.stream} <= set(functions)
    log_groups = synth.of_type("AWS::Logs::LogGroup")
    for spec in topo.FUNCTIONS.values():
        props = functions[spec.name][1]["Properties"]
        assert props["Handler"] == spec.handler
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Timeout"] == spec.timeout_seconds
        assert props["MemorySize"] == spec.memory_mb
        layers = props["Layers"]  # CDK sorts them by construct path
        assert {"Ref": synth.powertools_parameter()} in layers
        assert len(layers) == 1 + len(spec.layers)  # its declared dependencies layers
        log_group = log_groups[_ref_id(props["LoggingConfig"]["LogGroup"])]
        assert log_group["Properties"]["RetentionInDays"] == 365


def test_function_environment(synth: Synth) -> None:
    functions = synth.topology_functions()
    bus_id = next(iter(synth.of_type("AWS::Events::EventBus")))
    tables = dict(synth.stack.platform.tables)
    for svc in synth.stack.services.values():
        tables.update(svc.tables)
    for spec in topo.FUNCTIONS.values():
        env = functions[spec.name][1]["Properties"]["Environment"]["Variables"]
        api = {topo.COGNITO.client_id_env} if any(r.function == spec.name for r in topo.ROUTES) else set()
        links = {topo.API_BASE_URL_ENV} if spec.links_to_api else set()
        assert set(env) == set(topo.env_for(spec)) | PLATFORM_ENV | set(topo.constant_env(spec)) | api | links
        assert env[topo.SERVICE_NAME_ENV] == spec.service
        assert env[topo.STAGE_ENV] == STAGE
        # Lambda's active tracing (TracingConfig, test above) without the X-Ray SDK's cold-start import
        assert env[topo.TRACE_DISABLED_ENV] == "true"
        for var, logical in topo.env_for(spec).items():
            if var == topo.EVENT_BUS_ENV:
                assert _ref_id(env[var]) == bus_id
            elif logical in topo.TABLES:
                assert _ref_id(env[var]) == synth.logical_id(tables[logical])


def test_least_privilege_put_events(synth: Synth) -> None:
    """Only publishing functions may put events; each role policy is attached to one function role."""
    policies = synth.of_type("AWS::IAM::Policy")
    for spec in topo.FUNCTIONS.values():
        role_id = _ref_id(synth.json["Resources"][synth.function_id(spec.name)]["Properties"]["Role"])
        docs = [
            p["Properties"]["PolicyDocument"]
            for p in policies.values()
            if role_id in [_ref_id(r) for r in p["Properties"]["Roles"]]
        ]
        actions = json.dumps(docs)
        assert ("events:PutEvents" in actions) == bool(spec.publishes), spec.name
        assert ("s3:PutObject" in actions) == bool(spec.buckets), spec.name
        assert ("ses:SendRawEmail" in actions) == bool(spec.mail), spec.name
        assert ("kms:GenerateMac" in actions) == bool(spec.mac_keys), spec.name


def test_mac_keys_are_hmac_keys_only_their_functions_may_use(synth: Synth) -> None:
    """One KMS key per topology MAC key: HMAC_256 for GENERATE_VERIFY_MAC (the key spec KMS needs for
    ``GenerateMac``, docs.aws.amazon.com/kms/latest/developerguide/hmac.html), without rotation (AWS does
    not rotate HMAC keys automatically); functions that name it get its ARN and ``kms:GenerateMac`` on
    exactly it."""
    keys = {
        lid: k
        for lid, k in synth.of_type("AWS::KMS::Key").items()
        if k["Properties"].get("KeySpec") == "HMAC_256"
    }
    assert len(keys) == len(topo.MAC_KEYS)
    for k in keys.values():
        assert k["Properties"]["KeyUsage"] == "GENERATE_VERIFY_MAC"
        assert not k["Properties"].get("EnableKeyRotation")
        assert k["DeletionPolicy"] == "Retain"
    functions = synth.topology_functions()
    policies = synth.of_type("AWS::IAM::Policy")
    for spec in topo.FUNCTIONS.values():
        props = functions[spec.name][1]["Properties"]
        env, role_id = props["Environment"]["Variables"], _ref_id(props["Role"])
        statements = [
            s
            for p in policies.values()
            if role_id in [_ref_id(r) for r in p["Properties"]["Roles"]]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if "kms:GenerateMac" in json.dumps(s["Action"])
        ]
        for name in spec.mac_keys:
            key_ref = env[topo.MAC_KEYS[name].env_var]
            assert key_ref["Fn::GetAtt"][0] in keys and key_ref["Fn::GetAtt"][1] == "Arn"
            assert [s["Resource"] for s in statements] == [key_ref] and statements[0][
                "Action"
            ] == "kms:GenerateMac"
        if not spec.mac_keys:
            assert statements == []


def test_mail_identities_and_send_permission(synth: Synth) -> None:
    """One SES email identity per address of the stage (sender and office mailbox); senders may send from
    exactly those identities (the SES rules: tests/infra/test_aws_rules.py)."""
    identities = synth.of_type("AWS::SES::EmailIdentity")
    assert sorted(i["Properties"]["EmailIdentity"] for i in identities.values()) == sorted(
        MAIL_CONTEXT.values()
    )
    statements = [
        st
        for p in synth.of_type("AWS::IAM::Policy").values()
        for st in p["Properties"]["PolicyDocument"]["Statement"]
        if "ses:SendRawEmail" in json.dumps(st["Action"])
    ]
    assert len(statements) == sum(len(f.mail) for f in topo.FUNCTIONS.values())
    for st in statements:
        assert st["Action"] == "ses:SendRawEmail"
        resource = json.dumps(st["Resource"])
        assert resource.count(":identity/") == 2 and "*" not in resource


def _resource_paths(synth: Synth) -> dict[str, str]:
    resources = synth.of_type("AWS::ApiGateway::Resource")
    api_id = next(iter(synth.of_type("AWS::ApiGateway::RestApi")))

    def path(rid: str) -> str:
        props = resources[rid]["Properties"]
        parent = props["ParentId"]
        prefix = "" if _ref_id(parent) == api_id else path(_ref_id(parent))
        return f"{prefix}/{props['PathPart']}"

    return {rid: path(rid) for rid in resources}


def test_one_api_method_per_route(synth: Synth) -> None:
    paths = _resource_paths(synth)
    functions = synth.of_type("AWS::Lambda::Function")
    methods = {}
    for m in synth.of_type("AWS::ApiGateway::Method").values():
        props = m["Properties"]
        rid = _ref_id(props["ResourceId"])
        key = (props["HttpMethod"], paths.get(rid, "/"))
        assert key not in methods
        integration = props["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        fn_ids = [_ref_id(p) for p in integration["Uri"]["Fn::Join"][1] if isinstance(p, dict)]
        methods[key] = {functions[i]["Properties"]["Handler"] for i in fn_ids if i in functions}
    assert methods == {(r.method, r.path): {topo.FUNCTIONS[r.function].handler} for r in topo.ROUTES}


def test_api_stage(synth: Synth) -> None:
    (stage,) = synth.of_type("AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["StageName"] == STAGE
    assert stage["Properties"]["TracingEnabled"] is True


def test_schedules(synth: Synth) -> None:
    schedules = synth.of_type("AWS::Scheduler::Schedule")
    declared = [(f, s) for f in topo.FUNCTIONS.values() for s in f.schedules]
    assert len(schedules) == len(declared)
    actual = {}
    roles_policies = synth.of_type("AWS::IAM::Policy")
    for sched in schedules.values():
        props = sched["Properties"]
        assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
        fn_id = _ref_id(props["Target"]["Arn"])
        role_id = _ref_id(props["Target"]["RoleArn"])
        statements = [
            s
            for p in roles_policies.values()
            if role_id in [_ref_id(r) for r in p["Properties"]["Roles"]]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        assert statements[0] == {
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [fn_id, "Arn"]},
        }
        # … plus sending to the schedule's DLQ (and its key), nothing else
        dlq_id = _ref_id(props["Target"]["DeadLetterConfig"]["Arn"])
        assert {json.dumps(s["Resource"]) for s in statements[1:]} <= {
            json.dumps({"Fn::GetAtt": [dlq_id, "Arn"]}),
            json.dumps({"Fn::GetAtt": [synth.logical_id(synth.stack.platform.keys.messaging), "Arn"]}),
        }
        handler = synth.json["Resources"][fn_id]["Properties"]["Handler"]
        actual[props["Name"]] = (
            props["ScheduleExpression"],
            props["ScheduleExpressionTimezone"],
            json.loads(props["Target"]["Input"]),
            handler,
        )
    assert actual == {
        f"avdual-{STAGE}-{s.name}": (s.expression, s.timezone, s.payload, f.handler) for f, s in declared
    }


def test_declared_dependency_layers(synth: Synth) -> None:
    """Powertools from a deploy-time SSM parameter; one arm64 layer version per declared dependencies layer
    that a function takes, and each function gets exactly the ones it declares."""
    synth.powertools_parameter()
    layers = synth.of_type("AWS::Lambda::LayerVersion")
    declared = {layer.name for f in topo.FUNCTIONS.values() for layer in f.layers}
    assert len(layers) == len(declared)
    for layer in layers.values():
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    by_description = {
        topo.LAYERS[name].description: layer_id
        for name in declared
        for layer_id, layer in layers.items()
        if layer["Properties"]["Description"].startswith(topo.LAYERS[name].description + ":")
    }
    assert len(by_description) == len(declared)
    functions = synth.topology_functions()
    for spec in topo.FUNCTIONS.values():
        refs = functions[spec.name][1]["Properties"]["Layers"]
        assert {r["Ref"] for r in refs if r["Ref"] in layers} == {
            by_description[layer.description] for layer in spec.layers
        }, spec.name


def test_one_time_schedules(synth: Synth) -> None:
    """A one-time schedule is created at run time, never in the template; the template gives its creator
    exactly what that needs (AWS, scheduler/latest/UserGuide/setting-up.html: ``scheduler:CreateSchedule``
    and ``iam:PassRole`` of the execution role, which trusts ``scheduler.amazonaws.com`` and may invoke the
    target): the schedule group, create rights for the schedule's name prefix in that group only, PassRole of
    the target's scheduler role to EventBridge Scheduler only, and the target in the creator's environment."""
    declared = [(f, o) for f in topo.FUNCTIONS.values() for o in f.one_time]
    assert declared, "the alert digest is a one-time schedule"
    groups = {r["Properties"]["Name"] for r in synth.of_type("AWS::Scheduler::ScheduleGroup").values()}
    assert groups == {f"avdual-{STAGE}-{o.group}" for _, o in declared}
    policies = synth.of_type("AWS::IAM::Policy")
    for target, o in declared:
        creator = synth.json["Resources"][synth.function_id(o.created_by)]
        role_id = _ref_id(creator["Properties"]["Role"])
        statements = [
            s
            for p in policies.values()
            if role_id in [_ref_id(r) for r in p["Properties"]["Roles"]]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        create = [s for s in statements if s["Action"] == "scheduler:CreateSchedule"]
        (create_one,) = create
        assert f":schedule/avdual-{STAGE}-{o.group}/{o.name}-*" in json.dumps(create_one["Resource"])
        (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
        assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
        scheduler_role = _ref_id(pass_role["Resource"])
        trust = synth.json["Resources"][scheduler_role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust[0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
        invoke = [
            s
            for p in policies.values()
            if scheduler_role in [_ref_id(r) for r in p["Properties"]["Roles"]]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
            if s["Action"] == "lambda:InvokeFunction"
        ]
        assert invoke == [
            {
                "Action": "lambda:InvokeFunction",
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [synth.function_id(target.name), "Arn"]},
            }
        ]
        env = json.dumps(creator["Properties"]["Environment"]["Variables"][o.env_var])
        for key in ('\\"group\\"', '\\"target_arn\\"', '\\"role_arn\\"', '\\"dlq_arn\\"'):
            assert key in env, key
        assert synth.function_id(target.name) in env and scheduler_role in env
    assert not [
        s
        for s in synth.of_type("AWS::Scheduler::Schedule").values()
        if "at(" in s["Properties"]["ScheduleExpression"]
    ]
