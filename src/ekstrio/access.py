"""Pure: "can this role get into this cluster, and as what?" from what the EKS API says.

Inputs are plain values (the cluster's authentication mode, the caller's identity, its access
entry and associated policies, or the error that kept us from reading them); the output is an
:class:`AccessVerdict`. No I/O here; :mod:`ekstrio.access_aws` gathers the inputs.

How EKS matches a role (docs/access.md has the sources):

- Access entries name the IAM role's ARN, which may carry a path; IAM Identity Center roles
  live under ``role/aws-reserved/sso.amazonaws.com/[<region>/]AWSReservedSSO_<set>_<suffix>``.
  A session (``assumed-role/<name>/<session>``) carries the name but not the path, and a role's
  name is unique in its account whatever its path, so an entry is the caller's when partition,
  account and role name agree.
- aws-auth ``mapRoles`` ARNs cannot carry a path: the caller's role is matched as
  ``arn:<partition>:iam::<account>:role/<name>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ekstrio.aws.eks_access import AccessEntry, AssociatedPolicy, ScopeType
from ekstrio.aws.sts import CallerIdentity

__all__ = [
    "CLUSTER_ADMIN_POLICY",
    "AccessState",
    "AccessVerdict",
    "AuthMode",
    "Grant",
    "UnknownReason",
    "aws_auth_role_arn",
    "find_entry",
    "iam_role_arn",
    "role_arn_parts",
    "verdict_from_entry",
    "verdict_unknown",
    "verdict_without_entry",
]

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
SSO_PATH = "aws-reserved/sso.amazonaws.com/"
SSO_ROLE_PREFIX = "AWSReservedSSO_"

# Short names for the managed access policies (their Kubernetes cluster roles).
_SHORT = {
    CLUSTER_ADMIN_POLICY: "cluster-admin",
    "AmazonEKSAdminPolicy": "admin",
    "AmazonEKSEditPolicy": "edit",
    "AmazonEKSViewPolicy": "view",
}


class AuthMode(StrEnum):
    """``accessConfig.authenticationMode`` of DescribeCluster."""

    API = "API"
    API_AND_CONFIG_MAP = "API_AND_CONFIG_MAP"
    CONFIG_MAP = "CONFIG_MAP"

    @classmethod
    def parse(cls, value: str | None) -> AuthMode:
        # Clusters made before access entries existed report no mode (moto too): they
        # authenticate through aws-auth only, which is CONFIG_MAP.
        try:
            return cls(value) if value else cls.CONFIG_MAP
        except ValueError:
            return cls.CONFIG_MAP


class AccessState(StrEnum):
    """What the EKS API says one role may do in one cluster (docs/access.md: each, and fixes)."""

    ADMIN = "admin"            # AmazonEKSClusterAdminPolicy on the whole cluster
    CLUSTER = "cluster"        # other access policies on the whole cluster (view, edit, admin)
    NAMESPACED = "namespaced"  # access policies on some namespaces only
    GROUPS = "groups"          # an entry with Kubernetes groups, no policy: RBAC decides
    NO_RIGHTS = "no-rights"    # an entry with neither: kubectl signs in, then is forbidden
    NO_ENTRY = "no-entry"      # API mode and no entry for this role: kubectl gets 401
    UNKNOWN = "unknown"        # the EKS API cannot tell; `reason` says why

    @property
    def gets_in(self) -> bool:
        """True when the API says kubectl will be let in with some rights."""
        return self in _GETS_IN

    @property
    def rank(self) -> int:
        """Place in :data:`RANK` (0 is best)."""
        return RANK[self]


_GETS_IN = frozenset({AccessState.ADMIN, AccessState.CLUSTER, AccessState.NAMESPACED,
                      AccessState.GROUPS})

# Best first: used to order a cluster's roles ("best role first") and to pick the default.
RANK = {state: rank for rank, state in enumerate((
    AccessState.ADMIN, AccessState.CLUSTER, AccessState.NAMESPACED, AccessState.GROUPS,
    AccessState.UNKNOWN, AccessState.NO_RIGHTS, AccessState.NO_ENTRY))}


class UnknownReason(StrEnum):
    CONFIG_MAP = "config-map"    # CONFIG_MAP mode: only aws-auth decides; not readable via EKS
    AWS_AUTH = "aws-auth"        # API_AND_CONFIG_MAP, no entry: only aws-auth could let it in
    DENIED = "denied"            # the role may not read access entries (AccessDenied)
    NO_ENDPOINT = "no-endpoint"  # no API server endpoint yet (CREATING, FAILED)
    ERROR = "error"              # another failure (after retries); `detail` has the code


@dataclass(frozen=True, slots=True)
class Grant:
    """One associated access policy, by short name, with its scope."""

    policy: str
    scope: ScopeType
    namespaces: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "scope": self.scope.value,
                "namespaces": list(self.namespaces)}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Grant:
        return cls(str(doc["policy"]), ScopeType(doc["scope"]),
                   tuple(str(n) for n in doc.get("namespaces") or ()))


@dataclass(frozen=True, slots=True)
class AccessVerdict:
    """The AWS-side answer for one (cluster, role).

    ``principal_arn`` is the caller's access entry ARN when there is one, else the ARN an
    access entry should name (with the role's path when it is known); ``aws_auth_arn`` the
    path-less ARN an aws-auth ``mapRoles`` entry must use.
    """

    state: AccessState
    reason: UnknownReason | None = None
    detail: str = ""
    authentication_mode: AuthMode | None = None
    caller_arn: str | None = None
    principal_arn: str | None = None
    aws_auth_arn: str | None = None
    grants: tuple[Grant, ...] = ()
    kubernetes_groups: tuple[str, ...] = ()
    username: str | None = None

    @property
    def label(self) -> str:
        """Table text: ``admin``, ``namespaced(view: a, b)``, ``unknown(denied)``."""
        if self.state is AccessState.UNKNOWN and self.reason is not None:
            return f"unknown({self.reason.value})"
        if self.state is AccessState.CLUSTER:
            return f"cluster({', '.join(sorted({g.policy for g in self.grants}))})"
        if self.state is AccessState.NAMESPACED:
            parts = [f"{g.policy}: {', '.join(g.namespaces)}" for g in self.grants]
            return f"namespaced({'; '.join(parts)})"
        if self.state is AccessState.GROUPS:
            return f"groups({', '.join(self.kubernetes_groups)})"
        return self.state.value

    @property
    def fix(self) -> str | None:
        """One line saying what an administrator would add, or None when nothing is missing."""
        arn = self.principal_arn or "<the role's IAM ARN>"
        if self.state is AccessState.NO_ENTRY or self.reason is UnknownReason.AWS_AUTH:
            text = f"create an access entry for {arn} and associate an access policy"
            if self.reason is UnknownReason.AWS_AUTH and self.aws_auth_arn:
                text += f" (or map rolearn {self.aws_auth_arn} in aws-auth)"
            return text
        if self.state is AccessState.NO_RIGHTS:
            return f"associate an access policy with the access entry of {arn}"
        if self.reason is UnknownReason.CONFIG_MAP and self.aws_auth_arn:
            return (f"aws-auth must map rolearn {self.aws_auth_arn} (no path); "
                    "check with --access live")
        if self.reason is UnknownReason.DENIED:
            return "allow eks:ListAccessEntries for this role, or check with --access live"
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.state.value,
            "reason": self.reason.value if self.reason else None,
            "detail": self.detail or None,
            "label": self.label,
            "authentication_mode": self.authentication_mode.value
            if self.authentication_mode else None,
            "caller_arn": self.caller_arn,
            "principal_arn": self.principal_arn,
            "aws_auth_arn": self.aws_auth_arn,
            "policies": [g.to_json() for g in self.grants],
            "kubernetes_groups": list(self.kubernetes_groups),
            "username": self.username,
            "fix": self.fix,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> AccessVerdict:
        reason = doc.get("reason")
        mode = doc.get("authentication_mode")
        return cls(
            state=AccessState(doc["verdict"]),
            reason=UnknownReason(reason) if reason else None,
            detail=str(doc.get("detail") or ""),
            authentication_mode=AuthMode(mode) if mode else None,
            caller_arn=doc.get("caller_arn"),
            principal_arn=doc.get("principal_arn"),
            aws_auth_arn=doc.get("aws_auth_arn"),
            grants=tuple(Grant.from_json(g) for g in doc.get("policies") or ()),
            kubernetes_groups=tuple(doc.get("kubernetes_groups") or ()),
            username=doc.get("username"),
        )


# -- ARNs -------------------------------------------------------------------------------------


def role_arn_parts(arn: str) -> tuple[str, str, str, str] | None:
    """``arn:<partition>:iam::<account>:role/<path/><name>`` → (partition, account, path, name).

    ``path`` is ``""`` or ends with ``/``. None for anything that is not an IAM role ARN.
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or parts[3]:
        return None
    resource = parts[5]
    if not resource.startswith("role/"):
        return None
    path, _, name = resource[len("role/"):].rpartition("/")
    if not name:
        return None
    return parts[1], parts[4], f"{path}/" if path else "", name


def iam_role_arn(caller: CallerIdentity, *, sso_region: str | None = None) -> str | None:
    """The IAM ARN of the caller's role, with the path IAM Identity Center gives its roles
    (``aws-reserved/sso.amazonaws.com/`` plus the Identity Center region unless it is
    us-east-1) when the role is an ``AWSReservedSSO_`` one; path-less otherwise."""
    name = caller.role_name
    if name is None:
        return None
    path = ""
    if name.startswith(SSO_ROLE_PREFIX):
        path = SSO_PATH + (f"{sso_region}/" if sso_region and sso_region != "us-east-1" else "")
    return f"arn:{caller.partition}:iam::{caller.account}:role/{path}{name}"


def aws_auth_role_arn(caller: CallerIdentity) -> str | None:
    """The ARN aws-auth's ``mapRoles`` must name for the caller: the role without its path."""
    name = caller.role_name
    return f"arn:{caller.partition}:iam::{caller.account}:role/{name}" if name else None


def find_entry(principal_arns: Iterable[str], caller: CallerIdentity) -> str | None:
    """The caller's access entry among ``principal_arns``, matched on partition, account
    and role name whatever the path (a role name is unique in its account)."""
    name = caller.role_name
    if name is None:
        return None
    for arn in principal_arns:
        parts = role_arn_parts(arn)
        if parts is not None and parts[0] == caller.partition and parts[1] == caller.account \
                and parts[3] == name:
            return arn
    return None


# -- verdicts ---------------------------------------------------------------------------------


def _short(policy: AssociatedPolicy) -> str:
    return _SHORT.get(policy.name, policy.name)


def _identity(caller: CallerIdentity | None, sso_region: str | None) -> dict[str, Any]:
    if caller is None:
        return {}
    return {"caller_arn": caller.arn, "principal_arn": iam_role_arn(caller, sso_region=sso_region),
            "aws_auth_arn": aws_auth_role_arn(caller)}


def verdict_unknown(
    reason: UnknownReason, *, mode: AuthMode | None = None, caller: CallerIdentity | None = None,
    sso_region: str | None = None, detail: str = "",
) -> AccessVerdict:
    return AccessVerdict(AccessState.UNKNOWN, reason, detail, authentication_mode=mode,
                         **_identity(caller, sso_region))


def verdict_without_entry(
    mode: AuthMode, caller: CallerIdentity, *, sso_region: str | None = None,
) -> AccessVerdict:
    """No access entry names the caller's role."""
    if mode is AuthMode.API:
        return AccessVerdict(AccessState.NO_ENTRY, authentication_mode=mode,
                             **_identity(caller, sso_region))
    reason = UnknownReason.CONFIG_MAP if mode is AuthMode.CONFIG_MAP else UnknownReason.AWS_AUTH
    return verdict_unknown(reason, mode=mode, caller=caller, sso_region=sso_region)


def verdict_from_entry(
    mode: AuthMode, caller: CallerIdentity, entry: AccessEntry,
    policies: Iterable[AssociatedPolicy],
) -> AccessVerdict:
    """The caller's access entry and its associated policies → the verdict.

    An access entry decides on its own in either API mode: EKS consults access entries
    before aws-auth, so an aws-auth mapping cannot take rights away from an entry.
    """
    grants = tuple(sorted(
        (Grant(_short(p), p.scope, tuple(sorted(p.namespaces))) for p in policies),
        key=lambda g: (g.scope.value, g.policy, g.namespaces)))
    cluster_wide = [g for g in grants if g.scope is ScopeType.CLUSTER]
    if any(g.policy == _SHORT[CLUSTER_ADMIN_POLICY] for g in cluster_wide):
        state = AccessState.ADMIN
    elif cluster_wide:
        state = AccessState.CLUSTER
    elif grants:
        state = AccessState.NAMESPACED
    elif entry.kubernetes_groups:
        state = AccessState.GROUPS
    else:
        state = AccessState.NO_RIGHTS
    return AccessVerdict(
        state,
        authentication_mode=mode,
        caller_arn=caller.arn,
        principal_arn=entry.principal_arn,
        aws_auth_arn=aws_auth_role_arn(caller),
        grants=grants,
        kubernetes_groups=tuple(entry.kubernetes_groups),
        username=entry.username,
    )
