"""The indicators the policy is judged by (SPEC §5): what each event contributes to them, how a month's counters
become figures, the progress formula of the national penitentiary policy's report, and what may be published.

Counters are kept per month (Peru's calendar) and per scope: ``PERU`` (national) and each judicial district.
Each event becomes one *fact* (what the indicators need of it, never who it was about) whose contributions are
added once; the rebuild adds the same contributions again from the kept facts and must agree.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from .control.calendar import PERU
from .ports import AuditEntry
from .requests import CertificateRequest, Status

NATIONAL = "PERU"
# Upper bounds (seconds) of the time histograms: from a one-second clean path to a week-long review.
BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800)
CHECKIN_OUTCOMES = ("registered", "out_of_area", "impersonation", "review", "contingency")
INCIDENT_TYPES = ("impersonation", "out_of_area", "warrant", "missed_checkin", "not_enrolled", "contingency")
SUPPRESSION_THRESHOLD = 5  # published counts below this could point at a person: shown as "<5"


def period_of(moment: datetime) -> str:
    """The month a moment belongs to, in Peru's time (UTC−5): 2026-11."""
    return f"{moment.astimezone(PERU):%Y-%m}"


def months_back(period: str, count: int = 12) -> list[str]:
    """The ``count`` months ending with ``period``, oldest first: a chart's twelve months."""
    year, month = int(period[:4]), int(period[5:])
    out = []
    for _ in range(count):
        out.append(f"{year}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


@dataclass(frozen=True)
class Fact:
    """What one event contributes, stripped of anything personal."""

    event_id: str
    name: str
    occurred_at: datetime
    district: str | None = None  # control events; certificates are national
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def period(self) -> str:
        """The month counted in: the event's, or the day it is about (a missed window counts in the month it
        ended, though the job that finds it runs the day after)."""
        return str(self.data["month"]) if self.data.get("month") else period_of(self.occurred_at)

    @property
    def scopes(self) -> tuple[str, ...]:
        return (NATIONAL, self.district) if self.district else (NATIONAL,)


ISSUED_FACT = "indicator"  # the key of issued_fact_data in request.issued's data


def issued_fact_data(request: CertificateRequest, issued_at: datetime) -> dict[str, Any]:
    """What an issued certificate counts for (SPEC §5), from its request's history: nothing personal. The issuer
    puts it in the request.issued event, so counting it reads nothing; older events are counted from the request."""
    moments = {h.status: h.at for h in request.history}
    paid, reviewed, approved = (moments.get(Status.PAID), moments.get(Status.IN_REVIEW),
                                moments.get(Status.APPROVED))
    return {"peruvian": request.applicant.nationality == "PER", "reviewed": reviewed is not None,
            "payment_to_certificate_s": (issued_at - paid).total_seconds() if paid else None,
            "review_s": (approved - reviewed).total_seconds() if reviewed and approved else None}


def bucket_of(seconds: float) -> int:
    """The histogram bucket (index into BUCKETS, len(BUCKETS) for longer) a duration falls in."""
    return bisect.bisect_left(BUCKETS, max(0.0, seconds))


def contributions(fact: Fact) -> dict[str, int]:
    """The counters a fact adds to (each by an amount), the same whether applied live or rebuilt."""
    d = fact.data
    out: dict[str, int] = {}

    def add(metric: str, amount: int = 1) -> None:
        out[metric] = out.get(metric, 0) + amount

    if fact.name == "request.created":
        add(f"requests.channel.{d.get('channel', 'other')}")
    elif fact.name == "request.issued":
        add(f"certificates.issued.{'peruvian' if d.get('peruvian') else 'foreign'}")
        add(f"certificates.decided.{'reviewer' if d.get('reviewed') else 'automatic'}")
        if d.get("payment_to_certificate_s") is not None:
            add(f"time.payment_to_certificate.b{bucket_of(float(d['payment_to_certificate_s']))}")
        if d.get("review_s") is not None:
            add(f"time.review.b{bucket_of(float(d['review_s']))}")
        add("attentions.online")
    elif fact.name == "payment.refund_due":
        add("refunds.due")
    elif fact.name == "payment.refunded":
        add("refunds.paid")
    elif fact.name == "control.registered":
        add("checkins.registered")
        add("compliance.registered")
    elif fact.name == "control.review_needed":
        add("checkins.review")
    elif fact.name == "control.incident":
        kind = str(d.get("type", ""))
        add(f"incidents.{kind}")
        if kind in ("out_of_area", "impersonation", "contingency") and d.get("checkin"):
            add(f"checkins.{kind}")
        if kind == "missed_checkin":
            add("compliance.missed")
    elif fact.name == "control.outage_ended":
        add("contingencies.count")
        add("contingencies.minutes", int(round(float(d.get("minutes", 0)))))
    return out


# --- from counters to figures ------------------------------------------------------------------------

def quantile(counters: dict[str, int], prefix: str, q: float) -> tuple[int | None, int]:
    """The q-quantile of a time histogram as the upper bound (seconds) of its bucket, and how many values it
    holds; None when empty (or beyond the last bound)."""
    counts = [counters.get(f"{prefix}.b{i}", 0) for i in range(len(BUCKETS) + 1)]
    total = sum(counts)
    if total == 0:
        return None, 0
    rank, seen = q * total, 0
    for i, count in enumerate(counts):
        seen += count
        if seen >= rank and count:
            return (BUCKETS[i] if i < len(BUCKETS) else None), total
    return None, total


def share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class Figure:
    code: str  # e.g. IOP.04.03, OGE4, or an operational name
    value: float | int | None
    unit: str  # "count", "%", "s", "min"
    numerator: int | None = None
    denominator: int | None = None


def figures(counters: dict[str, int], in_person: int | None, national: bool) -> list[Figure]:
    """A month's figures for one scope. Certificates, refunds, OGE4 and contingencies are national."""
    c = counters.get
    result: list[Figure] = []
    registered, missed = c("compliance.registered", 0), c("compliance.missed", 0)
    result.append(Figure("IOP.04.03", share(registered, registered + missed), "%", registered, registered + missed))
    for outcome in CHECKIN_OUTCOMES:
        result.append(Figure(f"checkins.{outcome}", c(f"checkins.{outcome}", 0), "count"))
    for kind in INCIDENT_TYPES:
        result.append(Figure(f"incidents.{kind}", c(f"incidents.{kind}", 0), "count"))
    if not national:
        return result
    peruvian, foreign = c("certificates.issued.peruvian", 0), c("certificates.issued.foreign", 0)
    automatic, reviewer = c("certificates.decided.automatic", 0), c("certificates.decided.reviewer", 0)
    online = c("attentions.online", 0)
    result += [
        Figure("certificates.issued.peruvian", peruvian, "count"),
        Figure("certificates.issued.foreign", foreign, "count"),
        Figure("certificates.decided.automatic", share(automatic, automatic + reviewer), "%", automatic,
               automatic + reviewer),
        Figure("certificates.decided.reviewer", share(reviewer, automatic + reviewer), "%", reviewer,
               automatic + reviewer),
        Figure("OGE4", share(online, online + in_person) if in_person is not None else None, "%", online,
               online + in_person if in_person is not None else None),
        Figure("refunds.due", c("refunds.due", 0), "count"),
        Figure("refunds.paid", c("refunds.paid", 0), "count"),
        Figure("contingencies.count", c("contingencies.count", 0), "count"),
        Figure("contingencies.minutes", c("contingencies.minutes", 0), "min"),
    ]
    for name, prefix, q in (("time.review.median", "time.review", 0.5), ("time.review.p90", "time.review", 0.9),
                            ("time.payment_to_certificate.median", "time.payment_to_certificate", 0.5),
                            ("time.payment_to_certificate.p95", "time.payment_to_certificate", 0.95)):
        value, total = quantile(counters, prefix, q)
        result.append(Figure(name, value, "s", None, total))
    channels = sorted(k.removeprefix("requests.channel.") for k in counters if k.startswith("requests.channel."))
    result += [Figure(f"requests.channel.{ch}", c(f"requests.channel.{ch}", 0), "count") for ch in channels]
    return result


# --- targets and the policy report's progress formula ----------------------------------------------------

@dataclass(frozen=True)
class Target:
    code: str
    baseline: float
    expected: float
    baseline_year: int | None = None
    expected_year: int | None = None


# The report's published values, as seeded defaults (national penitentiary policy, 2020 report). OGE4 has no
# published baseline or target (the e-government plan gives only its formula): an administrator sets them, as
# for the shares below. (The report's IOP.01.02, people held without sentence, is not this system's to count.)
DEFAULT_TARGETS = {
    "IOP.04.03": Target("IOP.04.03", 41.0, 34.9, 2019, 2020),
}
TARGETABLE = ("IOP.04.03", "OGE4", "certificates.decided.automatic", "certificates.decided.reviewer")


@dataclass(frozen=True)
class Progress:
    """The footnote's formula, (obtained − baseline) / (expected − baseline) × 100, and obtained ÷ expected
    (what the report's published rows actually show) labelled as such."""

    formula: float | None
    undefined_reason: str | None
    ratio_to_expected: float | None


def progress(obtained: float | None, target: Target) -> Progress:
    if obtained is None:
        return Progress(None, "no_value", None)
    ratio = round(100.0 * obtained / target.expected, 1) if target.expected else None
    if target.expected == target.baseline:
        return Progress(None, "expected_equals_baseline", ratio)
    return Progress(round(100.0 * (obtained - target.baseline) / (target.expected - target.baseline), 1), None, ratio)


def parse_target(code: str, payload: Any) -> Target:
    from .errors import ValidationError

    if not isinstance(payload, dict):
        raise ValidationError("Expected {\"baseline\": number, \"expected\": number}.", field="baseline")
    values = {}
    for name in ("baseline", "expected"):
        value = payload.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise ValidationError("Expected a percentage from 0 to 100.", field=name)
        values[name] = float(value)
    years = {}
    for name in ("baseline_year", "expected_year"):
        year = payload.get(name)
        if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100):
            raise ValidationError("Expected a year such as 2026.", field=name)
        years[name] = year
    unknown = sorted(set(payload) - {"baseline", "expected", "baseline_year", "expected_year"})
    if unknown:
        raise ValidationError("Unknown field.", field=unknown[0], code="unknown_field")
    return Target(code, values["baseline"], values["expected"], years["baseline_year"], years["expected_year"])


