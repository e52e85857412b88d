"""How a scan is shown: NDJSON lines, a rich table, live progress, the --diff.

Data goes to stdout, progress and logs to stderr; consoles are passed in so tests can
capture them. The JSON shapes are the scan document's (:mod:`ekstrio.scan_document`), the
stable schema of docs/output.md. No credential or token ever reaches any of them: records
carry none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from ekstrio import table
from ekstrio.aws.untrusted import terminal_safe
from ekstrio.logs import account_label
from ekstrio.model import Cluster
from ekstrio.scan_document import ScanDocument
from ekstrio.scan_entries import ClusterEntry, ErrorEntry, SkippedEntry, Summary
from ekstrio.scan_records import (
    Record,
    RecordHandler,
    ScanError,
    ScanReport,
    Skipped,
    dispatch,
)

if TYPE_CHECKING:
    # Only --diff makes an InventoryDiff (commands.scan imports scan_diff for it).
    from ekstrio.scan_diff import InventoryDiff


class _NdjsonLine(RecordHandler[dict[str, Any]]):
    # The kinds a reader of --output ndjson sees; the others only feed progress.

    def on_cluster(self, record: Cluster) -> dict[str, Any]:
        return {"type": "cluster", **ClusterEntry.from_cluster(record).to_json()}

    def on_error(self, record: ScanError) -> dict[str, Any]:
        return {"type": "error", **ErrorEntry.from_error(record).to_json()}

    def on_skipped(self, record: Skipped) -> dict[str, Any]:
        return {"type": "skipped", **SkippedEntry.from_skipped(record).to_json()}


_NDJSON_LINE = _NdjsonLine()


def ndjson_record(record: Record) -> dict[str, Any] | None:
    """One NDJSON object for a streamed record; None for progress-only records."""
    return dispatch(record, _NDJSON_LINE)


def ndjson_access(doc: ScanDocument) -> Iterator[dict[str, Any]]:
    """One ``"type": "access"`` object per (cluster, role) that ``scan --access`` checked.

    The access pass runs after the scan, when the cluster lines are already out, so its
    results come as their own lines (before the summary), keyed like the cluster records."""
    for entry in doc.clusters:
        for role, value in (entry.access or {}).items():
            yield {"type": "access", "account_id": entry.account_id, "region": entry.region,
                   "name": entry.name, "role": role, **value.to_json()}


def ndjson_lines(doc: ScanDocument) -> Iterator[dict[str, Any]]:
    """A saved document as NDJSON objects: its records, then the summary (``scan --cached``)."""
    for entry in doc.clusters:
        yield {"type": "cluster", **entry.to_json()}
    for error in doc.errors:
        yield {"type": "error", **error.to_json()}
    for skipped in doc.skipped:
        yield {"type": "skipped", **skipped.to_json()}
    yield from ndjson_access(doc)
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


def access_line(doc: ScanDocument) -> str | None:
    """The ``--access`` summary: how many (cluster, role) pairs get in, and what it cost."""
    summary = doc.summary.access
    if summary is None:
        return None
    pairs = [value for entry in doc.clusters for value in (entry.access or {}).values()]
    gets_in = sum(1 for value in pairs if value.gets_in)
    text = (f"access: {gets_in} of {len(pairs)} cluster-role pairs can get in; "
            f"{summary.denied} denied, {summary.errors} errors")
    if summary.live:
        text += f", {summary.live} checked live"
    return text + f", {summary.duration_s:.1f} s"


def render_table(report: ScanReport, out: Console, err: Console, *, wide: bool = False,
                 document: ScanDocument | None = None) -> None:
    """A table of clusters on ``out``; errors and the summary on ``err``. ``document``
    (when given) supplies the rows, with their ``--access`` results."""
    if report.clusters:
        rows = document.clusters if document is not None else (
            ClusterEntry.from_cluster(c) for c in report.clusters)
        print_table(rows, out, wide=wide)
    else:
        out.print("No clusters found.")
    for e in report.errors:
        account = account_label(e.account_name, e.account_id) if e.account_id else None
        where = " ".join(x for x in (account, e.region, e.role) if x)
        # An error message may quote the server's own text: shown, never interpreted.
        err.print(Text(terminal_safe(f"error: {where or 'accounts'}: {e.stage}: {e.code}: "
                                     f"{e.message}"), style="red"))
    err.print(summary_line(report), highlight=False, soft_wrap=True)  # one line, as piped
    line = access_line(document) if document is not None else None
    if line:
        err.print(line, highlight=False, soft_wrap=True)


def partial_line(report: ScanReport, *, records: bool = False) -> str | None:
    """One line for stderr when a scan ends partial: why, and how much is missing.

    An account is missing when any of its work failed or did not finish; an account-region
    likewise. ``records``: the run streamed NDJSON (its errors are records, not a list).
    """
    if report.complete:
        return None
    if report.interrupted:
        why = "interrupted"
    elif report.timed_out:
        why = "deadline reached"
    else:
        why = "some calls failed"
    accounts = {e.account_id for e in report.errors if e.account_id}
    regions = {(e.account_id, e.region) for e in report.errors if e.account_id and e.region}
    text = (f"ekstrio: partial results ({why}): {len(accounts)} of {report.accounts} "
            f"accounts and {len(regions)} account-regions incomplete")
    if any(e.account_id is None for e in report.errors):
        text += "; the account list itself is incomplete"
    where = 'the "error" records' if records else 'the document\'s "errors"'
    return f"{text} (see {where})"


def render_diff(diff: InventoryDiff, err: Console) -> None:
    if diff.empty:
        err.print("No changes since the previous scan.")
        return
    for c in diff.added:
        err.print(Text(terminal_safe(f"+ {account_label(c.account_name, c.account_id)} "
                                     f"{c.region} {c.name}"), style="green"), soft_wrap=True)
    for c in diff.removed:
        err.print(Text(terminal_safe(f"- {account_label(c.account_name, c.account_id)} "
                                     f"{c.region} {c.name}"), style="red"), soft_wrap=True)
    for ch in diff.changed:
        a = ch.after
        err.print(Text(terminal_safe(f"~ {account_label(a.account_name, a.account_id)} "
                                     f"{a.region} {a.name}: {', '.join(ch.fields)}"),
                       style="yellow"), soft_wrap=True)
