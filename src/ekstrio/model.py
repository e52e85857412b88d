"""Frozen values that flow between the layers of ekstrio.

Nothing here does I/O. Secrets live only in :class:`RoleCredentials` (and the SSO token in
:class:`ekstrio.aws.token_cache.CachedToken`), whose ``repr`` hides them so that they cannot
leak into logs or tracebacks by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SsoSession:
    """Where an IAM Identity Center session comes from.

    ``name`` is the ``[sso-session NAME]`` section, or None for a legacy
    profile / ad-hoc start URL (the token cache is then keyed by start URL).
    """

    start_url: str
    region: str
    name: str | None = None
    scopes: tuple[str, ...] = ()

    @property
    def cache_key(self) -> str:
        """The string whose sha1 names the AWS CLI token cache file."""
        return self.name if self.name is not None else self.start_url


@dataclass(frozen=True, slots=True)
class SessionChoice:
    """Which IAM Identity Center session the user named: the four session flags of ``scan``,
    ``kubeconfig``, ``login`` and ``logout`` as one value below the CLI (the commands keep
    them as flat parameters: config.toml and EKSTRIO_* defaults bind to those names)."""

    profile: str | None = None
    """AWS config profile whose SSO settings to use (default: AWS_PROFILE, else the only
    sso-session)."""
    sso_session: str | None = None
    """Name of an [sso-session NAME] section in ~/.aws/config."""
    start_url: str | None = None
    """IAM Identity Center start URL, without any config file (needs --sso-region)."""
    sso_region: str | None = None
    """Region of IAM Identity Center, with --start-url."""

    @property
    def given(self) -> bool:
        return any((self.profile, self.sso_session, self.start_url, self.sso_region))


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    name: str
    email: str = ""


@dataclass(frozen=True, slots=True)
class Role:
    account_id: str
    role_name: str


@dataclass(frozen=True, slots=True)
class RoleCredentials:
    """Temporary credentials from GetRoleCredentials. ``expiration`` is aware UTC."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime

    def __repr__(self) -> str:
        return (
            f"RoleCredentials(access_key_id={self.access_key_id[:4]}…, "
            f"expiration={self.expiration.isoformat()})"
        )


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """What DescribeCluster says about one cluster (no account context)."""

    name: str
    arn: str
    status: str
    endpoint: str | None = None
    certificate_authority_data: str | None = None
    version: str | None = None
    platform_version: str | None = None
    created_at: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    authentication_mode: str | None = None
    outpost_id: str | None = None
    connector_provider: str | None = None


@dataclass(frozen=True, slots=True)
class Cluster:
    """A cluster found by a scan: what EKS said, where it lives, and who sees it."""

    account_id: str
    account_name: str
    region: str
    info: ClusterInfo
    roles: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def arn(self) -> str:
        return self.info.arn
