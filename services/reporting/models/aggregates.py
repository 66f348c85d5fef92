"""Reporting models: the anonymous per-student projection, derived items and report figures.

Nothing here holds a name, a date of birth or any other direct identifier (docs/datenschutz.md): the
projection keeps the intake's ULID, the school, the categories the events carry (class, gender, age
band, German support, career fields) and the timeline of what happened when.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field

from common.model import Model
from contracts.reference import SCHOOLS

Status = Literal["submitted", "waitlisted", "assigned", "ended", "withdrawn"]
STATUSES: tuple[Status, ...] = ("submitted", "waitlisted", "assigned", "ended", "withdrawn")

COMPANION_COUNTER = "companion"
"""Kind of the caseload counters ``companion#<companion_id>#assigned`` of a school year (one per companion:
the only counters whose number grows with the county; the school-year report does not read them)."""

IN_PROGRAMME, NO_INTERNSHIP = "inprog", "nointern"
"""Kinds of the month counters of a school year, ``inprog#<YYYY-MM>#<school>`` (with a companion that month)
and ``nointern#<YYYY-MM>#<school>`` (and without an internship): an assignment adds to every month to the
end of the school year."""

MONTHS_ITEM = "months"
"""Sort key prefix of the items that held a school's month counters until the counters moved to
:data:`COUNTS_ITEM`: ``months#<school>``, one attribute ``<kind>#<YYYY-MM>`` per counter. Reads still add
them in (a stage may hold them); nothing writes them any more (docs/adr/0023-bounded-report-reads.md)."""

COUNTS_ITEM = "counts"
"""Sort key prefix of the items of ``year#<school year>`` that hold counters as attributes named by their
keys, found from a counter's key (``dal.aggregates.counter_home``): ``counts#<school>`` the counters keyed
``<kind>#<school>#…`` and the school's month counters, ``counts#<school>#<week>`` the other counters keyed
``<kind>#<week>#<school>#…``, and ``counts`` the county's (no school in the key). A fact's transaction
updates a few of these items instead of one item per counter; reads give the counters back by their keys
(docs/adr/0023-bounded-report-reads.md)."""

COMPANION_GOALS = "goals"
"""Partition ``goals#<school year>`` of the companions' goal-agreement items (sort key: the companion): the
companion's students now (``students``), their meetings done (``done``) and due by each due day
(``due<k>``), and how far behind the companion is once ``p`` due days have passed (``behind<p>``), all kept
with ``ADD`` by the consumer and indexed by ``behind<p>`` (``contracts.topology.goals_behind_index``), so a
report reads the companions most behind, not all of them (docs/adr/0023-bounded-report-reads.md)."""


@dataclass(frozen=True)
class CompanionGoals:
    """A companion's goal-agreement figures (from its item in ``goals#<school year>``)."""

    companion_id: str
    students: int
    done: int
    due: tuple[int, ...]
    """Per due day ``k``: the companion's students who were with a companion before it."""

    def due_by(self, passed: int) -> int:
        """Meetings due once the first ``passed`` due days have passed."""
        return sum(self.due[:passed])

    def behind(self, passed: int) -> int:
        return self.due_by(passed) - self.done


EntryKind = Literal["submitted", "waitlisted", "assigned", "reassigned", "ended", "withdrawn"]
"""What a fact adds to a student's timeline (one entry per fact)."""

ReportType = Literal["weekly", "school_year", "status"]

OPEN_WAITS = "waitopen"
"""Partition ``waitopen#<school year>`` of the counters of the students waiting now, by the UTC day their
wait began (``<YYYY-MM-DD>``): what a report sums instead of reading every waiting student
(docs/adr/0023-bounded-report-reads.md)."""
WAITING, WAITED = "waiting", "waited"
"""Index partitions of the waiting periods (``waiting#<school year>``: the open ones by start,
``waited#<school year>``: the ended ones by end), each item with its student's :class:`WaitlistItem`."""


