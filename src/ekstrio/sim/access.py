"""Who may get into each cluster: access entries, aws-auth mappings, private endpoints, wrong CAs.

Drawn per cluster from its own ``random.Random`` (seeded by the org seed and the cluster's
account, region and name), so adding this layer left every earlier draw of the organisation, and
so every existing cluster, name and field, as it was. The values are the sim's ground truth:
``Organisation.dump()`` shows them, ``eks_access.py`` serves them through the EKS API and
``kube_api.py`` enforces them on the cluster endpoints.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ekstrio.sim.principals import iam_role_arn, sso_role_name, sso_role_path

POLICY_PREFIX = "arn:{partition}:eks::aws:cluster-access-policy/"
CLUSTER_ADMIN = "AmazonEKSClusterAdminPolicy"
VIEW = "AmazonEKSViewPolicy"
#: The cluster RBAC every sim cluster is assumed to have: ``eks-viewers`` is bound cluster-wide
#: to the built-in ``view`` ClusterRole; ``developers`` is bound to nothing.
VIEW_GROUP = "eks-viewers"
UNBOUND_GROUP = "developers"
NAMESPACES = ("default", "team-a", "team-b", "monitoring")


class Mode(Enum):
    API = "API"
    API_AND_CONFIG_MAP = "API_AND_CONFIG_MAP"
    CONFIG_MAP = "CONFIG_MAP"

    @property
    def uses_entries(self) -> bool:
        return self is not Mode.CONFIG_MAP

    @property
    def uses_config_map(self) -> bool:
        return self is not Mode.API


class Reach(Enum):
    """How a client reaches the cluster's endpoint."""

    PUBLIC = "public"  # served by the sim's TLS listener
    PRIVATE = "private"  # endpointPublicAccess false: nothing answers
    NONE = "none"  # no endpoint yet (CREATING, FAILED)


@dataclass(frozen=True)
class AssociatedPolicy:
    policy: str  # short name, e.g. AmazonEKSViewPolicy
    namespaces: tuple[str, ...] = ()  # empty: cluster scope

    def as_json(self, partition: str, at: float) -> dict[str, Any]:
        scope: dict[str, Any] = ({"type": "namespace", "namespaces": list(self.namespaces)}
                                 if self.namespaces else {"type": "cluster", "namespaces": []})
        return {"policyArn": POLICY_PREFIX.format(partition=partition) + self.policy,
                "accessScope": scope, "associatedAt": at, "modifiedAt": at}


@dataclass(frozen=True)
class AccessEntry:
    principal_arn: str
    username: str  # a template, as DescribeAccessEntry shows it
    groups: tuple[str, ...] = ()
    policies: tuple[AssociatedPolicy, ...] = ()
    type: str = "STANDARD"


@dataclass(frozen=True)
class RoleMapping:
    """One aws-auth ``mapRoles`` item."""

    rolearn: str
    username: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class ClusterAccess:
    mode: Mode
    reach: Reach
    ca_matches: bool  # False: certificateAuthority.data is another CA (TLS verification fails)
    entries: tuple[AccessEntry, ...]  # sorted by principal ARN (ListAccessEntries order)
    map_roles: tuple[RoleMapping, ...]
    created_at: float

    def entry(self, principal_arn: str) -> AccessEntry | None:
        return next((e for e in self.entries if e.principal_arn == principal_arn), None)


def role_arn(seed: int, partition: str, account_id: str, permission_set: str,
             sso_region: str) -> str:
    """The IAM ARN (with its path) of a permission set's role in an account."""
    return iam_role_arn(partition, account_id, sso_role_name(seed, account_id, permission_set),
                        sso_role_path(sso_region))


def _default_username(partition: str, account_id: str, role_name: str) -> str:
    # What EKS fills in for a role's access entry created without a username.
    return f"arn:{partition}:sts::{account_id}:assumed-role/{role_name}/{{{{SessionName}}}}"


