"""Reporting use cases on incoming facts: merge into the student's state, update counters, alert the office.

Read → merge → write the new state with the counter deltas in one conditional transaction; on a
concurrent change re-read and merge again (a student's first fact is written without the read). A fact
that changes nothing (a duplicate, or an old fact whose information is already there) writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.calendar import local_date
from contracts.events import (
    AssignmentEndedData,
    CompanionAssignedData,
    CompanionReassignedData,
    CompanionUpdatedData,
    IntakeSubmittedData,
    IntakeWithdrawnData,
    Metadata,
    StudentWaitlistedData,
)
from contracts.reference import school_year_of
from services.reporting.dal.aggregates import AggregateStore, ReportStore, StaleStateError
from services.reporting.logic import alerts, redact
from services.reporting.logic.projection import Fact, deltas, merge, waitlist_item
from services.reporting.models.aggregates import CompanionInfo, StudentState

MAX_RETRIES = 10


@dataclass(frozen=True)
class Change:
    old: StudentState | None
    new: StudentState
    companions: frozenset[str]  # companions whose caseload changed

    @property
    def changed(self) -> bool:
        return self.old is None or self.old.content() != self.new.content()


def apply_fact(fact: Fact, *, store: AggregateStore) -> Change:
    """Merge ``fact`` into the stored state of its student and write the counter deltas.

    An ``IntakeSubmitted`` nearly always starts its student: it is first written as if no state existed,
    without reading (the write is conditional on that). A later fact starts from the state this process
    wrote last for the student, if it remembers it (``store.last_written``), again without reading. Either
    way the write is conditional on the version it started from; if the state is not what it assumed, it is
    read and merged like any other fact."""
    for attempt in range(MAX_RETRIES):
        known = store.last_written(fact.intake_id) if attempt == 0 else None
        if attempt == 0 and isinstance(fact, IntakeSubmittedData) and known is None:
            old = None
        else:
            old = known or store.get_state(fact.intake_id)
        new = merge(old, fact)
        if old is not None and old.content() == new.content():
            if known is not None:
                continue  # "nothing changed" by what this process wrote last: confirm with a read
            return Change(old, old, frozenset())
        d = deltas(old, new)
        wl_old, wl_new = waitlist_item(old) if old else None, waitlist_item(new)
        # the waitlist item expires with the state: rewritten when it or the school year left changes; the
        # index items of the periods it no longer has go with the old one
        moved = old is not None and old.exit_date != new.exit_date
        write = wl_new != wl_old or moved
        try:
            store.save_state(old, new, d, wl_new if write else None, replaces=wl_old if write else None)
        except StaleStateError:
            continue
        comps = frozenset(k.split("#")[1] for (_, k) in d if k.startswith("companion#"))
        return Change(old, new, comps)
    raise StaleStateError(fact.intake_id)


#: The facts that change a companion's caseload. A retry of one checks the companions it names again (its
#: first delivery may have saved the state and failed at the alert); casework's facts name the companion too
#: but never change a caseload, so they check nothing (one read fewer per internship, meeting, exit company).
CASELOAD_FACTS = (CompanionAssignedData, CompanionReassignedData, AssignmentEndedData)


@dataclass
class Consumer:
    """The fact handlers of the reporting consumer (bound to a store and the report files)."""

    store: AggregateStore
    reports: ReportStore | None = None

    def _apply(self, fact: Fact, at: datetime) -> Change:
        change = apply_fact(fact, store=self.store)
        # also the companions the fact names: a retry after a failed alert must check them again
        fields = ("companion_id", "from_companion_id", "to_companion_id")
        named = {getattr(fact, f, None) for f in fields} if isinstance(fact, CASELOAD_FACTS) else set()
        for cid in sorted(change.companions | {c for c in named if c}):
            sy = change.new.school_year
            if (
                isinstance(fact, CompanionAssignedData)
                and cid == fact.companion_id
                and fact.companion_caseload is not None
                and fact.companion_capacity is not None
            ):  # the event tells the caseload the claim left: no read
                alerts.companion_assigned(
                    cid, sy, fact.companion_caseload, fact.companion_capacity, store=self.store, now=at
                )
            else:
                alerts.companion_capacity(cid, sy, store=self.store, now=at)
        alerts.student_placed(change.new, store=self.store, now=at)
        return change

    def on_fact(self, meta: Metadata, fact: Fact) -> None:
        self._apply(fact, meta.occurred_at)

    def on_withdrawn(self, meta: Metadata, fact: IntakeWithdrawnData) -> None:
        """Erase the student's profile (the counts stay) and its rows in stored reports."""
        self._apply(fact, meta.occurred_at)
        if self.reports is not None:
            redact.erase_from_reports(
                fact.intake_id, store=self.store, reports=self.reports, now=meta.occurred_at
            )

    def on_waitlisted(self, meta: Metadata, fact: StudentWaitlistedData) -> None:
        change = self._apply(fact, meta.occurred_at)
        alerts.student_waitlisted(change.new, store=self.store, now=meta.occurred_at)

    def on_companion_updated(self, meta: Metadata, d: CompanionUpdatedData) -> None:
        stored = self.store.put_companion(
            CompanionInfo(
                companion_id=d.companion_id,
                name=d.name,
                school_ids=d.school_ids,
                capacity=d.capacity,
                active=d.active,
                fte=d.fte,
                updated_at=d.updated_at,
            )
        )
        if stored:
            alerts.companion_capacity(
                d.companion_id,
                school_year_of(local_date(d.updated_at)),
                store=self.store,
                now=meta.occurred_at,
            )
