"""The scan document: what ``ekstrio scan -o json`` prints and every scan saves.

One typed value, :class:`ScanDocument`, with ``to_json``/``from_json`` (as
:class:`ekstrio.aws.token_cache.CachedToken` does for the AWS CLI's cache), read by every
consumer through its fields: ``kubeconfig``, ``profiles``, ``scan --cached`` and ``--diff``.
Its JSON shape is the stable schema of docs/output.md; no credential or token is in it.

The one schema rule (:func:`check_schema`): a document whose ``schema`` is ``ekstrio.scan/v2``
or ``ekstrio.scan/v1`` (v2 added ``access``; a v1 document simply has none) is read, one without
``schema`` (a hand-made or ``jq``-filtered one) is read too, anything else is refused.
Adding a field: give it a default here, write it in ``to_json`` and read it in ``from_json``
with ``.get`` (older documents lack it); the schema version is raised when a field is added
that a reader should know about (v2: ``access``) or changes meaning.

Pure: no I/O (the store is :mod:`ekstrio.inventory`). Everything read is untrusted data:
``from_json`` checks shapes and raises :class:`~ekstrio.errors.ConfigError` (one line).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ekstrio.access_record import ClusterKey, RoleAccess
from ekstrio.aws.timestamps import format_timestamp
from ekstrio.errors import ConfigError
from ekstrio.model import Cluster, SsoSession
from ekstrio.scan_records import ScanError, ScanReport, Skipped

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


def iso(when: datetime | None) -> str | None:
    """The document's timestamp format (the AWS caches' one): UTC, whole seconds, ``Z``."""
    return None if when is None else format_timestamp(when)


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _count(raw: Mapping[str, Any], key: str) -> int:
    # Counts are informative only: a missing or odd one reads as 0 (bool is no count).
    value = raw.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _seconds(raw: Mapping[str, Any], key: str) -> float:
    value = raw.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _objects(doc: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = doc.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ConfigError(f"the scan document's {key!r} is not a list")
    if not all(isinstance(item, Mapping) for item in items):
        raise ConfigError(f"the scan document has a {key!r} record that is not an object")
    return items


@dataclass(frozen=True, slots=True)
class ClusterEntry:
    """One cluster record (``clusters[]``, NDJSON ``"type": "cluster"``)."""

    account_id: str
    account_name: str
    region: str
    name: str
    roles: tuple[str, ...] = ()
    arn: str = ""
    endpoint: str | None = None
    certificate_authority_data: str | None = None
    status: str = ""
    version: str | None = None
    platform_version: str | None = None
    created_at: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    authentication_mode: str | None = None
    outpost_id: str | None = None
    # role -> its access (``scan --access``), best role first; None when not checked.
    access: Mapping[str, RoleAccess] | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.account_id, self.region, self.name)

    @classmethod
    def from_cluster(cls, cluster: Cluster) -> ClusterEntry:
        info = cluster.info
        return cls(
            account_id=cluster.account_id, account_name=cluster.account_name,
            region=cluster.region, name=info.name, roles=tuple(cluster.roles), arn=info.arn,
            endpoint=info.endpoint, certificate_authority_data=info.certificate_authority_data,
            status=info.status, version=info.version, platform_version=info.platform_version,
            created_at=iso(info.created_at), tags=dict(sorted(info.tags.items())),
            authentication_mode=info.authentication_mode, outpost_id=info.outpost_id,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "account_name": self.account_name,
            "roles": list(self.roles),
            "region": self.region,
            "name": self.name,
            "arn": self.arn,
            "endpoint": self.endpoint,
            "certificate_authority_data": self.certificate_authority_data,
            "status": self.status,
            "version": self.version,
            "platform_version": self.platform_version,
            "created_at": self.created_at,
            "tags": dict(self.tags),
            "authentication_mode": self.authentication_mode,
            "outpost_id": self.outpost_id,
            "access": None if self.access is None
            else {role: value.to_json() for role, value in self.access.items()},
        }

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> ClusterEntry:
        account, region, name = (_text(item.get("account_id")), _text(item.get("region")),
                                 _text(item.get("name")))
        if not (account and region and name):
            raise ConfigError("the scan document has a cluster without account_id, region or "
                              "name")
        roles = item.get("roles") or []
        tags = item.get("tags") or {}
        if not isinstance(roles, list) or not isinstance(tags, Mapping):
            raise ConfigError(f"the scan document's cluster {name!r} has malformed roles or "
                              "tags")
        return cls(
            account_id=account, account_name=_text(item.get("account_name")), region=region,
            name=name, roles=tuple(str(r) for r in roles), arn=_text(item.get("arn")),
            endpoint=_opt(item.get("endpoint")),
            certificate_authority_data=_opt(item.get("certificate_authority_data")),
            status=_text(item.get("status")), version=_opt(item.get("version")),
            platform_version=_opt(item.get("platform_version")),
            created_at=_opt(item.get("created_at")),
            tags={str(k): str(v) for k, v in tags.items()},
            authentication_mode=_opt(item.get("authentication_mode")),
            outpost_id=_opt(item.get("outpost_id")),
            access=_access(item.get("access"), name),
        )


def _access(raw: Any, name: str) -> Mapping[str, RoleAccess] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"the scan document's cluster {name!r} has a malformed 'access'")
    try:
        return {str(role): RoleAccess.from_json(value) for role, value in raw.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"the scan document's cluster {name!r} has a malformed 'access' "
                          f"({type(exc).__name__})") from None


@dataclass(frozen=True, slots=True)
class AccessSummary:
    """What ``scan --access`` cost and found (``summary.access``)."""

    checked: int = 0
    denied: int = 0
    errors: int = 0
    live: int = 0
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"checked": self.checked, "denied": self.denied, "errors": self.errors,
                "live": self.live, "duration_s": self.duration_s}

    @classmethod
    def from_json(cls, raw: Any) -> AccessSummary | None:
        if not isinstance(raw, Mapping):
            return None
        return cls(_count(raw, "checked"), _count(raw, "denied"), _count(raw, "errors"),
                   _count(raw, "live"), _seconds(raw, "duration_s"))


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    """One failure (``errors[]``, NDJSON ``"type": "error"``)."""

    account_id: str | None
    account_name: str | None
    region: str | None
    role: str | None
    stage: str
    code: str
    message: str

    @classmethod
    def from_error(cls, error: ScanError) -> ErrorEntry:
        return cls(error.account_id, error.account_name, error.region, error.role,
                   str(error.stage), error.code, error.message)

    def to_json(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "account_name": self.account_name,
            "region": self.region,
            "role": self.role,
            "stage": self.stage,
            "code": self.code,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> ErrorEntry:
        return cls(_opt(item.get("account_id")), _opt(item.get("account_name")),
                   _opt(item.get("region")), _opt(item.get("role")), _text(item.get("stage")),
                   _text(item.get("code")), _text(item.get("message")))


@dataclass(frozen=True, slots=True)
class SkippedEntry:
    """Nothing to scan there, and not a failure (``skipped[]``, NDJSON ``"skipped"``)."""

    account_id: str
    region: str | None
    reason: str

    @classmethod
    def from_skipped(cls, skipped: Skipped) -> SkippedEntry:
        return cls(skipped.account_id, skipped.region, str(skipped.reason))

    def to_json(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "region": self.region, "reason": self.reason}

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> SkippedEntry:
        return cls(_text(item.get("account_id")), _opt(item.get("region")),
                   _text(item.get("reason")))


@dataclass(frozen=True, slots=True)
class SsoInfo:
    """Which IAM Identity Center sign-in the scan used (``sso``)."""

    session: str | None = None
    start_url: str | None = None
    region: str | None = None

    @classmethod
    def from_session(cls, session: SsoSession | None) -> SsoInfo:
        if session is None:
            return cls()
        return cls(session.name, session.start_url, session.region)

    def to_json(self) -> dict[str, Any]:
        return {"session": self.session, "start_url": self.start_url, "region": self.region}

    @classmethod
    def from_json(cls, raw: Any) -> SsoInfo:
        if not isinstance(raw, Mapping):
            return cls()
        return cls(_opt(raw.get("session")), _opt(raw.get("start_url")),
                   _opt(raw.get("region")))


@dataclass(frozen=True, slots=True)
class Summary:
    """The scan's counts (``summary``)."""

    accounts: int = 0
    regions_scanned: int = 0
    regions_skipped: int = 0
    clusters: int = 0
    errors: int = 0
    api_calls: int = 0
    retries: int = 0
    throttles: int = 0
    duration_s: float = 0.0
    complete: bool = False
    access: AccessSummary | None = None  # only with ``scan --access``

    @classmethod
    def from_report(cls, report: ScanReport) -> Summary:
        return cls(report.accounts, report.regions_scanned, report.regions_skipped,
                   len(report.clusters), len(report.errors), report.api_calls, report.retries,
                   report.throttles, report.duration_s, report.complete)

    def to_json(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "regions_scanned": self.regions_scanned,
            "regions_skipped": self.regions_skipped,
            "clusters": self.clusters,
            "errors": self.errors,
            "api_calls": self.api_calls,
            "retries": self.retries,
            "throttles": self.throttles,
            "duration_s": self.duration_s,
            "complete": self.complete,
            "access": self.access.to_json() if self.access is not None else None,
        }

    @classmethod
    def from_json(cls, raw: Any) -> Summary:
        if not isinstance(raw, Mapping):
            return cls()
        return cls(_count(raw, "accounts"), _count(raw, "regions_scanned"),
                   _count(raw, "regions_skipped"), _count(raw, "clusters"),
                   _count(raw, "errors"), _count(raw, "api_calls"), _count(raw, "retries"),
                   _count(raw, "throttles"), _seconds(raw, "duration_s"),
                   raw.get("complete") is True, AccessSummary.from_json(raw.get("access")))


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
        return [{"account_id": a, "region": r} for a, r in self.completed]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "sso": self.sso.to_json(),
            "partition": self.partition,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "clusters": [c.to_json() for c in self.clusters],
            "errors": [e.to_json() for e in self.errors],
            "skipped": [s.to_json() for s in self.skipped],
            "completed": self.completed_json(),
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
            partition=_text(doc.get("partition")) or "aws",
            started_at=_opt(doc.get("started_at")),
            finished_at=_opt(doc.get("finished_at")),
            clusters=tuple(ClusterEntry.from_json(c) for c in _objects(doc, "clusters")),
            errors=tuple(ErrorEntry.from_json(e) for e in _objects(doc, "errors")),
            skipped=tuple(SkippedEntry.from_json(s) for s in _objects(doc, "skipped")),
            completed=tuple((_text(c.get("account_id")), _text(c.get("region")))
                            for c in _objects(doc, "completed")),
            summary=Summary.from_json(doc.get("summary")),
        )


_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False)
_PIECE = 64 * 1024


def iter_json(doc: Mapping[str, Any]) -> Iterator[str]:
    """``doc`` as indented JSON (with a final newline) in pieces of about 64 KiB.

    ``json.dumps(indent=2)`` first lists every token of the document, about a million small
    strings for 2,000 accounts, then joins them: that list and the joined copy were the peak
    of a large scan's memory (+57 MB in its last second). Pieces keep it to a few KiB.
    """
    pending: list[str] = []
    size = 0
    for token in _ENCODER.iterencode(doc):
        pending.append(token)
        size += len(token)
        if size >= _PIECE:
            yield "".join(pending)
            pending, size = [], 0
    pending.append("\n")
    yield "".join(pending)


def dumps_json(doc: Mapping[str, Any]) -> str:
    """The whole document as one string, newline included (small documents and tests)."""
    return "".join(iter_json(doc))