def instant_key(t: datetime) -> str:
    """An instant as a sort key (UTC, microseconds, fixed width: sorts as it orders)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def day_key(t: datetime) -> str:
    """The UTC day of an instant, the prefix of its :func:`instant_key`."""
    return t.astimezone(UTC).strftime("%Y-%m-%d")


class TimelineEntry(Model):
    """One fact on a student's timeline. Entries form a set: the same fact delivered twice adds nothing."""

    model_config = ConfigDict(frozen=True)
    at: datetime
    kind: EntryKind
    companion_id: str = ""

    def sort_key(self) -> tuple[datetime, int, str, str]:
        return (self.at, _KIND_ORDER[self.kind], self.kind, self.companion_id)


_KIND_ORDER = {"submitted": 0, "waitlisted": 1, "assigned": 2, "reassigned": 3, "ended": 4, "withdrawn": 5}


class InternshipState(Model):
    """What reporting knows of one internship: its dates (from ``InternshipStarted``) and its end (from
    ``InternshipEnded``), each part last-writer-wins by the internship's ``revision``."""

    started_revision: int = 0
    start_date: date | None = None
    end_date: date | None = None
    ended_revision: int = 0
    ended_on: date | None = None
    end_reason: str | None = None
    days_completed: int = 0

    @property
    def took_place(self) -> bool:
        return self.start_date is not None and self.end_reason != "not_started"

    @property
    def last_day(self) -> date | None:
        """The last day (of the end, else the planned one; ``None``: open)."""
        return self.ended_on or self.end_date


class StudentState(Model):
    """What reporting knows about one student, merged from every fact in any order.

    Merge rules (see ``logic.projection``) are commutative, associative and idempotent: the timeline
    is a set of entries, the profile and the exit are last-writer-wins by their fact's time. A
    withdrawal erases the profile for good (the counts keep only the withdrawal itself).
    """

    model_config = ConfigDict(extra="ignore")
    intake_id: str
    school_id: str
    school_year: str
    # profile: non-identifying categories, erased when the intake is withdrawn
    class_name: str | None = None
    gender: str | None = None
    age_band: str | None = None
    german_support: bool | None = None
    career_fields: list[str] = Field(default_factory=list)
    profile_at: datetime | None = None
    # what happened when
    timeline: list[TimelineEntry] = Field(default_factory=list)
    waitlist_reason: str | None = None
    waitlist_reason_at: datetime | None = None
    # exit (Verbleib)
    exit_reason: str | None = None
    destination: str | None = None
    with_former_company: bool | None = None
    exit_date: date | None = Field(default=None, description="Decides the school year the student left in")
    with_former_company_at: datetime | None = None
    # casework (ids, dates and codes only): internships by id, goal-agreement meetings (id → day)
    internships: dict[str, InternshipState] = Field(default_factory=dict)
    goal_meetings: dict[str, date] = Field(default_factory=dict)
    exit_at: datetime | None = None
    # withdrawal: the reason code only (counted; never personal data)
    withdrawn_reason: str | None = None
    # optimistic concurrency of the stored item (not part of the merged value)
    version: int = 0

    def content(self) -> dict[str, object]:
        """The merged value without the storage version (to detect "nothing changed")."""
        return self.model_dump(mode="json", exclude={"version"})


class WaitlistItem(Model):
    """A student's waiting periods (office-internal list, trend and the 14-day check); no names."""

    intake_id: str
    school_id: str
    school_year: str
    class_name: str | None = None
    reason: str | None = None
    periods: list[tuple[datetime, datetime | None]] = Field(
        default_factory=list, description="[start, end) of each waiting period; end None = still waiting"
    )

    @property
    def since(self) -> datetime:
        return self.periods[-1][0]

    @property
    def waiting(self) -> bool:
        return bool(self.periods) and self.periods[-1][1] is None

    def waiting_at(self, t: datetime) -> datetime | None:
        """Start of the period in which the student was waiting at ``t`` (None if not waiting then)."""
        for start, end in self.periods:
            if start <= t and (end is None or end > t):
                return start
        return None


