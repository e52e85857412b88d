"""The scan document: what ``ekstrio scan -o json`` prints and every scan saves.

One typed value, :class:`ScanDocument`, with ``to_json``/``from_json`` (as
:class:`ekstrio.aws.token_cache.CachedToken` does for the AWS CLI's cache), read by every
consumer through its fields: ``kubeconfig``, ``profiles``, ``scan --cached`` and ``--diff``.
Its JSON shape is the stable schema of docs/output.md; no credential or token is in it.

The one schema rule (:func:`check_schema`): a document whose ``schema`` is ``ekstrio.scan/v2``
or ``ekstrio.scan/v1`` (v2 added ``access``; a v1 document simply has none) is read, one without
``schema`` (a hand-made or ``jq``-filtered one) is read too, anything else is refused.
Its records (clusters, errors, skipped, ``sso``, ``summary``) are in
:mod:`ekstrio.scan_entries`. Adding a field: give it a default there (or here), write it in
``to_json`` and read it in ``from_json`` with ``.get`` (older documents lack it); the schema
version is raised when a field is added that a reader should know about (v2: ``access``) or
changes meaning.

Pure: no I/O (the store is :mod:`ekstrio.inventory`; large documents are written in pieces by
:mod:`ekstrio.json_pieces`). Everything read is untrusted data: ``from_json`` checks shapes and
raises :class:`~ekstrio.errors.ConfigError` (one line).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ekstrio.access_record import ClusterKey, RoleAccess
from ekstrio.errors import ConfigError
from ekstrio.json_pieces import JsonRows
from ekstrio.model import SsoSession
from ekstrio.scan_entries import (
    ClusterEntry,
    ErrorEntry,
    SkippedEntry,
    SsoInfo,
    Summary,
    iso,
    text_or_empty,
    text_or_none,
)
from ekstrio.scan_records import ScanReport

SCHEMA = "ekstrio.scan/v2"
READABLE = ("ekstrio.scan/v1", SCHEMA)


def check_schema(doc: Any) -> Mapping[str, Any]:
    """The one schema rule: a JSON object whose ``schema`` is absent or one of :data:`READABLE`."""
    if not isinstance(doc, Mapping):
        raise ConfigError("not an ekstrio scan document (not a JSON object)")
    schema = doc.get("schema")
    if schema is not None and schema not in READABLE:
        raise ConfigError(f"not an ekstrio scan document (schema {schema!r}, expected "
                          f"{SCHEMA!r}); run `ekstrio scan` again")
    return doc


def _objects(doc: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = doc.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ConfigError(f"the scan document's {key!r} is not a list")
    if not all(isinstance(item, Mapping) for item in items):
        raise ConfigError(f"the scan document has a {key!r} record that is not an object")
    return items


def _pair_json(pair: tuple[str, str]) -> dict[str, str]:
    return {"account_id": pair[0], "region": pair[1]}


@dataclass(frozen=True, slots=True)
class ScanDocument:
    """The scan's JSON document (= the saved inventory), schema ``ekstrio.scan/v2``."""

    sso: SsoInfo = field(default_factory=SsoInfo)
    partition: str = "aws"
    started_at: str | None = None
    finished_at: str | None = None
    clusters: tuple[ClusterEntry, ...] = ()
    errors: tuple[ErrorEntry, ...] = ()
    skipped: tuple[SkippedEntry, ...] = ()
    # (account_id, region) pairs whose cluster list was read to the end: prune scope.
    completed: tuple[tuple[str, str], ...] = ()
    summary: Summary = field(default_factory=Summary)

    @classmethod
    def from_report(
        cls, report: ScanReport, *, session: SsoSession | None, partition: str,
        access: Mapping[ClusterKey, Mapping[str, RoleAccess]] | None = None,
    ) -> ScanDocument:
        """``access``: ``scan --access`` results per (account, region, name), else None."""
        clusters = tuple(ClusterEntry.from_cluster(c) for c in report.clusters)
        if access is not None:
            clusters = tuple(replace(c, access=dict(access.get(c.key, {}))) for c in clusters)
        return cls(
            sso=SsoInfo.from_session(session),
            partition=partition,
            started_at=iso(report.started_at),
            finished_at=iso(report.finished_at),
            clusters=clusters,
            errors=tuple(ErrorEntry.from_error(e) for e in report.errors),
            skipped=tuple(SkippedEntry.from_skipped(s) for s in report.skipped),
            completed=tuple(report.completed),
            summary=Summary.from_report(report),
        )

    def completed_json(self) -> list[dict[str, str]]:
        return [_pair_json(pair) for pair in self.completed]

    def to_json(self) -> dict[str, Any]:
        return {key: [value.to_json(item) for item in value.items]
                if isinstance(value, JsonRows) else value
                for key, value in self.to_json_rows().items()}

    def to_json_rows(self) -> dict[str, Any]:
        """:meth:`to_json` with its lists as :class:`~ekstrio.json_pieces.JsonRows`: written
        by ``json_pieces.iter_json`` as the same text, one record at a time."""
        return {
            "schema": SCHEMA,
            "sso": self.sso.to_json(),
            "partition": self.partition,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "clusters": JsonRows(self.clusters, ClusterEntry.to_json),
            "errors": JsonRows(self.errors, ErrorEntry.to_json),
            "skipped": JsonRows(self.skipped, SkippedEntry.to_json),
            "completed": JsonRows(self.completed, _pair_json),
            "summary": self.summary.to_json(),
        }

    @classmethod
    def from_json(cls, raw: Any) -> ScanDocument:
        """Read a parsed JSON value; ConfigError (one line) when it is not a scan document."""
        doc = check_schema(raw)
        if not isinstance(doc.get("clusters"), list):
            raise ConfigError("not an ekstrio scan document (no 'clusters' list)")
        return cls(
            sso=SsoInfo.from_json(doc.get("sso")),
            partition=text_or_empty(doc.get("partition")) or "aws",
            started_at=text_or_none(doc.get("started_at")),
            finished_at=text_or_none(doc.get("finished_at")),
            clusters=tuple(ClusterEntry.from_json(c) for c in _objects(doc, "clusters")),
            errors=tuple(ErrorEntry.from_json(e) for e in _objects(doc, "errors")),
            skipped=tuple(SkippedEntry.from_json(s) for s in _objects(doc, "skipped")),
            completed=tuple((text_or_empty(c.get("account_id")), text_or_empty(c.get("region")))
                            for c in _objects(doc, "completed")),
            summary=Summary.from_json(doc.get("summary")),
        )
