"""The live progress line of a scan on a terminal (stderr), with rich's Progress.

``accounts 12/40  regions 130/640  errors 1  throttles 3  ━━━━━━    ETA 0:42``

- totals: accounts found so far; account-regions = accounts found × regions asked for
  (an account that is done counts all its regions, whatever became of them);
- the ETA appears once it can be estimated (rich's speed estimate over the last 30 s,
  after 5 % of the work) and the bar only where the terminal has room: the counts,
  errors and throttles fit 80 columns up to 9999 accounts.

Fed by the scan's one consumer; off (``enabled`` False) when stderr is not a terminal, with
--quiet or -v. The counts are kept either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ekstrio.aws.call_stats import CallStats
from ekstrio.model import Cluster
from ekstrio.scan_records import (
    AccountDone,
    AccountFound,
    Record,
    RecordHandler,
    RegionDone,
    ScanError,
    Skipped,
    dispatch,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

WIDE_ENOUGH_FOR_BAR = 100


class ScanProgress(RecordHandler[None]):
    """Counts a scan's records and shows them live on ``console`` when ``enabled``."""

    def __init__(self, console: Console, *, enabled: bool, stats: CallStats | None = None
                 ) -> None:
        self.console = console
        self.enabled = enabled
        self.stats = stats
        self.regions_per_account = 0
        self.accounts = self.accounts_done = 0
        self.clusters = self.errors = self.skipped = 0
        self._open: dict[str, set[str]] = {}  # regions finished, per account not yet done
        self._progress: Progress | None = None
        self._task: Any = None

    # --- counts ----------------------------------------------------------------------------

    @property
    def regions_total(self) -> int:
        return self.accounts * self.regions_per_account

    @property
    def regions_done(self) -> int:
        finished = sum(len(r) for r in self._open.values())
        return self.accounts_done * self.regions_per_account + finished

    @property
    def regions(self) -> int:  # the older name, for callers that read it
        return self.regions_done

    def line(self) -> str:
        throttles = self.stats.throttles if self.stats is not None else 0
        regions = (f"regions {self.regions_done}/{self.regions_total}"
                   if self.regions_per_account else f"regions {self.regions_done}")
        return (f"accounts {self.accounts_done}/{self.accounts}  {regions}  "
                f"errors {self.errors}  throttles {throttles}")

    def set_regions(self, count: int) -> None:
        """How many regions each account is scanned in (known once the scan has started)."""
        self.regions_per_account = count
        self._refresh()

    def update(self, record: Record) -> None:
        dispatch(record, self)
        self._refresh()

    def on_account_found(self, record: AccountFound) -> None:
        self.accounts += 1
        self._open[record.account.account_id] = set()

    def on_account_done(self, record: AccountDone) -> None:
        self.accounts_done += 1
        self._open.pop(record.account.account_id, None)

    def on_region_done(self, record: RegionDone) -> None:
        self._finished(record.account_id, record.region)

    def on_cluster(self, record: Cluster) -> None:
        self.clusters += 1

    def on_error(self, record: ScanError) -> None:
        self.errors += 1
        if record.account_id and record.region:
            self._finished(record.account_id, record.region)

    def on_skipped(self, record: Skipped) -> None:
        self.skipped += 1
        if record.region:
            self._finished(record.account_id, record.region)

    def _finished(self, account_id: str, region: str) -> None:
        regions = self._open.get(account_id)
        if regions is not None:
            regions.add(region)

    # --- display ---------------------------------------------------------------------------

    def __enter__(self) -> ScanProgress:
        if self.enabled:
            # Imported only when the line is shown: rich.progress (with rich.table and
            # rich.live) is ~8 ms of start-up that a piped, -q or -v scan does not need.
            from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn

            from ekstrio.progress_columns import Eta

            columns: list[ProgressColumn] = [TextColumn("{task.description}", style="cyan")]
            if self.console.width >= WIDE_ENOUGH_FOR_BAR:
                columns.append(BarColumn(bar_width=20))
            columns.append(Eta())
            self._progress = Progress(*columns, console=self.console, transient=True,
                                      refresh_per_second=8, speed_estimate_period=30)
            self._progress.__enter__()
            self._task = self._progress.add_task(self.line(), total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)
            self._progress = None

    def _refresh(self) -> None:
        if self._progress is None:
            return
        total = self.regions_total or None
        self._progress.update(self._task, description=self.line(), total=total,
                              completed=self.regions_done)