class CompanionInfo(Model):
    """What reporting knows about a companion from ``CompanionUpdated``: the name (staff, not student data),
    schools, capacity, FTE."""

    companion_id: str
    name: str | None = None
    school_ids: list[str] = Field(default_factory=list)
    capacity: int = 0
    active: bool = True
    fte: float | None = None
    updated_at: datetime | None = None

    @property
    def display_name(self) -> str:
        """How the office names the companion: the name, else the id (until the name is known)."""
        return self.name or self.companion_id

    @property
    def counts_as_staff(self) -> bool:
        """Counts in staff figures (FTE per school) only while active with a capacity above 0 and a school
        (one on the register with capacity 0 — e.g. a long absence entered that way — accompanies nobody)."""
        return bool(self.active and self.capacity and self.school_ids)


@dataclass(frozen=True)
class CompanionLoad:
    """A companion's caseload in a school year (its counter ``companion#<id>#assigned``) and what the registry
    knows of it (None: no registry update has arrived yet, only its caseload)."""

    companion_id: str
    assigned: int
    info: CompanionInfo | None = None

    @property
    def capacity(self) -> int:
        return self.info.capacity if self.info is not None else 0

    @property
    def ratio(self) -> float:
        """Caseload ÷ capacity; 0 without a capacity (such a companion ranks by its caseload among the 0s)."""
        return self.assigned / self.capacity if self.capacity else 0.0

    @property
    def rank(self) -> tuple[float, int, str]:
        """The order of "most loaded": by caseload ÷ capacity, then caseload (both descending), then code."""
        return (-self.ratio, -self.assigned, self.companion_id)


REGISTRY_TOTALS = ("registry", "totals")
"""Key (pk, sk) of the item with the totals of the companion registry (:class:`RegistryTotals`), kept with
``ADD`` in the transaction of every registry change (docs/adr/0023-bounded-report-reads.md)."""
FTE_SHARE_SCALE = 60
"""A companion's FTE is split evenly between its schools; the shares are stored times 60, so a split between
one to six schools (the county's) stays an exact decimal that ``ADD`` keeps exact."""


def registry_contribution(c: CompanionInfo | None) -> Counter[str]:
    """What one companion adds to the registry totals (attribute of the totals item → amount): 1 companion,
    its capacity, its FTE (and 1 if known), 1 to the companions of its capacity (``cap_<n>``, above 0), and
    while it :attr:`~CompanionInfo.counts_as_staff`, per school its FTE share (``fte60_<school>``, × 60) or,
    without an FTE, 1 to the school's companions of unknown FTE (``fte_unknown_<school>``)."""
    out: Counter[str] = Counter()
    if c is None:
        return out
    out["companions"] += 1
    out["capacity"] += c.capacity
    if c.fte is not None:
        out["fte"] += Decimal(str(c.fte))  # type: ignore[assignment]
        out["with_fte"] += 1
    if c.capacity > 0:
        out[f"cap_{c.capacity}"] += 1
    if c.counts_as_staff:
        for sid in c.school_ids:
            if sid not in SCHOOLS:
                continue
            if c.fte is None:
                out[f"fte_unknown_{sid}"] += 1
            else:
                share = Decimal(str(c.fte)) * FTE_SHARE_SCALE / len(c.school_ids)
                out[f"fte60_{sid}"] += share  # type: ignore[assignment]
    return out


def registry_sum(companions: Iterable[CompanionInfo]) -> Counter[str]:
    """The registry totals of these companions: the sum of their :func:`registry_contribution`."""
    total: Counter[str] = Counter()
    for c in companions:
        total.update(registry_contribution(c))
    return total


