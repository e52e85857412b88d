"""How a scan is shown: the JSON document, NDJSON lines, a rich table, live progress.

Data goes to stdout, progress and logs to stderr; consoles are passed in so tests can
capture them. The JSON shapes here are the stable schema of docs/output.md (and of the
saved inventory that ``ekstrio kubeconfig`` reads). No credential or token ever
reaches any of them: records carry none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ekstrio.inventory import SCHEMA, InventoryDiff
from ekstrio.model import Cluster, SsoSession
from ekstrio.scan_records import (
    AccountDone,
    AccountFound,
    Record,
    RegionDone,
    ScanError,
    ScanReport,
    Skipped,
)


def iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def cluster_json(cluster: Cluster) -> dict[str, Any]:
    info = cluster.info
    return {
        "account_id": cluster.account_id,
        "account_name": cluster.account_name,
        "roles": list(cluster.roles),
        "region": cluster.region,
        "name": info.name,
        "arn": info.arn,
        "endpoint": info.endpoint,
        "certificate_authority_data": info.certificate_authority_data,
        "status": info.status,
        "version": info.version,
        "platform_version": info.platform_version,
        "created_at": iso(info.created_at),
        "tags": dict(sorted(info.tags.items())),
        "authentication_mode": info.authentication_mode,
        "outpost_id": info.outpost_id,
    }


def error_json(error: ScanError) -> dict[str, Any]:
    return {
        "account_id": error.account_id,
        "account_name": error.account_name,
        "region": error.region,
        "role": error.role,
        "stage": error.stage,
        "code": error.code,
        "message": error.message,
    }


def skipped_json(skipped: Skipped) -> dict[str, Any]:
    return {"account_id": skipped.account_id, "region": skipped.region, "reason": skipped.reason}


def sso_json(session: SsoSession | None) -> dict[str, Any]:
    if session is None:
        return {"session": None, "start_url": None, "region": None}
    return {"session": session.name, "start_url": session.start_url, "region": session.region}


def summary_json(report: ScanReport) -> dict[str, Any]:
    return {
        "accounts": report.accounts,
        "regions_scanned": report.regions_scanned,
        "regions_skipped": report.regions_skipped,
        "clusters": len(report.clusters),
        "errors": len(report.errors),
        "api_calls": report.api_calls,
        "retries": report.retries,
        "throttles": report.throttles,
        "duration_s": report.duration_s,
        "complete": report.complete,
    }


def completed_json(report: ScanReport) -> list[dict[str, str]]:
    return [{"account_id": a, "region": r} for a, r in report.completed]


def report_document(
    report: ScanReport, *, session: SsoSession | None, partition: str
) -> dict[str, Any]:
    """The scan's JSON document (= the saved inventory), schema ``ekstrio.scan/v1``."""
    return {
        "schema": SCHEMA,
        "sso": sso_json(session),
        "partition": partition,
        "started_at": iso(report.started_at),
        "finished_at": iso(report.finished_at),
        "clusters": [cluster_json(c) for c in report.clusters],
        "errors": [error_json(e) for e in report.errors],
        "skipped": [skipped_json(s) for s in report.skipped],
        "completed": completed_json(report),
        "summary": summary_json(report),
    }


def ndjson_record(record: Record) -> dict[str, Any] | None:
    """One NDJSON object for a streamed record; None for progress-only records."""
    if isinstance(record, Cluster):
        return {"type": "cluster", **cluster_json(record)}
    if isinstance(record, ScanError):
        return {"type": "error", **error_json(record)}
    if isinstance(record, Skipped):
        return {"type": "skipped", **skipped_json(record)}
    return None


def ndjson_summary(
    report: ScanReport, *, session: SsoSession | None, partition: str
) -> dict[str, Any]:
    return {
        "type": "summary",
        **summary_json(report),
        "sso": sso_json(session),
        "partition": partition,
        "started_at": iso(report.started_at),
        "finished_at": iso(report.finished_at),
        "completed": completed_json(report),
    }


