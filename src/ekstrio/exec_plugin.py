"""kubectl's side of ``ekstrio token``: the argv it runs, what it asks for, what it reads back.

- :func:`parse_args`: the exec plugin's own small argv (``--cluster … --role …``), parsed
  without cyclopts (``ekstrio token`` runs before every kubectl request and cannot pay for it);
- :func:`exec_api_version`: the ExecCredential version kubectl asked for in
  ``KUBERNETES_EXEC_INFO``;
- :func:`exec_credential`: the ExecCredential JSON printed on stdout.

Pure, and standard library only (no typing, dataclasses or pathlib either: each costs a few ms
on kubectl's every call).
"""

from __future__ import annotations

import json

from ekstrio.aws.timestamps import format_timestamp
from ekstrio.errors import UsageError

# mypy reads this constant (it treats any name TYPE_CHECKING as true); `typing` costs ms here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

API_V1 = "client.authentication.k8s.io/v1"
API_V1BETA1 = "client.authentication.k8s.io/v1beta1"
API_V1ALPHA1 = "client.authentication.k8s.io/v1alpha1"

USAGE = (
    "usage: ekstrio token --cluster NAME --region REGION --account ID --role ROLE "
    "(--sso-session NAME | --start-url URL --sso-region REGION) [--cluster-id ID] [--no-cache]"
)


class TokenArgs:
    """What identifies one cluster's token: the cluster and the SSO identity that signs it.

    A plain slotted class rather than a frozen dataclass only to keep ``dataclasses`` off the
    cached path; treat it as immutable.
    """

    __slots__ = ("account_id", "cluster", "cluster_id", "region", "role", "sso_region",
                 "sso_session", "start_url", "use_cache")

    def __init__(self, *, cluster: str, region: str, account_id: str, role: str,
                 sso_session: str | None = None, start_url: str | None = None,
                 sso_region: str | None = None, cluster_id: str | None = None,
                 use_cache: bool = True) -> None:
        self.cluster = cluster
        self.region = region
        self.account_id = account_id
        self.role = role
        self.sso_session = sso_session
        self.start_url = start_url
        self.sso_region = sso_region
        self.cluster_id = cluster_id
        self.use_cache = use_cache

    def __repr__(self) -> str:
        return (f"TokenArgs(cluster={self.cluster!r}, region={self.region!r}, "
                f"account_id={self.account_id!r}, role={self.role!r})")

    @property
    def login_hint(self) -> str:
        if self.sso_session:
            return f"ekstrio login --sso-session {self.sso_session}"
        return f"ekstrio login --start-url {self.start_url} --sso-region {self.sso_region}"


_FLAGS = {
    "--cluster": "cluster", "--cluster-name": "cluster", "--region": "region",
    "--account": "account_id", "--account-id": "account_id", "--role": "role",
    "--role-name": "role", "--sso-session": "sso_session", "--start-url": "start_url",
    "--sso-region": "sso_region", "--cluster-id": "cluster_id",
}


def parse_args(argv: Sequence[str]) -> TokenArgs:
    """Parse ``--flag value`` / ``--flag=value`` pairs; raise UsageError naming what to fix."""
    values: dict[str, str] = {}
    use_cache = True
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        if item == "--no-cache":
            use_cache = False
            i += 1
            continue
        flag, eq, inline = item.partition("=")
        if flag not in _FLAGS:
            raise UsageError(f"ekstrio token: unknown argument {item!r}; {USAGE}")
        if eq:
            value = inline
            i += 1
        else:
            if i + 1 >= len(items):
                raise UsageError(f"ekstrio token: {flag} needs a value")
            value = items[i + 1]
            i += 2
        if not value:
            raise UsageError(f"ekstrio token: {flag} needs a non-empty value")
        values[_FLAGS[flag]] = value
    missing = [f"--{n}" for n, key in (("cluster", "cluster"), ("region", "region"),
                                       ("account", "account_id"), ("role", "role"))
               if key not in values]
    if missing:
        raise UsageError(f"ekstrio token: missing {', '.join(missing)}; {USAGE}")
    if "sso_session" not in values and not ("start_url" in values and "sso_region" in values):
        raise UsageError("ekstrio token: give --sso-session NAME, or --start-url URL "
                         "with --sso-region REGION")
    return TokenArgs(use_cache=use_cache, **values)


def exec_api_version(env: Mapping[str, str]) -> tuple[str, str | None]:
    """The ExecCredential apiVersion kubectl asked for, and a warning to print, if any."""
    raw = env.get("KUBERNETES_EXEC_INFO")
    if not raw:
        return API_V1BETA1, None
    try:
        info = json.loads(raw)
        asked = info.get("apiVersion") if isinstance(info, dict) else None
    except ValueError:
        return API_V1BETA1, "ekstrio token: KUBERNETES_EXEC_INFO is not JSON; using v1beta1"
    if asked in (API_V1, API_V1BETA1):
        return str(asked), None
    if asked == API_V1ALPHA1:
        return API_V1ALPHA1, ("ekstrio token: client.authentication.k8s.io/v1alpha1 is "
                              "deprecated; use v1beta1 or v1 in your kubeconfig")
    return API_V1BETA1, None


def exec_credential(api_version: str, token: str, expires_at: datetime) -> str:
    """The ExecCredential JSON document kubectl reads from stdout."""
    return json.dumps({
        "kind": "ExecCredential",
        "apiVersion": api_version,
        "spec": {},
        "status": {"expirationTimestamp": format_timestamp(expires_at), "token": token},
    })
