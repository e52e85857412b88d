"""How a scan is shown: NDJSON lines, a rich table, live progress, the --diff.

Data goes to stdout, progress and logs to stderr; consoles are passed in so tests can
capture them. The JSON shapes are the scan document's (:mod:`ekstrio.scan_document`), the
stable schema of docs/output.md. No credential or token ever reaches any of them: records
carry none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from ekstrio import table
from ekstrio.logs import account_label
from ekstrio.model import Cluster
from ekstrio.scan_diff import InventoryDiff
from ekstrio.scan_document import ClusterEntry, ErrorEntry, ScanDocument, SkippedEntry, Summary
from ekstrio.scan_records import (
    AccountDone,
    AccountFound,
    Record,
    RegionDone,
    ScanError,
    ScanReport,
    Skipped,
)


def ndjson_record(record: Record) -> dict[str, Any] | None:
    """One NDJSON object for a streamed record; None for progress-only records."""
    if isinstance(record, Cluster):
        return {"type": "cluster", **ClusterEntry.from_cluster(record).to_json()}
    if isinstance(record, ScanError):
        return {"type": "error", **ErrorEntry.from_error(record).to_json()}
    if isinstance(record, Skipped):
        return {"type": "skipped", **SkippedEntry.from_skipped(record).to_json()}
    return None


def ndjson_lines(doc: ScanDocument) -> Iterator[dict[str, Any]]:
    """A saved document as NDJSON objects: its records, then the summary (``scan --cached``)."""
    for entry in doc.clusters:
        yield {"type": "cluster", **entry.to_json()}
    for error in doc.errors:
        yield {"type": "error", **error.to_json()}
    for skipped in doc.skipped:
        yield {"type": "skipped", **skipped.to_json()}
    yield ndjson_summary(doc)


def ndjson_summary(doc: ScanDocument) -> dict[str, Any]:
    """The last NDJSON line: the summary with what the records alone do not say."""
    return {
        "type": "summary",
        **doc.summary.to_json(),
        "sso": doc.sso.to_json(),
        "partition": doc.partition,
        "started_at": doc.started_at,
        "finished_at": doc.finished_at,
        "completed": doc.completed_json(),
    }


def dumps_line(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


# --- terminal ---------------------------------------------------------------------------


def clusters_table(rows: Iterable[ClusterEntry], *, width: int | None = None,
                   wide: bool = False) -> Text:
    """Cluster records (of this scan, or of a saved one) as kubectl-style columns fitted to
    ``width`` (None: nothing cut); see :mod:`ekstrio.table`."""
    return Text("\n".join(table.layout([c.to_json() for c in rows], width, wide=wide)))


def table_width(out: Console) -> int | None:
    """The width to fit a table to: the terminal's; piped, nothing is cut (as kubectl)."""
    return out.width if out.is_terminal else None


def print_table(rows: Iterable[ClusterEntry], out: Console, *, wide: bool = False) -> None:
    # soft_wrap: a line wider than the terminal (key columns are never cut) is not folded.
    out.print(clusters_table(rows, width=table_width(out), wide=wide), soft_wrap=True)


def summary_line(report: ScanReport) -> str:
    s = Summary.from_report(report)
    parts = [
        f"{s.clusters} clusters",
        f"{s.accounts} accounts",
        f"{s.regions_scanned} regions scanned",
        f"{s.regions_skipped} skipped",
        f"{s.errors} errors",
        f"{s.api_calls} API calls",
        f"{s.retries} retries",
        f"{s.throttles} throttles",
        f"{s.duration_s:.1f} s",
    ]
    tail = ""
    if report.interrupted:
        tail = " (interrupted: partial results)"
    elif report.timed_out:
        tail = " (deadline reached: partial results)"
    return ", ".join(parts) + tail


def render_table(report: ScanReport, out: Console, err: Console, *, wide: bool = False) -> None:
    """A table of clusters on ``out``; errors and the summary on ``err``."""
    if report.clusters:
        print_table((ClusterEntry.from_cluster(c) for c in report.clusters), out, wide=wide)
    else:
        out.print("No clusters found.")
    for e in report.errors:
        account = account_label(e.account_name, e.account_id) if e.account_id else None
        where = " ".join(x for x in (account, e.region, e.role) if x)
        err.print(Text(f"error: {where or 'accounts'}: {e.stage}: {e.code}: {e.message}",
                       style="red"))
    err.print(summary_line(report), highlight=False)


def render_diff(diff: InventoryDiff, err: Console) -> None:
    if diff.empty:
        err.print("No changes since the previous scan.")
        return
    for c in diff.added:
        err.print(Text(f"+ {c.account_name} {c.region} {c.name}", style="green"))
    for c in diff.removed:
        err.print(Text(f"- {c.account_name} {c.region} {c.name}", style="red"))
    for ch in diff.changed:
        a = ch.after
        err.print(Text(f"~ {a.account_name} {a.region} {a.name}: {', '.join(ch.fields)}",
                       style="yellow"))


class ScanProgress:
    """A live one-line display on stderr, fed by the scan's one consumer.

    Off (``enabled`` False) when stderr is not a terminal or with --quiet; the counts
    are kept either way for -v logging.
    """

    def __init__(self, console: Console, *, enabled: bool, stats: Any = None) -> None:
        self.console = console
        self.enabled = enabled
        self.stats = stats
        self.accounts = self.accounts_done = 0
        self.regions = self.clusters = self.errors = self.skipped = 0
        self._live: Live | None = None

    def __enter__(self) -> ScanProgress:
        if self.enabled:
            self._live = Live(self._render(), console=self.console, transient=True,
                              refresh_per_second=8)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def _render(self) -> Text:
        retries = getattr(self.stats, "retries", 0)
        throttles = getattr(self.stats, "throttles", 0)
        return Text(
            f"scanning: accounts {self.accounts_done}/{self.accounts}  regions {self.regions}  "
            f"clusters {self.clusters}  errors {self.errors}  retries {retries}  "
            f"throttles {throttles}",
            style="cyan",
        )

    def update(self, record: Record) -> None:
        if isinstance(record, AccountFound):
            self.accounts += 1
        elif isinstance(record, AccountDone):
            self.accounts_done += 1
        elif isinstance(record, RegionDone):
            self.regions += 1
        elif isinstance(record, Cluster):
            self.clusters += 1
        elif isinstance(record, ScanError):
            self.errors += 1
        elif isinstance(record, Skipped):
            self.skipped += 1
        if self._live is not None:
            self._live.update(self._render())
