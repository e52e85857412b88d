"""The sim's Kubernetes side as pure functions: kubectl's protobuf review, matching, RBAC."""

from __future__ import annotations

import pytest

from ekstrio.sim import kube_proto
from ekstrio.sim.access import (
    CLUSTER_ADMIN,
    VIEW,
    AccessEntry,
    AssociatedPolicy,
    ClusterAccess,
    Mode,
    Reach,
    RoleMapping,
)
from ekstrio.sim.kube_rbac import Caller, allowed, authenticate, rights

# What kubectl 1.37 posts for `kubectl auth can-i list namespaces` (from its -v=8 dump).
KUBECTL_SSAR = bytes.fromhex(
    "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a"
    "65637441636365737352657669657712430a100a0012001a0022002a0032003800420012250a230a07"
    "64656661756c7412046c6973741a0022002a0a6e616d6573706163657332003a001a08080012001a00"
    "20001a002200")

PATH_ARN = ("arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/"
            "AWSReservedSSO_Admin_0123456789abcdef")
CALLER = Caller(
    account_id="111122223333", role_arn=PATH_ARN,
    assumed_arn="arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/"
                "dev@example.com",
    session="dev@example.com", access_key_id="ASIAEXAMPLE", role_id="AROAEXAMPLE")


def test_kubectls_protobuf_access_review_is_read() -> None:
    review = kube_proto.access_review(KUBECTL_SSAR)
    attrs = review["spec"]["resourceAttributes"]
    assert (attrs["verb"], attrs["resource"], attrs["namespace"], attrs["group"]) == \
        ("list", "namespaces", "default", "")
    with pytest.raises(ValueError, match="protobuf"):
        kube_proto.access_review(b'{"spec": {}}')
    with pytest.raises(ValueError, match="truncated"):
        kube_proto.access_review(KUBECTL_SSAR[:40])


def cluster(mode: Mode, entries: tuple[AccessEntry, ...] = (),
            maps: tuple[RoleMapping, ...] = ()) -> ClusterAccess:
    return ClusterAccess(mode, Reach.PUBLIC, True, entries, maps, 0.0)


def test_access_entries_name_the_role_with_its_path_aws_auth_without() -> None:
    pathless = "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123456789abcdef"
    entry = AccessEntry(PATH_ARN, "x:{{SessionName}}", policies=(AssociatedPolicy(CLUSTER_ADMIN),))
    wrong_entry = AccessEntry(pathless, "x", policies=(AssociatedPolicy(CLUSTER_ADMIN),))
    mapping = RoleMapping(pathless.replace("AWSReservedSSO", "awsreservedsso"),
                          "m:{{SessionNameRaw}}", ("system:masters",))
    with_path = RoleMapping(PATH_ARN, "m", ("system:masters",))
    user = authenticate(cluster(Mode.API, (entry,)), CALLER)
    assert user is not None
    assert (user.username, user.via) == ("x:dev-example.com", "access-entry")
    assert authenticate(cluster(Mode.API, (wrong_entry,)), CALLER) is None
    # aws-auth: compared lower-cased, without the path; the ARN with its path never matches.
    mapped = authenticate(cluster(Mode.CONFIG_MAP, maps=(mapping,)), CALLER)
    assert mapped is not None
    assert (mapped.username, mapped.groups) == ("m:dev@example.com",
                                                ("system:masters", "system:authenticated"))
    assert authenticate(cluster(Mode.CONFIG_MAP, maps=(with_path,)), CALLER) is None
    # Modes: API ignores aws-auth, CONFIG_MAP ignores entries, both: the entry first.
    assert authenticate(cluster(Mode.API, maps=(mapping,)), CALLER) is None
    assert authenticate(cluster(Mode.CONFIG_MAP, (entry,)), CALLER) is None
    both = authenticate(cluster(Mode.API_AND_CONFIG_MAP, (entry,), (mapping,)), CALLER)
    assert both is not None
    assert both.via == "access-entry"


def test_namespace_scoped_view_reads_its_namespaces_only() -> None:
    entry = AccessEntry(PATH_ARN, "v", policies=(AssociatedPolicy(VIEW, ("team-a",)),))
    user = authenticate(cluster(Mode.API, (entry,)), CALLER)
    assert user is not None
    assert allowed(user, verb="list", group="", resource="pods", namespace="team-a")
    assert not allowed(user, verb="list", group="", resource="pods", namespace="default")
    assert not allowed(user, verb="get", group="", resource="secrets", namespace="team-a")
    assert not allowed(user, verb="delete", group="", resource="pods", namespace="team-a")
    # A namespace in a review of a cluster-scoped resource does not widen the grant.
    assert not allowed(user, verb="list", group="", resource="namespaces", namespace="team-a")
    assert rights(user) == {"list namespaces": False, "get pods in default": False}
    assert allowed(user, verb="create", group="authorization.k8s.io",
                   resource="selfsubjectaccessreviews", namespace=None)
