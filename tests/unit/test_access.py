"""access: the pure verdict from mode + entries + policies + caller, ARN matching with paths."""

from __future__ import annotations

import pytest

from ekstrio.access import (
    RANK,
    AccessState,
    AccessVerdict,
    AuthMode,
    UnknownReason,
    aws_auth_role_arn,
    find_entry,
    iam_role_arn,
    role_arn_parts,
    verdict_from_entry,
    verdict_unknown,
    verdict_without_entry,
)
from ekstrio.aws.eks_access import AccessEntry, AssociatedPolicy, ScopeType
from ekstrio.aws.sts import CallerIdentity

ACCOUNT = "111122223333"
ROLE = "AWSReservedSSO_Admin_0123456789abcdef"
CALLER = CallerIdentity(ACCOUNT, f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/alice", "AROA:alice")
SSO_ARN = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{ROLE}"
POLICY = "arn:aws:eks::aws:cluster-access-policy/"


def test_role_arn_parts() -> None:
    assert role_arn_parts(SSO_ARN) == (
        "aws", ACCOUNT, "aws-reserved/sso.amazonaws.com/eu-west-1/", ROLE)
    assert role_arn_parts(f"arn:aws:iam::{ACCOUNT}:role/x") == ("aws", ACCOUNT, "", "x")
    for bad in ("arn:aws:iam::1:user/x", "arn:aws:sts::1:assumed-role/x/y", "x",
                "arn:aws:iam::1:role/", "arn:aws:iam:us-east-1:1:role/x"):
        assert role_arn_parts(bad) is None


def test_entry_matches_whatever_the_path() -> None:
    others = [f"arn:aws:iam::{ACCOUNT}:role/{ROLE}x", f"arn:aws:iam::999999999999:role/{ROLE}",
              f"arn:aws-cn:iam::{ACCOUNT}:role/{ROLE}", f"arn:aws:iam::{ACCOUNT}:user/{ROLE}"]
    assert find_entry(others, CALLER) is None
    assert find_entry([*others, SSO_ARN], CALLER) == SSO_ARN
    plain = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
    assert find_entry([plain], CALLER) == plain
    user = CallerIdentity(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/bob", "AIDA")
    assert find_entry([SSO_ARN], user) is None


@pytest.mark.parametrize(("region", "path"), [
    ("eu-west-1", "aws-reserved/sso.amazonaws.com/eu-west-1/"),
    ("us-east-1", "aws-reserved/sso.amazonaws.com/"),  # Identity Center in us-east-1: no region
    (None, "aws-reserved/sso.amazonaws.com/"),
])
def test_iam_role_arn_of_an_identity_center_role(region: str | None, path: str) -> None:
    assert iam_role_arn(CALLER, sso_region=region) == f"arn:aws:iam::{ACCOUNT}:role/{path}{ROLE}"
    assert aws_auth_role_arn(CALLER) == f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"


def test_iam_role_arn_of_another_role_has_no_path() -> None:
    caller = CallerIdentity(ACCOUNT, f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/ci/s", "x")
    assert iam_role_arn(caller, sso_region="cn-north-1") == f"arn:aws-cn:iam::{ACCOUNT}:role/ci"


def policy(name: str, *namespaces: str) -> AssociatedPolicy:
    scope = ScopeType.NAMESPACE if namespaces else ScopeType.CLUSTER
    return AssociatedPolicy(POLICY + name, scope, namespaces)


ENTRY = AccessEntry(SSO_ARN)


@pytest.mark.parametrize(("policies", "groups", "state", "label"), [
    ([policy("AmazonEKSClusterAdminPolicy")], (), AccessState.ADMIN, "admin"),
    ([policy("AmazonEKSViewPolicy", "b", "a"), policy("AmazonEKSClusterAdminPolicy")], (),
     AccessState.ADMIN, "admin"),
    ([policy("AmazonEKSViewPolicy")], (), AccessState.CLUSTER, "cluster(view)"),
    ([policy("AmazonEKSClusterAdminPolicy", "ops")], (), AccessState.NAMESPACED,
     "namespaced(cluster-admin: ops)"),
    ([policy("AmazonEKSViewPolicy", "ns2", "ns1")], (), AccessState.NAMESPACED,
     "namespaced(view: ns1, ns2)"),
    ([policy("AmazonEKSEditPolicy", "b"), policy("AmazonEKSViewPolicy", "a")], ("g",),
     AccessState.NAMESPACED, "namespaced(edit: b; view: a)"),
    ([], ("ops", "dev"), AccessState.GROUPS, "groups(ops, dev)"),
    ([], (), AccessState.NO_RIGHTS, "no-rights"),
])
def test_verdict_from_entry(policies: list[AssociatedPolicy], groups: tuple[str, ...],
                            state: AccessState, label: str) -> None:
    entry = AccessEntry(SSO_ARN, groups)
    for mode in (AuthMode.API, AuthMode.API_AND_CONFIG_MAP):
        verdict = verdict_from_entry(mode, CALLER, entry, policies)
        assert (verdict.state, verdict.label) == (state, label)
        assert verdict.principal_arn == SSO_ARN
        assert verdict.state.gets_in is (state not in (AccessState.NO_RIGHTS,))
        assert AccessVerdict.from_json(verdict.to_json()) == verdict


def test_without_entry_per_mode() -> None:
    api = verdict_without_entry(AuthMode.API, CALLER, sso_region="eu-west-1")
    assert (api.state, api.label) == (AccessState.NO_ENTRY, "no-entry")
    assert api.principal_arn == SSO_ARN
    assert api.fix == f"create an access entry for {SSO_ARN} and associate an access policy"
    both = verdict_without_entry(AuthMode.API_AND_CONFIG_MAP, CALLER, sso_region="eu-west-1")
    assert (both.state, both.reason, both.label) == (
        AccessState.UNKNOWN, UnknownReason.AWS_AUTH, "unknown(aws-auth)")
    assert both.fix is not None
    assert f"rolearn arn:aws:iam::{ACCOUNT}:role/{ROLE} in aws-auth)" in both.fix
    config_map = verdict_without_entry(AuthMode.CONFIG_MAP, CALLER)
    assert config_map.reason is UnknownReason.CONFIG_MAP
    assert config_map.fix == (f"aws-auth must map rolearn arn:aws:iam::{ACCOUNT}:role/{ROLE} "
                              "(no path); check with --access live")
    for verdict in (api, both, config_map):
        assert AccessVerdict.from_json(verdict.to_json()) == verdict
        assert not verdict.state.gets_in


def test_unknown_and_ranks() -> None:
    denied = verdict_unknown(UnknownReason.DENIED, mode=AuthMode.API, detail="AccessDenied")
    assert denied.label == "unknown(denied)"
    assert denied.to_json()["detail"] == "AccessDenied"
    assert AccessVerdict.from_json(denied.to_json()) == denied
    assert verdict_from_entry(AuthMode.API, CALLER, ENTRY, []).fix is not None
    ordered = sorted(AccessState, key=RANK.__getitem__)
    assert ordered[0] is AccessState.ADMIN
    assert ordered[-1] is AccessState.NO_ENTRY


def test_mode_parse() -> None:
    assert AuthMode.parse(None) is AuthMode.CONFIG_MAP
    assert AuthMode.parse("API") is AuthMode.API
    assert AuthMode.parse("SOMETHING_NEW") is AuthMode.CONFIG_MAP