@dataclass(frozen=True)
class RegistryTotals:
    """The totals of the companion registry that the reports show (the "Insgesamt" row, FTE per school), and
    how many companions have each capacity (what the most-loaded read bounds its reading with)."""

    companions: int = 0
    capacity: int = 0
    fte: Decimal = Decimal(0)
    with_fte: int = 0
    capacities: Mapping[int, int] = field(default_factory=dict)
    fte_shares: Mapping[str, Decimal] = field(default_factory=dict)
    """Per school the sum of the FTE shares × :data:`FTE_SHARE_SCALE` of its staff companions."""
    fte_unknown: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, values: Mapping[str, int | Decimal]) -> RegistryTotals:
        """From the attributes of the totals item (or a sum of :func:`registry_contribution`)."""

        def per(prefix: str) -> dict[str, Decimal]:
            return {k.removeprefix(prefix): Decimal(v) for k, v in values.items() if k.startswith(prefix)}

        return cls(
            companions=int(values.get("companions", 0)),
            capacity=int(values.get("capacity", 0)),
            fte=Decimal(values.get("fte", 0)),
            with_fte=int(values.get("with_fte", 0)),
            capacities={int(k): int(n) for k, n in per("cap_").items() if n},
            fte_shares=per("fte60_"),
            fte_unknown={k: int(n) for k, n in per("fte_unknown_").items() if n},
        )

    @classmethod
    def recount(cls, companions: Iterable[CompanionInfo]) -> RegistryTotals:
        """The totals of these companions (every one of the registry)."""
        return cls.of(registry_sum(companions))

    def fte_per_school(self) -> dict[str, float | None]:
        """Companion FTE serving each school (rounded to 0.01); None where a staff companion's FTE is unknown
        or no FTE serves the school."""
        out: dict[str, float | None] = {}
        for sid in SCHOOLS:
            share = self.fte_shares.get(sid, Decimal(0))
            out[sid] = (
                None if self.fte_unknown.get(sid) or not share else round(float(share / FTE_SHARE_SCALE), 2)
            )
        return out


class ReportRecord(Model):
    """An entry of the report index (``GET /reports``)."""

    report_id: str
    report_type: ReportType
    school_year: str
    generated_at: datetime
    period_label: str = ""
    formats: list[str] = Field(default_factory=list)
    object_keys: list[str] = Field(default_factory=list)
    run_key: str | None = None
    state: Literal["rendering", "stored", "published", "mailed"] = "rendering"
    subject_ids: list[str] = Field(
        default_factory=list,
        description="Intakes the report lists pseudonymously (waitlist rows); a withdrawal removes its row "
        "from the files and its id from here",
    )
    redacted_rows: int = Field(default=0, description="Rows removed from the files after withdrawals")
    unavailable: dict[str, str] = Field(
        default_factory=dict,
        description="Formats that could not be produced (or had to be removed), with the German reason shown "
        "to the office; the other formats are complete",
    )


@dataclass
class WaitlistSlice:
    """What a report needs of the waitlist, at a few instants: how many students wait (``waiting``) and how
    many of them longer than ``long_days`` (``long``), and ``longest``: the students whose waits may be among
    the ``limit`` longest at ``at`` (at least those, ties included). Read bounded by the store
    (``AggregateStore.waitlist_slice``) or computed from every item (:func:`waitlist_slice`)."""

    at: datetime
    long_days: int
    waiting: dict[datetime, int] = field(default_factory=dict)
    long: dict[datetime, int] = field(default_factory=dict)
    longest: list[WaitlistItem] = field(default_factory=list)


def long_cutoff(t: datetime, long_days: int) -> datetime:
    """The latest start of a wait that lasts longer than ``long_days`` whole days at ``t``."""
    return t - timedelta(days=long_days + 1)


def waitlist_slice(
    items: Iterable[WaitlistItem], *, at: datetime, instants: Sequence[datetime], long_days: int
) -> WaitlistSlice:
    """The slice of every item (the recount the store's bounded read must equal): counts at ``at`` and
    ``instants``, every student waiting at ``at`` as a candidate."""
    items = list(items)
    out = WaitlistSlice(at=at, long_days=long_days)
    for t in {at, *instants}:
        starts = [s for s in (w.waiting_at(t) for w in items) if s is not None]
        out.waiting[t] = len(starts)
        out.long[t] = sum(1 for s in starts if s <= long_cutoff(t, long_days))
    out.longest = [w for w in items if w.waiting_at(at) is not None]
    return out