def dumps_line(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


_DOCUMENT_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False)
_PIECE = 64 * 1024


def iter_document(doc: Mapping[str, Any]) -> Iterator[str]:
    """The document as indented JSON (with a final newline) in pieces of about 64 KiB.

    ``json.dumps(indent=2)`` first lists every token of the document, about a million small
    strings for 2,000 accounts, then joins them: that list and the joined copy were the peak
    of a large scan's memory (+57 MB in its last second). Pieces keep it to a few KiB.
    """
    pending: list[str] = []
    size = 0
    for token in _DOCUMENT_ENCODER.iterencode(doc):
        pending.append(token)
        size += len(token)
        if size >= _PIECE:
            yield "".join(pending)
            pending, size = [], 0
    pending.append("\n")
    yield "".join(pending)


def dumps_document(doc: Mapping[str, Any]) -> str:
    """The whole document as one string, newline included (small documents and tests)."""
    return "".join(iter_document(doc))


# --- terminal ---------------------------------------------------------------------------


def clusters_table(rows: list[dict[str, Any]]) -> Table:
    """A table of cluster records (``cluster_json`` shape, or a saved inventory's)."""
    table = Table(show_lines=False, header_style="bold")
    for title in ("Account", "Region", "Cluster", "Status", "Version", "Role(s)"):
        table.add_column(title, overflow="fold")
    for c in sorted(rows, key=lambda c: (str(c.get("account_name")), str(c.get("account_id")),
                                         str(c.get("region")), str(c.get("name")))):
        status = str(c.get("status") or "")
        table.add_row(f"{c.get('account_name')} ({c.get('account_id')})", str(c.get("region")),
                      str(c.get("name")), Text(status, style="green" if status == "ACTIVE"
                                               else "yellow"),
                      str(c.get("version") or ""), ", ".join(c.get("roles") or []))
    return table


def summary_line(report: ScanReport) -> str:
    s = summary_json(report)
    parts = [
        f"{s['clusters']} clusters",
        f"{s['accounts']} accounts",
        f"{s['regions_scanned']} regions scanned",
        f"{s['regions_skipped']} skipped",
        f"{s['errors']} errors",
        f"{s['api_calls']} API calls",
        f"{s['retries']} retries",
        f"{s['throttles']} throttles",
        f"{s['duration_s']:.1f} s",
    ]
    tail = ""
    if report.interrupted:
        tail = " (interrupted: partial results)"
    elif report.timed_out:
        tail = " (deadline reached: partial results)"
    return ", ".join(parts) + tail


def render_table(report: ScanReport, out: Console, err: Console) -> None:
    """A table of clusters on ``out``; errors and the summary on ``err``."""
    if report.clusters:
        out.print(clusters_table([cluster_json(c) for c in report.clusters]))
    else:
        out.print("No clusters found.")
    for e in report.errors:
        where = " ".join(x for x in (e.account_name or e.account_id, e.region, e.role) if x)
        err.print(Text(f"error: {where or 'accounts'}: {e.stage}: {e.code}: {e.message}",
                       style="red"))
    err.print(summary_line(report), highlight=False)


def render_diff(diff: InventoryDiff, err: Console) -> None:
    if diff.empty:
        err.print("No changes since the previous scan.")
        return
    for c in diff.added:
        err.print(Text(f"+ {c.get('account_name')} {c.get('region')} {c.get('name')}",
                       style="green"))
    for c in diff.removed:
        err.print(Text(f"- {c.get('account_name')} {c.get('region')} {c.get('name')}",
                       style="red"))
    for ch in diff.changed:
        a = ch.after
        err.print(Text(f"~ {a.get('account_name')} {a.get('region')} {a.get('name')}: "
                       f"{', '.join(ch.fields)}", style="yellow"))


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
