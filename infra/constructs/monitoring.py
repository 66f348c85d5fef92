"""Alarms, the alarm topic and the operations dashboard.

* one KMS-encrypted SNS topic ``avdual-<stage>-alarms`` is the action of every alarm; an e-mail
  subscription is added when context ``alarmEmail`` is set (``cdk deploy -c alarmEmail=…``);
* alarms: depth > 0 of every DLQ, errors and throttles of every function, 5xx of the API stage, the
  iterator age of every outbox relay (its stream event source mapping falls behind);
* dashboard ``avdual-<stage>``: the same metrics plus invocations, durations and API latency.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.keys import Keys, alarm_arn_pattern
from infra.nag import REASON_IS_DLQ, REASON_NOT_REDRIVE_SOURCE, acknowledge
from infra.naming import construct_id
from infra.queues import dead_letter_queue

PERIOD = Duration.minutes(5)
DLQ_PERIOD = Duration.minutes(1)
#: An outbox relay whose oldest unprocessed stream record is older than this is behind (its events are late).
RELAY_ITERATOR_AGE_ALARM = Duration.minutes(5)


def topic_name(stage: str) -> str:
    return f"avdual-{stage}-alarms"


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        stage: str,
        keys: Keys,
        functions: Mapping[str, lambda_.Function],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        api_stage: apigw.Stage,
        relays: Mapping[str, lambda_.IFunction],
        alarm_email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id_)
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=topic_name(stage),
            display_name=f"AV dual {stage}: Alarme",
            master_key=keys.messaging,
            enforce_ssl=True,
        )
        # ``enforce_ssl`` gives the topic a policy of its own, which replaces SNS's default policy: without
        # this statement CloudWatch may not publish, and no alarm would ever notify anyone
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisStage",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": alarm_arn_pattern(stage)},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        if alarm_email:
            keys.allow_sns_to_use_messaging_key(topic_name(stage))
            # CDK adds the queue policy for sns.amazonaws.com (aws:SourceArn = this topic)
            delivery_dlq = dead_letter_queue(
                self, "AlarmDeliveryDlq", keys.messaging, kind="alarm", of=topic_name(stage)
            )
            what = "undeliverable alarm e-mails"
            acknowledge(delivery_dlq, "Serverless-SQSRedrivePolicy", REASON_IS_DLQ.format(of=what))
            acknowledge(delivery_dlq, "AwsSolutions-SQS3", REASON_NOT_REDRIVE_SOURCE.format(of=what))
            self.topic.add_subscription(subs.EmailSubscription(alarm_email, dead_letter_queue=delivery_dlq))
            dead_letter_queues = {**dead_letter_queues, "alarm-delivery": delivery_dlq}
        action = cw_actions.SnsAction(self.topic)
        self.alarms: dict[str, cw.Alarm] = {}

        def alarm(
            name: str, metric: cw.IMetric, description: str, periods: int = 1, threshold: float = 0
        ) -> cw.Alarm:
            a = cw.Alarm(
                self,
                construct_id(name) + "Alarm",
                alarm_name=f"avdual-{stage}-{name}",
                alarm_description=description,
                metric=metric,
                threshold=threshold,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
            a.add_alarm_action(action)
            self.alarms[name] = a
            return a

        dlq_metrics = {}
        for name, q in sorted(dead_letter_queues.items()):
            metric = q.metric_approximate_number_of_messages_visible(period=DLQ_PERIOD, statistic="Maximum")
            dlq_metrics[name] = metric.with_(label=name)
            alarm(
                f"dlq-{name}", metric, f"Nachrichten in der DLQ {name}: prüfen und mit `avdual ops` redriven."
            )

        fn_metrics: dict[str, dict[str, cw.Metric]] = {}
        for name, fn in sorted(functions.items()):
            m = {
                "errors": fn.metric_errors(period=PERIOD, statistic="Sum"),
                "throttles": fn.metric_throttles(period=PERIOD, statistic="Sum"),
                "invocations": fn.metric_invocations(period=PERIOD, statistic="Sum"),
                "duration": fn.metric_duration(period=PERIOD, statistic="p95"),
            }
            alarm(f"{name}-errors", m["errors"], f"Lambda {name}: Fehler (Errors > 0).")
            alarm(f"{name}-throttles", m["throttles"], f"Lambda {name}: gedrosselt (Throttles > 0).")
            fn_metrics[name] = {k: v.with_(label=name) for k, v in m.items()}

        api_5xx = api_stage.metric_server_error(period=PERIOD, statistic="Sum")
        alarm("api-5xx", api_5xx, "API: Serverfehler (5XXError > 0).")
        api_5xx = api_5xx.with_(label="5xx")

        relay_age = {}
        for table, relay in sorted(relays.items()):
            # IteratorAge: age of the last record of each batch the stream event source mapping hands over
            metric = relay.metric("IteratorAge", period=PERIOD, statistic="Maximum")
            relay_age[table] = metric.with_(label=table)
            minutes = int(RELAY_ITERATOR_AGE_ALARM.to_minutes())
            alarm(
                f"{table}-relay-behind",
                metric,
                f"Outbox-Relay {table}: Events verspätet (Iterator-Alter über {minutes} Minuten).",
                threshold=RELAY_ITERATOR_AGE_ALARM.to_milliseconds(),
            )

        self.dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"avdual-{stage}",
            default_interval=Duration.days(1),
        )
        self.dashboard.add_widgets(
            cw.AlarmStatusWidget(title="Alarme", alarms=list(self.alarms.values()), width=24, height=4)
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="DLQ-Tiefe", left=list(dlq_metrics.values()), width=12),
            cw.GraphWidget(
                title="API",
                left=[api_5xx, api_stage.metric_client_error(period=PERIOD, statistic="Sum", label="4xx")],
                right=[api_stage.metric_latency(period=PERIOD, statistic="p95", label="Latenz p95")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Lambda Fehler", left=[m["errors"] for m in fn_metrics.values()], width=8),
            cw.GraphWidget(
                title="Lambda Drosselung", left=[m["throttles"] for m in fn_metrics.values()], width=8
            ),
            cw.GraphWidget(
                title="Lambda Aufrufe", left=[m["invocations"] for m in fn_metrics.values()], width=8
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title="Lambda Dauer p95", left=[m["duration"] for m in fn_metrics.values()], width=12
            ),
            cw.GraphWidget(title="Outbox-Relays: Iterator-Alter", left=list(relay_age.values()), width=12),
        )
