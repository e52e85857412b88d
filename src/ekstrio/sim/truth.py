"""The access part of the ground truth: what ``--dump-org`` says about roles and clusters.

Per role: its IAM names. Per cluster: authentication mode, endpoint reach, whether the published
CA is the one that signed the endpoint, its access entries (with their policies) and aws-auth
``mapRoles``, and the expected verdict of every role of the account that may call EKS: what the
access-entry APIs tell that role (``aws``) and what the cluster answers it (``live``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ekstrio.sim.access import Mode, Reach, entry_json, mapping_json
from ekstrio.sim.kube_rbac import Caller, authenticate, rights
from ekstrio.sim.principals import (
    assumed_role_arn,
    iam_role_arn,
    role_id,
    sso_role_name,
    sso_role_path,
)

if TYPE_CHECKING:
    from ekstrio.sim.org import Organisation, SimAccount, SimRole

#: The access key id the ground truth renders ``{{AccessKeyID}}`` with (the sim's seeded
#: entries never use it; a real one differs per credentials).
TRUTH_KEY = "ASIA0000000000000000"


def role_json(org: Organisation, acct: SimAccount, role: SimRole) -> dict[str, Any]:
    name = sso_role_name(org.seed, acct.account_id, role.name)
    return {
        "roleName": role.name,
        "eksAccess": role.eks,
        "accessEntryApis": role.access_entry_apis,
        "iamRoleName": name,
        "iamRoleArn": iam_role_arn(org.partition, acct.account_id, name,
                                   sso_role_path(org.sso_region)),
        "assumedRoleArn": assumed_role_arn(org.partition, acct.account_id, name, org.user),
    }


def caller_of(org: Organisation, account_id: str, permission_set: str,
              access_key_id: str) -> Caller:
    name = sso_role_name(org.seed, account_id, permission_set)
    return Caller(
        account_id=account_id,
        role_arn=iam_role_arn(org.partition, account_id, name, sso_role_path(org.sso_region)),
        assumed_arn=assumed_role_arn(org.partition, account_id, name, org.user),
        session=org.user,
        access_key_id=access_key_id,
        role_id=role_id(account_id, name),
    )


def verdict(org: Organisation, acct: SimAccount, role: SimRole, region: str,
            cluster: str) -> dict[str, Any]:
    access = org.access[(acct.account_id, region, cluster)]
    caller = caller_of(org, acct.account_id, role.name, TRUTH_KEY)
    if not role.access_entry_apis:
        aws = "denied"  # AccessDeniedException on ListAccessEntries
    elif not access.mode.uses_entries:
        aws = "not-api-mode"  # InvalidRequestException: the cluster has no access entries
    else:
        aws = "entry" if access.entry(caller.role_arn) else "no-entry"
    out: dict[str, Any] = {"principalArn": caller.role_arn, "aws": aws}
    if access.reach is Reach.NONE:
        return out | {"live": "no-endpoint"}
    if access.reach is Reach.PRIVATE:
        return out | {"live": "unreachable"}
    if not access.ca_matches:
        return out | {"live": "tls-error"}
    user = authenticate(access, caller)
    if user is None:
        return out | {"live": "unauthorized"}
    can = rights(user)
    return out | {
        "live": "ok" if any(can.values()) else "forbidden",
        "via": user.via,
        "username": user.username,
        "groups": list(user.groups),
        "rights": can,
    }


def account_access(org: Organisation, acct: SimAccount) -> dict[str, Any]:
    out: dict[str, Any] = {}
    roles = [r for r in acct.roles if r.eks]
    for region in org.regions:
        clusters = org.clusters_in(acct.account_id, region)
        if not clusters:
            continue
        here: dict[str, Any] = {}
        for c in clusters:
            access = org.access[(acct.account_id, region, c["name"])]
            at = access.created_at
            here[c["name"]] = {
                "authenticationMode": access.mode.value,
                "endpointAccess": access.reach.value,
                "caMatches": access.ca_matches,
                "accessEntries": [
                    entry_json(e, cluster=c["name"], partition=org.partition,
                               account_id=acct.account_id, region=region, at=at)
                    | {"associatedAccessPolicies": [p.as_json(org.partition, at)
                                                    for p in e.policies]}
                    for e in access.entries
                ] if access.mode is not Mode.CONFIG_MAP else [],
                "awsAuth": {"mapRoles": [mapping_json(m) for m in access.map_roles]}
                if access.mode.uses_config_map else None,
                "verdicts": {r.name: verdict(org, acct, r, region, c["name"]) for r in roles},
            }
        out[region] = here
    return out