# --- publication -----------------------------------------------------------------------------------------

def published(figure: Figure) -> str:
    """What the public page may show: a count below the threshold, or a share of fewer people than it, could
    point at a person and is suppressed."""
    if figure.value is None:
        return "—"
    if figure.unit == "count" and 0 < int(figure.value) < SUPPRESSION_THRESHOLD:
        return f"<{SUPPRESSION_THRESHOLD}"
    if figure.unit == "%" and figure.denominator is not None and figure.denominator < SUPPRESSION_THRESHOLD:
        return f"<{SUPPRESSION_THRESHOLD}"
    if figure.unit == "%":
        return f"{figure.value:.1f}"
    return str(figure.value)


# --- the port ----------------------------------------------------------------------------------------------

class IndicatorStore(Protocol):
    def apply(self, fact: Fact, added: dict[str, int]) -> bool:
        """Keep the fact and add its contributions to the counters of each of its scopes, all at once;
        False (and nothing added) when the fact was kept before."""
        ...

    def counters(self, period: str, scope: str) -> dict[str, int]: ...
    def facts(self, period: str) -> list[Fact]: ...
    def replace_counters(self, period: str, scope: str, counters: dict[str, int]) -> None: ...
    def target(self, code: str) -> Target | None: ...
    def put_target(self, target: Target, audit: AuditEntry) -> None: ...
    def in_person(self, period: str) -> dict[str, int]: ...
    def put_in_person(self, period: str, offices: dict[str, int], audit: AuditEntry) -> None: ...
