"""The records of the scan document: clusters, errors, skipped places, the SSO sign-in, counts.

Frozen values with ``to_json``/``from_json`` (and ``from_<scan value>`` for the scan's own
records), the parts :class:`ekstrio.scan_document.ScanDocument` is made of; their JSON shape is
the stable schema of docs/output.md. ``from_json`` reads untrusted data: shapes are checked and
a bad record is a :class:`~ekstrio.errors.ConfigError` (one line). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ekstrio.access_record import RoleAccess
from ekstrio.aws.timestamps import format_timestamp
from ekstrio.errors import ConfigError
from ekstrio.model import Cluster, SsoSession
from ekstrio.scan_records import ScanError, ScanReport, Skipped


def iso(when: datetime | None) -> str | None:
    """The document's timestamp format (the AWS caches' one): UTC, whole seconds, ``Z``."""
    return None if when is None else format_timestamp(when)


def text_or_none(value: Any) -> str | None:
    """A field read back as text, None staying None (JSON null: not known)."""
    return None if value is None else str(value)


def text_or_empty(value: Any) -> str:
    """A field read back as text, None (or absent) as the empty string."""
    return "" if value is None else str(value)


def _count(raw: Mapping[str, Any], key: str) -> int:
    # Counts are informative only: a missing or odd one reads as 0 (bool is no count).
    value = raw.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _seconds(raw: Mapping[str, Any], key: str) -> float:
    value = raw.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0



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
        account, region, name = (text_or_empty(item.get("account_id")),
                                 text_or_empty(item.get("region")),
                                 text_or_empty(item.get("name")))
        if not (account and region and name):
            raise ConfigError("the scan document has a cluster without account_id, region or "
                              "name")
        roles = item.get("roles") or []
        tags = item.get("tags") or {}
        if not isinstance(roles, list) or not isinstance(tags, Mapping):
            raise ConfigError(f"the scan document's cluster {name!r} has malformed roles or "
                              "tags")
        return cls(
            account_id=account, account_name=text_or_empty(item.get("account_name")), region=region,
            name=name, roles=tuple(str(r) for r in roles), arn=text_or_empty(item.get("arn")),
            endpoint=text_or_none(item.get("endpoint")),
            certificate_authority_data=text_or_none(item.get("certificate_authority_data")),
            status=text_or_empty(item.get("status")), version=text_or_none(item.get("version")),
            platform_version=text_or_none(item.get("platform_version")),
            created_at=text_or_none(item.get("created_at")),
            tags={str(k): str(v) for k, v in tags.items()},
            authentication_mode=text_or_none(item.get("authentication_mode")),
            outpost_id=text_or_none(item.get("outpost_id")),
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
        return cls(text_or_none(item.get("account_id")), text_or_none(item.get("account_name")),
                   text_or_none(item.get("region")), text_or_none(item.get("role")),
                   text_or_empty(item.get("stage")),
                   text_or_empty(item.get("code")), text_or_empty(item.get("message")))


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
        return cls(text_or_empty(item.get("account_id")), text_or_none(item.get("region")),
                   text_or_empty(item.get("reason")))


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
        return cls(text_or_none(raw.get("session")), text_or_none(raw.get("start_url")),
                   text_or_none(raw.get("region")))


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

