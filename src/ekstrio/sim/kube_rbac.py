"""Authentication and authorisation inside a sim cluster, as EKS does them (pure functions).

Authentication maps a verified caller to a Kubernetes user: in ``API`` and ``API_AND_CONFIG_MAP``
modes by the access entry whose principal is the caller's IAM role (its ARN with the path); in
``CONFIG_MAP`` and ``API_AND_CONFIG_MAP`` modes (access entry first) by the aws-auth
``mapRoles`` item whose ``rolearn`` equals the canonical role ARN, lower-cased, as
aws-iam-authenticator compares them. No match: 401.

Authorisation covers what the sim's clusters hold: the access policies AmazonEKSClusterAdminPolicy
(everything in scope) and AmazonEKSViewPolicy (get/list/watch of everything but secrets, in
scope), the group ``system:masters`` (everything), the group ``eks-viewers`` (bound cluster-wide
to ``view``), and what every authenticated user may do (self reviews, discovery, /version).
"""

from __future__ import annotations

from dataclasses import dataclass

from ekstrio.sim.access import (
    CLUSTER_ADMIN,
    VIEW,
    VIEW_GROUP,
    AccessEntry,
    AssociatedPolicy,
    ClusterAccess,
    RoleMapping,
)
from ekstrio.sim.principals import canonical_arn, render_username

READ_VERBS = frozenset({"get", "list", "watch"})
SELF_REVIEWS = frozenset({"selfsubjectreviews", "selfsubjectaccessreviews",
                          "selfsubjectrulesreviews"})
#: Cluster-scoped resources the sim knows: a namespace in a review of one is ignored (what the
#: request itself would be judged by; see docs/sim.md for how real RBAC differs).
CLUSTER_SCOPED = frozenset({"namespaces", "nodes", "persistentvolumes", "clusterroles",
                            "clusterrolebindings", "customresourcedefinitions",
                            "storageclasses", *SELF_REVIEWS})
PUBLIC_PATHS = ("/version", "/api", "/apis", "/healthz", "/livez", "/readyz", "/openapi")
#: The rights the ground truth reports per (cluster, role), the checks a client makes:
#: (label, verb, API group, resource, namespace or None for cluster scope).
CHECKS = (
    ("list namespaces", "list", "", "namespaces", None),
    ("get pods in default", "get", "", "pods", "default"),
)


@dataclass(frozen=True)
class Caller:
    """A verified EKS token's principal."""

    account_id: str
    role_arn: str  # IAM ARN with path (what access entries name)
    assumed_arn: str  # the STS session ARN
    session: str
    access_key_id: str
    role_id: str


@dataclass(frozen=True)
class KubeUser:
    username: str
    uid: str
    groups: tuple[str, ...]
    policies: tuple[AssociatedPolicy, ...]
    via: str  # "access-entry" | "aws-auth"
    extra: dict[str, list[str]]


def _user(caller: Caller, template: str, groups: tuple[str, ...],
          policies: tuple[AssociatedPolicy, ...], via: str) -> KubeUser:
    name = render_username(template, account_id=caller.account_id, session=caller.session,
                           access_key_id=caller.access_key_id)
    return KubeUser(
        username=name,
        uid=f"aws-iam-authenticator:{caller.account_id}:{caller.role_id}",
        groups=(*groups, "system:authenticated"),
        policies=policies,
        via=via,
        extra={"accessKeyId": [caller.access_key_id], "arn": [caller.assumed_arn],
               "canonicalArn": [canonical_arn(caller.assumed_arn)],
               "principalId": [caller.role_id], "sessionName": [caller.session]},
    )


def authenticate(access: ClusterAccess, caller: Caller) -> KubeUser | None:
    """The Kubernetes user a caller becomes in this cluster, or None (401)."""
    if access.mode.uses_entries:
        entry: AccessEntry | None = access.entry(caller.role_arn)
        if entry is not None:
            return _user(caller, entry.username, entry.groups, entry.policies, "access-entry")
    if access.mode.uses_config_map:
        wanted = canonical_arn(caller.assumed_arn).lower()
        mapping: RoleMapping | None = next(
            (m for m in access.map_roles if canonical_arn(m.rolearn.lower()) == wanted), None)
        if mapping is not None:
            return _user(caller, mapping.username, mapping.groups, (), "aws-auth")
    return None


def _policy_allows(policy: AssociatedPolicy, verb: str, resource: str,
                   namespace: str | None) -> bool:
    if policy.namespaces and (namespace is None or namespace not in policy.namespaces):
        return False
    if policy.policy == CLUSTER_ADMIN:
        return True
    if policy.policy == VIEW:
        return verb in READ_VERBS and resource != "secrets"
    return False


def allowed(user: KubeUser, *, verb: str, group: str, resource: str,
            namespace: str | None) -> bool:
    """Whether ``user`` may ``verb`` ``resource`` (in ``namespace``; None: cluster scope)."""
    if resource in CLUSTER_SCOPED:
        namespace = None  # kubectl auth can-i sends its default namespace even for these
    if "system:masters" in user.groups:
        return True
    if group in ("authorization.k8s.io", "authentication.k8s.io") and verb == "create" \
            and resource in SELF_REVIEWS:
        return True
    if any(_policy_allows(p, verb, resource, namespace) for p in user.policies):
        return True
    return VIEW_GROUP in user.groups and verb in READ_VERBS and resource != "secrets"


def path_allowed(user: KubeUser, *, verb: str, path: str) -> bool:
    """Non-resource URLs: discovery and health for everyone authenticated, the rest for admins."""
    if verb == "get" and any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS):
        return True
    return "system:masters" in user.groups or any(
        p.policy == CLUSTER_ADMIN and not p.namespaces for p in user.policies)


def rights(user: KubeUser) -> dict[str, bool]:
    return {label: allowed(user, verb=verb, group=group, resource=resource, namespace=ns)
            for label, verb, group, resource, ns in CHECKS}