def draw_access(cluster: dict[str, Any], *, seed: int, partition: str, account_id: str,
                region: str, permission_sets: tuple[str, ...], sso_region: str) -> ClusterAccess:
    """The access set-up of one cluster, from its own seeded generator."""
    rng = random.Random(f"access/{seed}/{account_id}/{region}/{cluster['name']}")
    mode = Mode(cluster["accessConfig"]["authenticationMode"])
    reach = Reach.PUBLIC if "endpoint" in cluster else Reach.NONE
    if reach is Reach.PUBLIC and rng.random() < 0.12:
        reach = Reach.PRIVATE
    ca_matches = reach is not Reach.PUBLIC or rng.random() >= 0.06
    node_role = iam_role_arn(partition, account_id, f"eks-node-{cluster['name']}")
    pipeline = iam_role_arn(partition, account_id, "platform-deployer", "ci/")
    entries = [
        AccessEntry(node_role, "system:node:{{EC2PrivateDNSName}}", ("system:nodes",),
                    type="EC2_LINUX"),
        AccessEntry(pipeline, _default_username(partition, account_id, "platform-deployer"),
                    policies=(AssociatedPolicy(CLUSTER_ADMIN),)),
    ]
    map_roles = [RoleMapping(node_role, "system:node:{{EC2PrivateDNSName}}",
                             ("system:bootstrappers", "system:nodes"))]
    for ps in permission_sets:
        name = sso_role_name(seed, account_id, ps)
        arn = iam_role_arn(partition, account_id, name, sso_role_path(sso_region))
        kind = rng.choices(("admin", "ns-view", "groups", "bare", "none"),
                           (30, 25, 10, 10, 25))[0]
        username = (_default_username(partition, account_id, name) if rng.random() < 0.6
                    else f"sso-{ps.lower()}:{{{{SessionName}}}}")
        if kind == "admin":
            entries.append(AccessEntry(arn, username, policies=(AssociatedPolicy(CLUSTER_ADMIN),)))
        elif kind == "ns-view":
            spaces = tuple(sorted(rng.sample(NAMESPACES, rng.randint(1, 2))))
            entries.append(AccessEntry(arn, username, policies=(AssociatedPolicy(VIEW, spaces),)))
        elif kind == "groups":
            entries.append(AccessEntry(arn, username, (VIEW_GROUP,)))
        elif kind == "bare":
            entries.append(AccessEntry(arn, username, (UNBOUND_GROUP,)))
        # aws-auth: an admin mapping, a view mapping, the common mistake (the ARN with its
        # path, which never matches), or nothing.
        how = rng.choices(("admin", "view", "with-path", "none"), (30, 25, 20, 25))[0]
        pathless = iam_role_arn(partition, account_id, name)
        if how == "admin":
            map_roles.append(RoleMapping(pathless, f"{ps.lower()}:{{{{SessionName}}}}",
                                         ("system:masters",)))
        elif how == "view":
            map_roles.append(RoleMapping(pathless, f"{ps.lower()}:{{{{SessionName}}}}",
                                         (VIEW_GROUP,)))
        elif how == "with-path":
            map_roles.append(RoleMapping(arn, f"{ps.lower()}:{{{{SessionName}}}}",
                                         ("system:masters",)))
    return ClusterAccess(
        mode=mode, reach=reach, ca_matches=ca_matches,
        entries=tuple(sorted(entries, key=lambda e: e.principal_arn)),
        map_roles=tuple(map_roles),
        created_at=float(int(cluster["createdAt"]) + 3600),
    )


def entry_json(entry: AccessEntry, *, cluster: str, partition: str, account_id: str,
               region: str, at: float) -> dict[str, Any]:
    """A DescribeAccessEntry ``accessEntry`` object."""
    kind, _, rest = entry.principal_arn.split(":", 5)[5].partition("/")
    name = rest.rsplit("/", 1)[-1]
    # A stable id at the end, as EKS appends one per entry (never hash(): salted per process).
    digest = hashlib.sha256(f"{cluster}|{entry.principal_arn}".encode()).hexdigest()
    uid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return {
        "clusterName": cluster,
        "principalArn": entry.principal_arn,
        "kubernetesGroups": list(entry.groups),
        "accessEntryArn": (f"arn:{partition}:eks:{region}:{account_id}:access-entry/{cluster}/"
                           f"{kind}/{account_id}/{name}/{uid}"),
        "createdAt": at,
        "modifiedAt": at,
        "tags": {},
        "username": entry.username,
        "type": entry.type,
    }


def mapping_json(mapping: RoleMapping) -> dict[str, Any]:
    return {"rolearn": mapping.rolearn, "username": mapping.username,
            "groups": list(mapping.groups)}
