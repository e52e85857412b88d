"""What a scan produces: the records it streams, and the report they add up to.

Records flow from the producers of the nursery tree over one memory channel to one
consumer, which feeds them to a :class:`ScanCollector` (and to output/progress). The
collector turns them into a frozen :class:`ScanReport` at the end, including the work
a deadline or Ctrl-C left unfinished.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Generic, TypeVar, assert_never

from ekstrio.aws.call_stats import CallStats
from ekstrio.model import Account, Cluster


class Stage(StrEnum):
    """Where in an account's or region's work something failed or stopped (JSON: the value)."""

    ACCOUNTS = "accounts"
    LIST_ROLES = "list_roles"
    CREDENTIALS = "credentials"
    LIST_CLUSTERS = "list_clusters"
    DESCRIBE_CLUSTER = "describe_cluster"


@dataclass(frozen=True, slots=True)
class ScanError:
    """A failure of one account (``region`` None), one region, or the account list."""

    account_id: str | None
    account_name: str | None
    region: str | None
    role: str | None
    stage: Stage
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """Nothing to scan, and that is not a failure (region not enabled, no matching role)."""

    account_id: str
    region: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class RegionDone:
    """ListClusters of one account/region was read to the end (``complete``: and every
    DescribeCluster answered)."""

    account_id: str
    region: str
    complete: bool


@dataclass(frozen=True, slots=True)
class AccountFound:
    account: Account


@dataclass(frozen=True, slots=True)
class AccountDone:
    account: Account


Record = Cluster | ScanError | Skipped | RegionDone | AccountFound | AccountDone

T = TypeVar("T")


class RecordHandler(Generic[T]):
    """What a consumer does with each kind of record: override the kinds it cares about.

    The one dispatch over record kinds (:func:`dispatch`): the collector, the progress
    display, the NDJSON writer and the ``-v`` log are handlers, so a new kind of record is
    one edit here (its class, ``Record``, a method with a default, a ``case``), and mypy
    (``assert_never``) refuses a kind that ``dispatch`` forgets. Every default is None: a
    record a handler does not override is ignored by it.
    """

    def on_cluster(self, record: Cluster) -> T | None:
        return None

    def on_error(self, record: ScanError) -> T | None:
        return None

    def on_skipped(self, record: Skipped) -> T | None:
        return None

    def on_region_done(self, record: RegionDone) -> T | None:
        return None

    def on_account_found(self, record: AccountFound) -> T | None:
        return None

    def on_account_done(self, record: AccountDone) -> T | None:
        return None


def dispatch(record: Record, handler: RecordHandler[T]) -> T | None:
    """``handler``'s method for ``record``'s kind, called; what it returns."""
    match record:
        case Cluster():
            return handler.on_cluster(record)
        case ScanError():
            return handler.on_error(record)
        case Skipped():
            return handler.on_skipped(record)
        case RegionDone():
            return handler.on_region_done(record)
        case AccountFound():
            return handler.on_account_found(record)
        case AccountDone():
            return handler.on_account_done(record)
        case _:
            assert_never(record)


@dataclass(frozen=True, slots=True)
class ScanReport:
    clusters: tuple[Cluster, ...]
    errors: tuple[ScanError, ...]
    skipped: tuple[Skipped, ...]
    completed: tuple[tuple[str, str], ...]
    accounts: int
    regions_scanned: int
    regions_skipped: int
    api_calls: int
    retries: int
    throttles: int
    started_at: datetime
    finished_at: datetime
    duration_s: float
    timed_out: bool = False
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        return not self.errors and not self.timed_out and not self.interrupted


# Pending work: (account_id | None, region | None) -> (stage, role, account_name).
PendingKey = tuple[str | None, str | None]
PendingValue = tuple[Stage, str | None, str | None]


class Frontier:
    """The unfinished work of a scan: what each account (region None) and account/region is
    doing now. The scan's tasks are its only writers, through ``enter`` and ``leave``.

    An entry is left only when its work ends normally, never in a ``finally``: after a
    deadline or a Ctrl-C the entries that remain are exactly the unfinished work, with its
    stage, and the collector reports them as errors.
    """

    def __init__(self) -> None:
        self._work: dict[PendingKey, PendingValue] = {}

    def enter(self, key: PendingKey, stage: Stage, role: str | None = None,
              account_name: str | None = None) -> None:
        self._work[key] = (stage, role, account_name)

    def leave(self, key: PendingKey) -> None:
        del self._work[key]

    def __len__(self) -> int:
        return len(self._work)

    def unfinished(self) -> list[tuple[PendingKey, PendingValue]]:
        return sorted(self._work.items(), key=lambda item: (item[0][0] or "", item[0][1] or ""))

    def clear(self) -> None:
        self._work.clear()


@dataclass
class ScanCollector(RecordHandler[None]):
    """Adds up records; mutable, owned by the one consumer task (and the caller after it)."""

    stats: CallStats = field(default_factory=CallStats)
    frontier: Frontier = field(default_factory=Frontier)
    timed_out: bool = False
    clusters: dict[tuple[str, str, str], Cluster] = field(default_factory=dict)
    errors: list[ScanError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    completed: list[tuple[str, str]] = field(default_factory=list)
    accounts_found: int = 0
    accounts_done: int = 0
    regions_scanned: int = 0
    _started_at: datetime | None = None
    _started: float = 0.0
    _report: ScanReport | None = None

    def start(self) -> None:
        if self._started_at is None:
            self._started_at = datetime.now(UTC).replace(microsecond=0)
            self._started = time.monotonic()

    def add(self, record: Record) -> None:
        dispatch(record, self)

    def on_cluster(self, record: Cluster) -> None:
        key = (record.account_id, record.region, record.name)
        previous = self.clusters.get(key)
        if previous is not None:
            # The same cluster seen through another role: one cluster, several roles.
            roles = tuple(dict.fromkeys((*previous.roles, *record.roles)))
            record = Cluster(record.account_id, record.account_name, record.region,
                             record.info, roles)
        self.clusters[key] = record

    def on_error(self, record: ScanError) -> None:
        self.errors.append(record)

    def on_skipped(self, record: Skipped) -> None:
        self.skipped.append(record)

    def on_region_done(self, record: RegionDone) -> None:
        self.regions_scanned += 1
        if record.complete:
            self.completed.append((record.account_id, record.region))

    def on_account_found(self, record: AccountFound) -> None:
        self.accounts_found += 1

    def on_account_done(self, record: AccountDone) -> None:
        self.accounts_done += 1

    def unfinished(self, *, interrupted: bool) -> list[ScanError]:
        """The pending work as error records: what the deadline or Ctrl-C cut short."""
        if interrupted:
            code, why = "Interrupted", "the scan was interrupted before this finished"
        else:
            code, why = "ScanTimeout", "the scan's deadline (--timeout) ended before this finished"
        records = []
        for (account_id, region), (stage, role, name) in self.frontier.unfinished():
            records.append(ScanError(account_id, name, region, role, stage, code, why))
        return records

    def finish(
        self, *, interrupted: bool = False, on_record: Callable[[Record], None] | None = None
    ) -> ScanReport:
        if self._report is not None:
            return self._report
        self.start()
        if self.timed_out or interrupted:
            for record in self.unfinished(interrupted=interrupted):
                self.add(record)
                if on_record is not None:
                    on_record(record)
        self.frontier.clear()
        assert self._started_at is not None  # noqa: S101 - set by start() above
        self._report = ScanReport(
            clusters=tuple(sorted(self.clusters.values(),
                                  key=lambda c: (c.account_id, c.region, c.name))),
            errors=tuple(self.errors),
            skipped=tuple(sorted(self.skipped,
                                 key=lambda s: (s.account_id, s.region or ""))),
            completed=tuple(sorted(self.completed)),
            accounts=self.accounts_found,
            regions_scanned=self.regions_scanned,
            regions_skipped=sum(1 for s in self.skipped if s.region is not None),
            api_calls=self.stats.calls,
            retries=self.stats.retries,
            throttles=self.stats.throttles,
            started_at=self._started_at,
            finished_at=datetime.now(UTC).replace(microsecond=0),
            duration_s=round(time.monotonic() - self._started, 3),
            timed_out=self.timed_out,
            interrupted=interrupted,
        )
        return self._report
