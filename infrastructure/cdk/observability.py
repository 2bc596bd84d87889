"""What the operators watch (issue 16): alarms on rates and p99 latency rather than on one error, alarms on the
business metrics the functions publish in CloudWatch EMF (chalicelib.metrics), and one dashboard per stage."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

from chalicelib.metrics import BUSINESS_METRICS, NAMESPACE

FIVE_MINUTES = cdk.Duration.minutes(5)
ERROR_RATE_PERCENT = 5.0  # of a function's invocations, three 5-minute periods running
API_5XX_RATE = 0.02  # API Gateway's 5XXError average is the share of requests answered 5xx
API_P99_MS = 3000.0  # a citizen's request; the PDF check and document downloads included
DURATION_P99_SHARE = 0.8  # of the function's timeout


def add_observability(stack: Any) -> None:
    error_rate_alarms(stack)
    latency_alarms(stack)
    business_alarms(stack)
    dashboard(stack)


def _alarm(stack: Any, construct_id: str, description: str, metric: cloudwatch.IMetric, threshold: float,
           periods: int = 3) -> cloudwatch.Alarm:
    alarm = cloudwatch.Alarm(
        stack, construct_id, alarm_description=description, metric=metric, threshold=threshold,
        evaluation_periods=periods, datapoints_to_alarm=periods,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
    alarm.add_alarm_action(stack.alarm_action)
    return alarm


def _lambda(metric: str, function_name: str, statistic: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace="AWS/Lambda", metric_name=metric, statistic=statistic, period=FIVE_MINUTES,
                             dimensions_map={"FunctionName": function_name})


def _api(metric: str, stack: Any, statistic: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace="AWS/ApiGateway", metric_name=metric, statistic=statistic,
                             period=FIVE_MINUTES, dimensions_map={"ApiName": stack.api_name, "Stage": stack.api_stage})


def business(metric: str, stack: Any, statistic: str = "Sum") -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace=NAMESPACE, metric_name=metric, statistic=statistic, period=FIVE_MINUTES,
                             dimensions_map={"Stage": stack.options.stage})


def error_rate_alarms(stack: Any) -> None:
    for logical, function_name in stack.function_names.items():
        rate = cloudwatch.MathExpression(
            expression="100 * errors / MAX([invocations, 1])", period=FIVE_MINUTES, label=f"{logical} error %",
            using_metrics={"errors": _lambda("Errors", function_name, "Sum"),
                           "invocations": _lambda("Invocations", function_name, "Sum")})
        _alarm(stack, f"{logical}ErrorRateAlarm",
               f"{logical}: more than {ERROR_RATE_PERCENT:g}% of invocations failed, 15 minutes running",
               rate, ERROR_RATE_PERCENT)
    _alarm(stack, "Api5xxRateAlarm",
           f"The HTTP API answered 5xx to more than {API_5XX_RATE:.0%} of requests, 15 minutes running",
           _api("5XXError", stack, "Average"), API_5XX_RATE)


def latency_alarms(stack: Any) -> None:
    _alarm(stack, "ApiLatencyP99Alarm", f"The HTTP API's p99 latency is above {API_P99_MS:g} ms, 15 minutes running",
           _api("Latency", stack, "p99"), API_P99_MS)
    for logical, function_name in stack.function_names.items():
        timeout_s = stack.function_timeouts.get(logical, 30)
        _alarm(stack, f"{logical}DurationP99Alarm",
               f"{logical}: p99 duration above {DURATION_P99_SHARE:.0%} of its {timeout_s} s timeout",
               _lambda("Duration", function_name, "p99"), timeout_s * 1000 * DURATION_P99_SHARE)


def business_alarms(stack: Any) -> None:
    # A registry down is a contingency (annex 5): tell someone at the first one, it changes how people are served.
    _alarm(stack, "ContingencyStartedAlarm", "A registry is down: the contingency plan (annex 5) is in force",
           business("ContingenciesStarted", stack), 0, periods=1)
    # Check-ins held for an officer's review are normal one by one; a surge means an attack or a broken matcher.
    _alarm(stack, "ReviewSurgeAlarm", "More than 50 check-ins held for review in each of three 5-minute periods",
           business("CheckInsHeldForReview", stack), 50)


def dashboard(stack: Any) -> None:
    board = cloudwatch.Dashboard(stack, "Dashboard", dashboard_name=f"{stack.api_name}",
                                 default_interval=cdk.Duration.hours(24))
    names = stack.function_names
    board.add_widgets(
        cloudwatch.GraphWidget(title="API requests and 4xx/5xx", width=8, left=[
            _api("Count", stack, "Sum"), _api("4XXError", stack, "Sum"), _api("5XXError", stack, "Sum")]),
        cloudwatch.GraphWidget(title="API latency (ms)", width=8, left=[
            _api("Latency", stack, "p50"), _api("Latency", stack, "p99"),
            _api("IntegrationLatency", stack, "p99")]),
        cloudwatch.GraphWidget(title="Firewall: blocked requests", width=8, left=[
            cloudwatch.Metric(namespace="AWS/WAFV2", metric_name="BlockedRequests", statistic="Sum",
                              period=FIVE_MINUTES, dimensions_map={"WebACL": f"{stack.api_name}-waf", "Rule": "ALL",
                                                                   "Region": cdk.Aws.REGION})]),
    )
    board.add_widgets(
        cloudwatch.GraphWidget(title="Function errors", width=8,
                               left=[_lambda("Errors", n, "Sum").with_(label=logical)
                                     for logical, n in names.items()]),
        cloudwatch.GraphWidget(title="Function duration p99 (ms)", width=8,
                               left=[_lambda("Duration", n, "p99").with_(label=logical)
                                     for logical, n in names.items()]),
        cloudwatch.GraphWidget(title="Concurrency and throttles", width=8,
                               left=[_lambda("ConcurrentExecutions", n, "Maximum").with_(label=logical)
                                     for logical, n in names.items()],
                               right=[_lambda("Throttles", n, "Sum").with_(label=f"{logical} throttles")
                                      for logical, n in names.items()]),
    )
    board.add_widgets(
        cloudwatch.GraphWidget(title="Certificates", width=8, left=[
            business(m, stack) for m in ("CertificateRequests", "CertificatesIssued", "RefundsPaid")]),
        cloudwatch.GraphWidget(title="Virtual penal control", width=8, left=[
            business(m, stack) for m in ("CheckInsRegistered", "CheckInsHeldForReview", "Incidents")]),
        cloudwatch.GraphWidget(title="Contingencies and queues", width=8, left=[
            business("ContingenciesStarted", stack), business("ContingenciesEnded", stack)],
            right=[stack.dead_letters.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES),
                   stack.async_failures.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES)]),
    )
    missing = set(BUSINESS_METRICS.values()) - {
        "CertificateRequests", "CertificatesIssued", "RefundsPaid", "CheckInsRegistered", "CheckInsHeldForReview",
        "Incidents", "ContingenciesStarted", "ContingenciesEnded"}
    if missing:
        raise ValueError(f"business metrics with no place on the dashboard: {sorted(missing)}")
    stack.dashboard = board
