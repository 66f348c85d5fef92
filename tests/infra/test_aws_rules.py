"""The AWS rules the stack relies on that no local tool checks (moto validates none of them).

Each test names the AWS documentation page its rule comes from. A failure here means a `cdk deploy`
that rolls back, or a deployed stack that silently drops work. On the process's one synth
(tests/infra/cfn.py), with the context a real deploy passes (stage addresses, alarm e-mail).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from contracts import topology as topo
from tests.infra.cfn import CONTEXT, STAGE, Synthesized, TemplateLookups
from tests.infra.cfn import as_list as _as_list
from tests.infra.cfn import ref as _ref

pytestmark = pytest.mark.infra

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The longest stage name ``infra.app`` accepts: names containing the stage are checked at that length.
LONGEST_STAGE = "s" * 16


class Template(TemplateLookups):
    def __init__(self, synthesized: Synthesized) -> None:
        self.stack, self.json = synthesized.stack, synthesized.json

    def role_statements(self, role_id: str) -> list[dict[str, Any]]:
        """Allow statements of every policy attached to the role ``role_id``."""
        return [
            st
            for p in self.of_type("AWS::IAM::Policy").values()
            if role_id in [_ref(r) for r in p["Properties"]["Roles"]]
            for st in _as_list(p["Properties"]["PolicyDocument"]["Statement"])
            if st["Effect"] == "Allow"
        ]

    def function_role(self, function_id: str) -> str:
        return _ref(self.resources[function_id]["Properties"]["Role"])


@pytest.fixture(scope="module")
def t(synthesized: Synthesized) -> Template:
    return Template(synthesized)


def _allows(statements: list[dict[str, Any]], action: str, resource_id: str) -> bool:
    """Some statement allows ``action`` on the resource with logical id ``resource_id`` (by Ref/GetAtt)."""
    for st in statements:
        actions = _as_list(st["Action"])
        if action in actions and resource_id in json.dumps(st["Resource"]):
            return True
    return False


def _function_id(t: Template, name: str) -> str:
    return t.logical_id(t.stack.functions[name])


# --------------------------------------------------------------------------- Cognito
def test_app_client_can_write_every_required_attribute(t: Template) -> None:
    """Amazon Cognito Developer Guide, "Working with user attributes" → "Attribute permissions and scopes":
    an app client must have write access to every attribute the user pool requires; otherwise
    CreateUserPoolClient fails ("Invalid write attributes specified while creating a client") and the stack
    rolls back. The client must still not write ``custom:companion_id``."""
    ((_, pool),) = t.of_type("AWS::Cognito::UserPool").items()
    required = {a["Name"] for a in pool["Properties"]["Schema"] if a.get("Required")}
    assert required == {"email"}
    for client in t.of_type("AWS::Cognito::UserPoolClient").values():
        writable = set(client["Properties"].get("WriteAttributes", required))
        assert required <= writable
        assert topo.COMPANION_ID_CLAIM not in writable


# --------------------------------------------------------------------------- Lambda + SQS
def _mappings_by_function(t: Template) -> dict[str, list[dict[str, Any]]]:
    queues = t.of_type("AWS::SQS::Queue")
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in t.of_type("AWS::Lambda::EventSourceMapping").values():
        props = m["Properties"]
        if _ref(props["EventSourceArn"]) in queues:
            out[_ref(props["FunctionName"])].append(props)
    return out


def test_reserved_concurrency_covers_the_event_sources_maximum_concurrency(t: Template) -> None:
    """AWS Lambda Developer Guide, "Configuring scaling behavior for SQS event source mappings": maximum
    concurrency and reserved concurrency are independent; with both, reserved concurrency must be at least
    the sum of the maximum concurrency of all SQS event sources of the function, or Lambda throttles and
    messages reach the DLQ unprocessed. ``ScalingConfig.MaximumConcurrency`` is 2…1000
    (CloudFormation, "AWS::Lambda::EventSourceMapping ScalingConfig")."""
    functions = t.of_type("AWS::Lambda::Function")
    by_function = _mappings_by_function(t)
    assert by_function
    for fid, mappings in by_function.items():
        limits = [m["ScalingConfig"]["MaximumConcurrency"] for m in mappings]
        assert all(2 <= n <= 1000 for n in limits), (fid, limits)
        reserved = functions[fid]["Properties"].get("ReservedConcurrentExecutions")
        if reserved is not None:
            assert reserved >= sum(limits), (fid, reserved, limits)
    # the decision (docs/adr/0020-no-reserved-concurrency.md): matching is bounded by its event sources
    matching = _function_id(t, "matching-consumer")
    assert "ReservedConcurrentExecutions" not in functions[matching]["Properties"]
    assert [m["ScalingConfig"]["MaximumConcurrency"] for m in by_function[matching]] == [2, 2]


def test_subscription_queues_redrive_after_at_least_five_receives(t: Template) -> None:
    """Amazon SQS Developer Guide, "Using dead-letter queues in Amazon SQS" and AWS Lambda Developer Guide,
    "Using Lambda with Amazon SQS": for a queue that is a Lambda event source, set ``maxReceiveCount`` to at
    least 5, so throttled or briefly failing batches are retried before a message is dead-lettered. The value
    comes from ``Subscription.max_receive_count``, which the local runtime uses too."""
    queues = t.of_type("AWS::SQS::Queue")
    for svc in t.stack.services.values():
        for name, q in svc.queues.items():
            redrive = queues[t.logical_id(q)]["Properties"]["RedrivePolicy"]
            assert redrive["maxReceiveCount"] == topo.SUBSCRIPTIONS[name].max_receive_count >= 5, name
    assert {n for s in t.stack.services.values() for n in s.queues} == set(topo.SUBSCRIPTIONS)


def test_visibility_timeout_is_at_least_six_times_the_function_timeout(t: Template) -> None:
    """AWS Lambda Developer Guide, "Using Lambda with Amazon SQS" → configuring a queue: set the source
    queue's visibility timeout to at least six times the function's timeout, so a batch being retried after
    throttling is not delivered to a second invocation meanwhile."""
    queues = t.of_type("AWS::SQS::Queue")
    functions = t.of_type("AWS::Lambda::Function")
    for fid, mappings in _mappings_by_function(t).items():
        timeout = functions[fid]["Properties"]["Timeout"]
        for m in mappings:
            assert queues[_ref(m["EventSourceArn"])]["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_api_functions_answer_within_the_integration_timeout(t: Template) -> None:
    """Amazon API Gateway Developer Guide, "Amazon API Gateway quotas": the integration timeout of a REST API
    is 50 ms to 29 s by default. A function behind a route that may run longer keeps working after the caller
    got a 504, so a retried POST would run twice."""
    route_functions = {r.function for r in topo.ROUTES}
    for name in route_functions:
        assert topo.FUNCTIONS[name].timeout_seconds <= 29, name
        props = t.resources[_function_id(t, name)]["Properties"]
        assert props["Timeout"] <= 29, name


def test_environment_fits_in_four_kilobytes(t: Template) -> None:
    """AWS Lambda Developer Guide, "Lambda quotas": the environment variables of a function total at most
    4 KB. Values that are CloudFormation tokens count with the longest name they can resolve to."""
    for fid, fn in t.of_type("AWS::Lambda::Function").items():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        size = sum(len(k) + (len(v) if isinstance(v, str) else 256) for k, v in env.items())
        assert size <= 4096, (fid, size)


def _repo_module(name: str) -> bool:
    """``name`` is an importable module of this repository (not a class or function inside one)."""
    if name.split(".")[0] not in {"services", "common", "contracts"}:
        return False
    try:
        spec = importlib.util.find_spec(name)
    except (ModuleNotFoundError, ValueError):
        return False
    return spec is not None and spec.origin is not None


def _imported_names(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return names


def _module_imports(module: str, seen: set[str]) -> set[str]:
    """Top-level names imported by ``module`` and, transitively, by every repository module it imports
    (lazy imports inside functions included: the code may run them)."""
    seen.add(module)
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    names: set[str] = set()
    for target in _imported_names(Path(spec.origin)):
        if _repo_module(target):
            if target not in seen:
                names |= _module_imports(target, seen)
        elif target.split(".")[0] not in {"services", "common", "contracts"}:
            names.add(target.split(".")[0])
    return names


def test_functions_that_plot_have_a_writable_matplotlib_directory(t: Template) -> None:
    """AWS Lambda Developer Guide, "Configure ephemeral storage for Lambda functions": ``/tmp`` is the only
    writable directory of the execution environment. matplotlib writes its config and font cache to
    ``MPLCONFIGDIR`` (default ``~/.config/matplotlib``) and warns and rebuilds the cache on every cold start
    when it cannot."""
    functions = t.of_type("AWS::Lambda::Function")
    plotting = set()
    for spec in topo.FUNCTIONS.values():
        module = spec.handler.rpartition(".")[0]
        if "matplotlib" in _module_imports(module, set()):
            plotting.add(spec.name)
        env = functions[_function_id(t, spec.name)]["Properties"]["Environment"]["Variables"]
        if spec.name in plotting:
            assert dict(topo.PLOTTING_ENV)["MPLCONFIGDIR"] == env.get("MPLCONFIGDIR") == "/tmp"  # noqa: S108
    assert {"reporting-renderer", "reporting-api"} <= plotting
    assert not {"intake-api", "matching-api"} & plotting


# --------------------------------------------------------------------------- SNS, KMS
def test_alarm_topic_policy_lets_cloudwatch_publish(t: Template) -> None:
    """Amazon SNS Developer Guide, "Amazon SNS access control" → example cases (CloudWatch alarms publishing):
    a topic policy replaces SNS's default policy, so the statement CDK's ``enforce_ssl`` creates (only a Deny)
    leaves ``cloudwatch.amazonaws.com`` without ``sns:Publish`` and no alarm ever notifies. The Allow is
    scoped with ``aws:SourceArn`` (this stage's alarms) and ``aws:SourceAccount``."""
    ((topic_id, _),) = t.of_type("AWS::SNS::Topic").items()
    (policy,) = [p for p in t.of_type("AWS::SNS::TopicPolicy").values() if topic_id in json.dumps(p)]
    allows = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    (allow,) = allows
    assert allow["Action"] == "sns:Publish" and _ref(allow["Resource"]) == topic_id
    assert f":alarm:avdual-{STAGE}-*" in json.dumps(allow["Condition"]["ArnLike"]["aws:SourceArn"])
    assert allow["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    alarms = t.of_type("AWS::CloudWatch::Alarm")
    assert alarms
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmName"].startswith(f"avdual-{STAGE}-")
        assert [_ref(a) for a in alarm["Properties"]["AlarmActions"]] == [topic_id]


#: Condition keys each AWS service principal's key-policy statement may use, with the page documenting them.
DOCUMENTED_KEY_CONDITIONS: dict[str, tuple[set[str], str]] = {
    # SQS Developer Guide, "Amazon SQS key management" → configure KMS permissions for AWS services: the
    # statement for event sources (EventBridge) has no condition; SNS Developer Guide, "Managing Amazon SNS
    # encryption keys": aws:SourceArn/aws:SourceAccount are not supported for EventBridge deliveries.
    "events.amazonaws.com": (set(), "sqs-key-management"),
    # SNS Developer Guide, "Managing Amazon SNS encryption keys" (CloudWatch alarms → encrypted topic).
    "cloudwatch.amazonaws.com": ({"aws:SourceArn", "aws:SourceAccount"}, "sns-key-management"),
    # SNS Developer Guide, "Configuring an Amazon SNS dead-letter queue for a subscription" (encrypted DLQ).
    "sns.amazonaws.com": ({"aws:SourceArn"}, "sns-configure-dead-letter-queue"),
    # CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS".
    "logs": ({"kms:EncryptionContext:aws:logs:arn"}, "encrypt-log-data-kms"),
}


def test_key_policies_use_only_documented_condition_keys(t: Template) -> None:
    """Every key-policy statement for an AWS service principal uses only the condition keys the service's
    documentation gives for it (see :data:`DOCUMENTED_KEY_CONDITIONS`). An undocumented key is never present
    in the service's request, so the statement never matches and the service cannot encrypt."""
    seen = set()
    for kid, key in t.of_type("AWS::KMS::Key").items():
        for st in _as_list(key["Properties"]["KeyPolicy"]["Statement"]):
            service = st["Principal"].get("Service") if isinstance(st["Principal"], dict) else None
            if service is None:
                continue
            name = "logs" if "logs." in json.dumps(service) else service
            allowed, page = DOCUMENTED_KEY_CONDITIONS[name]
            used = {k for cond in st.get("Condition", {}).values() for k in cond}
            assert used <= allowed, (kid, name, used - allowed, page)
            seen.add(name)
    assert seen == set(DOCUMENTED_KEY_CONDITIONS)


def _key_policy_allows(t: Template, key_id: str, service: str, actions: set[str]) -> bool:
    statements = _as_list(t.resources[key_id]["Properties"]["KeyPolicy"]["Statement"])
    return any(
        st["Effect"] == "Allow"
        and isinstance(st["Principal"], dict)
        and st["Principal"].get("Service") == service
        and actions <= set(_as_list(st["Action"]))
        for st in statements
    )


Writer = tuple[str, str]
"""``("service", principal)``, ``("role", role id)`` or ``("sqs", source queue id)``."""


def _rule_writers(t: Template) -> list[tuple[Any, Writer]]:
    return [
        (arn, ("service", "events.amazonaws.com"))
        for rule in t.of_type("AWS::Events::Rule").values()
        for target in rule["Properties"]["Targets"]
        for arn in (target["Arn"], target.get("DeadLetterConfig", {}).get("Arn"))
        if arn is not None
    ]


def _lambda_writers(t: Template) -> list[tuple[Any, Writer]]:
    out: list[tuple[Any, Writer]] = []
    for fid, fn in t.of_type("AWS::Lambda::Function").items():
        dlq = fn["Properties"].get("DeadLetterConfig", {}).get("TargetArn")
        if dlq is not None:  # asynchronous invocations that failed
            out.append((dlq, ("role", t.function_role(fid))))
    for m in t.of_type("AWS::Lambda::EventSourceMapping").values():
        dest = m["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if dest is not None:  # stream records that kept failing
            out.append((dest, ("role", t.function_role(_ref(m["Properties"]["FunctionName"])))))
    return out


def _other_writers(t: Template) -> list[tuple[Any, Writer]]:
    out: list[tuple[Any, Writer]] = []
    for sched in t.of_type("AWS::Scheduler::Schedule").values():
        target = sched["Properties"]["Target"]
        out.append((target["DeadLetterConfig"]["Arn"], ("role", _ref(target["RoleArn"]))))
    for sub in t.of_type("AWS::SNS::Subscription").values():
        if "RedrivePolicy" in sub["Properties"]:
            out.append(
                (sub["Properties"]["RedrivePolicy"]["deadLetterTargetArn"], ("service", "sns.amazonaws.com"))
            )
    for qid, q in t.of_type("AWS::SQS::Queue").items():  # SQS moves messages to a redrive DLQ itself
        if "RedrivePolicy" in q["Properties"]:
            out.append((q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"], ("sqs", qid)))
    return out


def _queue_writers(t: Template) -> dict[str, list[Writer]]:
    """Queue id → everything that sends messages to it."""
    queues = t.of_type("AWS::SQS::Queue")
    writers: dict[str, list[Writer]] = defaultdict(list)
    for arn, writer in _rule_writers(t) + _lambda_writers(t) + _other_writers(t):
        if isinstance(arn, dict) and _ref(arn) in queues:
            writers[_ref(arn)].append(writer)
    return writers


def test_every_queue_key_is_usable_by_every_writer(t: Template) -> None:
    """Amazon SQS Developer Guide, "Amazon SQS key management": a producer of a queue encrypted with a
    customer managed key needs ``kms:GenerateDataKey`` and ``kms:Decrypt`` on the key – AWS services
    (EventBridge rule targets and DLQs, SNS subscription DLQs) through the key policy, roles (Lambda
    async DLQs, Scheduler DLQs, the outbox relays' on-failure DLQs) through IAM – and ``sqs:SendMessage``
    (queue policy or IAM). Without it deliveries fail silently into a DLQ that cannot take them either."""
    queues = t.of_type("AWS::SQS::Queue")
    writers = _queue_writers(t)
    policies = [p["Properties"] for p in t.of_type("AWS::SQS::QueuePolicy").values()]
    for qid, q in queues.items():
        assert writers.get(qid), f"queue {qid} has no writer"
        key = _ref(q["Properties"]["KmsMasterKeyId"])
        for kind, who in writers[qid]:
            if kind == "sqs":
                continue
            if kind == "service":
                assert _key_policy_allows(t, key, who, {"kms:GenerateDataKey", "kms:Decrypt"}), (qid, who)
                assert any(
                    qid in json.dumps(p["Queues"])
                    and any(
                        s["Effect"] == "Allow"
                        and s["Principal"] == {"Service": who}
                        and "sqs:SendMessage" in _as_list(s["Action"])
                        for s in p["PolicyDocument"]["Statement"]
                    )
                    for p in policies
                ), (qid, who)
            else:
                statements = t.role_statements(who)
                assert _allows(statements, "sqs:SendMessage", qid), (qid, who)
                for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                    assert _allows(statements, action, key), (qid, who, action)


# --------------------------------------------------------------------------- names, layers, sizes
#: CloudFormation type → (name property, maximum length, documentation page).
NAME_LIMITS: dict[str, tuple[str, int, str]] = {
    "AWS::Lambda::Function": ("FunctionName", 64, "Lambda API Reference, CreateFunction"),
    "AWS::IAM::Role": ("RoleName", 64, "IAM User Guide, IAM and AWS STS quotas"),
    "AWS::SQS::Queue": ("QueueName", 80, "SQS Developer Guide, Amazon SQS queue quotas"),
    "AWS::Events::EventBus": ("Name", 256, "EventBridge API Reference, CreateEventBus"),
    "AWS::Events::Rule": ("Name", 64, "EventBridge API Reference, PutRule"),
    "AWS::Scheduler::Schedule": ("Name", 64, "EventBridge Scheduler API Reference, CreateSchedule"),
    "AWS::SNS::Topic": ("TopicName", 256, "SNS API Reference, CreateTopic"),
    "AWS::CloudWatch::Alarm": ("AlarmName", 255, "CloudWatch API Reference, PutMetricAlarm"),
    "AWS::CloudWatch::Dashboard": ("DashboardName", 255, "CloudWatch API Reference, PutDashboard"),
    "AWS::Cognito::UserPool": ("UserPoolName", 128, "Cognito API Reference, CreateUserPool"),
    "AWS::ApiGateway::RestApi": ("Name", 1024, "API Gateway quotas"),
    "AWS::Logs::LogGroup": ("LogGroupName", 512, "CloudWatch Logs API Reference, CreateLogGroup"),
}
#: Longest value a CloudFormation token in a name can resolve to (an API id, a region, an account).
TOKEN_LENGTH = 20


def _literal_length(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sum(_literal_length(p) for p in parts) + len(sep) * (len(parts) - 1)
    return TOKEN_LENGTH


def test_physical_names_fit_their_limits_for_the_longest_stage(t: Template) -> None:
    """Named resources carry the stage in their names (two stages in one account never collide); each must fit
    its service's limit (pages in :data:`NAME_LIMITS`) for the longest stage ``infra.app`` accepts. Unnamed
    resources get a generated name that CloudFormation keeps within the limit (Lambda functions and IAM
    roles: 64 characters)."""
    extra = len(LONGEST_STAGE) - len(STAGE)
    named = 0
    for lid, r in t.resources.items():
        if r["Type"] not in NAME_LIMITS:
            continue
        prop, limit, page = NAME_LIMITS[r["Type"]]
        value = r.get("Properties", {}).get(prop)
        if value is None:
            continue
        named += 1
        assert STAGE in json.dumps(value) or "Ref" in json.dumps(value), (lid, value)  # unique per stage
        length = _literal_length(value) + (extra if STAGE in json.dumps(value) else 0)
        assert length <= limit, (lid, r["Type"], length, limit, page)
    assert named >= 10


def test_layers_are_pinned_to_the_locked_powertools_release(t: Template) -> None:
    """Powertools for AWS Lambda (Python) documentation, "Lambda Layer": the public SSM parameters
    ``/aws/service/powertools/python/{arch}/{python}/{version}`` name one release each; ``latest`` moves at
    the next deploy, so the deployed functions would run a Powertools the tests never ran. Every layer is
    either built by this stack or the Powertools release in ``uv.lock``."""
    from infra.bundling import locked_version

    version = locked_version("aws-lambda-powertools")
    params = t.json["Parameters"]
    layers = t.of_type("AWS::Lambda::LayerVersion")
    for fid, fn in t.of_type("AWS::Lambda::Function").items():
        for layer in fn["Properties"].get("Layers", []):
            ref = _ref(layer)
            if ref in layers:
                continue
            default = params[ref]["Default"]
            assert params[ref]["Type"] == "AWS::SSM::Parameter::Value<String>", fid
            assert default == f"/aws/service/powertools/python/arm64/python3.13/{version}", (fid, default)
    assert not re.search(r":layer:[^\"]*:latest|/latest\"", json.dumps(t.json))


#: Unzipped size limit of a function's code plus all its layers (AWS Lambda Developer Guide, "Lambda quotas").
UNZIPPED_LIMIT_MB = 250
#: Layers per function (same page).
MAX_LAYERS = 5


def test_each_function_fits_250_mb_unzipped_with_its_layers(t: Template) -> None:
    """AWS Lambda Developer Guide, "Lambda quotas": deployment package plus layers at most 250 MB unzipped,
    and at most five layers per function. Measured on the real bundles (code asset files, the function's
    declared dependencies layers built for arm64/Python 3.13 with the locked versions) and, for the
    AWS-managed Powertools layer, on ``aws-lambda-powertools[all]`` of the locked release installed the same
    way (an upper bound of the managed layer)."""
    from infra.bundling import DependencyLayerBundler, ServiceBundler, locked_version, tree_size

    powertools = DependencyLayerBundler(
        [f"aws-lambda-powertools[all]=={locked_version('aws-lambda-powertools')}"], constraints=""
    ).build()
    layer_size = {
        name: tree_size(DependencyLayerBundler.of(layer).build()) for name, layer in topo.LAYERS.items()
    }
    sizes = {}
    for spec in topo.FUNCTIONS.values():
        code = sum((REPO_ROOT / f).stat().st_size for f in ServiceBundler(spec.service).files())
        own = sum(layer_size[layer.name] for layer in spec.layers)
        sizes[spec.name] = (code + own + tree_size(powertools)) / 2**20
        layers = t.resources[_function_id(t, spec.name)]["Properties"]["Layers"]
        assert len(layers) == 1 + len(spec.layers) <= MAX_LAYERS, spec.name
    assert all(mb < UNZIPPED_LIMIT_MB for mb in sizes.values()), sizes


# --------------------------------------------------------------------------- SES
def test_send_permission_covers_sender_and_recipient_identity(t: Template) -> None:
    """Amazon SES Developer Guide, "Identity and access management in Amazon SES" and "Request production
    access (Moving out of the Amazon SES sandbox)": in the sandbox a message goes only to verified identities,
    and ``ses:SendRawEmail`` is authorised against the recipient identity as well as the sender's. Both
    identities exist in the stack, with the stage's addresses (never the local ``.example`` ones)."""
    identities = {i["Properties"]["EmailIdentity"] for i in t.of_type("AWS::SES::EmailIdentity").values()}
    assert identities == {CONTEXT["mailSender"], CONTEXT["officeEmail"]}
    assert ".example" not in json.dumps(t.json)
    for spec in topo.FUNCTIONS.values():
        fid = _function_id(t, spec.name)
        sends = [
            st
            for st in t.role_statements(t.function_role(fid))
            if "ses:SendRawEmail" in _as_list(st["Action"])
        ]
        assert bool(sends) == bool(spec.mail), spec.name
        for st in sends:
            resources = json.dumps(st["Resource"])
            for address in identities:
                assert f":identity/{address}" in resources, (spec.name, address)
        env = t.resources[fid]["Properties"]["Environment"]["Variables"]
        for m in spec.mail:
            identity = topo.MAIL_IDENTITIES[m]
            assert env[identity.sender_env] == CONTEXT["mailSender"]
            assert env[identity.recipient_env] == CONTEXT["officeEmail"]


def test_a_stage_without_its_addresses_is_refused_naming_the_option() -> None:
    """``make deploy``/``cdk synth`` of a deployed stage without ``-c mailSender``/``-c officeEmail`` stops
    with an error naming the options; the local runtime's ``.example`` addresses are refused as well."""
    import aws_cdk as cdk

    from infra.app import StageConfigError, build

    with pytest.raises(StageConfigError, match=r"-c mailSender=… -c officeEmail=…"):
        build(cdk.App(context={"stage": "prod"}))
    with pytest.raises(StageConfigError, match=r"-c officeEmail="):
        build(cdk.App(context={**CONTEXT, "officeEmail": topo.OFFICE_MAIL.recipient}))


def test_the_local_check_stage_cannot_be_deployed() -> None:
    """CloudFormation User Guide, "Template Rules syntax": a rule whose assertion is false makes stack
    creation and update fail before any resource is touched. The ``local`` stage (``make synth``, with the
    local ``.example`` addresses) carries such a rule."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template as CdkTemplate

    from infra.app import refuse_deployment

    stack = cdk.Stack(cdk.App(), "Check")
    cdk.CfnOutput(stack, "Anything", value="x")
    refuse_deployment(stack)
    rules = CdkTemplate.from_stack(stack).to_json()["Rules"]
    (assertion,) = rules["LocalStageIsNotDeployable"]["Assertions"]
    # CDK's bootstrap version parameter is a number: never in a list of one word
    assert assertion["Assert"] == {"Fn::Contains": [["synth-only-stage"], {"Ref": "BootstrapVersion"}]}
    assert "cannot be deployed" in assertion["AssertDescription"]


def test_a_second_stage_with_the_same_addresses_uses_the_existing_identities() -> None:
    """Amazon SES Developer Guide, "Creating and verifying identities in Amazon SES": an identity exists once
    per account and Region, so a second stack creating the same address fails. With ``-c
    mailIdentities=existing`` a stage creates none and still may send from (and to) exactly those
    identities."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template as CdkTemplate

    from infra.constructs.keys import Keys
    from infra.constructs.service import ServiceConstruct
    from infra.constructs.storage import access_log_bucket

    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    stack = cdk.Stack(cdk.App(context=context), "Second")
    addresses = {topo.OFFICE_MAIL.name: (CONTEXT["mailSender"], CONTEXT["officeEmail"])}
    keys = Keys(stack, "Keys", stage="test")
    for create in (True, False):
        ServiceConstruct(
            stack,
            f"Reporting{create}",
            service="reporting",
            stage="test",
            keys=keys,
            access_logs=access_log_bucket(stack, f"Logs{create}"),
            mail_addresses=addresses,
            create_mail_identities=create,
        )
    identities = CdkTemplate.from_stack(stack).find_resources("AWS::SES::EmailIdentity")
    assert sorted(i["Properties"]["EmailIdentity"] for i in identities.values()) == sorted(
        addresses[topo.OFFICE_MAIL.name]
    )


def test_tables_have_at_most_twenty_global_secondary_indexes(t: Template) -> None:
    """Amazon DynamoDB Developer Guide, "Service, account, and table quotas in Amazon DynamoDB": at most 20
    global secondary indexes per table (default quota). The companions table has one sparse index per school
    (``topology.serving_index``), so the number of schools is bounded by it."""
    counts = [
        len(r["Properties"].get("GlobalSecondaryIndexes", []))
        for r in t.resources.values()
        if r["Type"] == "AWS::DynamoDB::Table"
    ]
    assert counts and max(counts) <= 20, counts
    assert len(topo.COMPANIONS.indexes) > 1 and len(topo.COMPANIONS.indexes) in counts
