"""The sim's options and seeded organisation."""

from __future__ import annotations

import base64
import json

import pytest

from ekstrio.errors import UsageError
from ekstrio.sim import paging
from ekstrio.sim.options import OPT_IN_REGIONS, SimOptions, eks_regions, partition_of
from ekstrio.sim.org import generate
from ekstrio.sim.quotas import Buckets


def test_default_regions_are_botocores_eks_regions_of_the_aws_partition() -> None:
    regions = SimOptions().region_list
    # botocore's data grows: 33 EKS regions at the declared floor (botocore 1.39), 34 in 1.40.
    assert len(regions) >= 33
    assert regions == tuple(sorted(regions))
    assert {"us-east-1", "eu-west-1", "ap-east-2", "mx-central-1"} <= set(regions)
    assert not any(r.startswith("fips") for r in regions)
    assert eks_regions("aws-cn") == ("cn-north-1", "cn-northwest-1")
    assert partition_of("us-gov-west-1") == ("aws-us-gov", "amazonaws.com")


@pytest.mark.parametrize(("options", "needle"), [
    ({"accounts": -1}, "--accounts"),
    ({"accounts": 0}, "--accounts"),
    ({"regions": ("eu-west-1", "mars-north-1")}, "mars-north-1"),
    ({"regions": ("eu-west-1", "cn-north-1")}, "one partition"),
    ({"regions": ()}, "--regions"),
    ({"clusters": -3}, "--clusters"),
    ({"fault_rate": 2.0}, "--fault-rate"),
    ({"fault_rate": 0.5, "hang_rate": 0.6}, "must not exceed 1"),
    ({"latency_ms": -1.0}, "--latency-ms"),
    ({"token_ttl": 0}, "--token-ttl"),
    ({"port": 70000}, "--port"),
    ({"sso_region": "moon-1"}, "--sso-region"),
    ({"sso_region": "cn-north-1"}, "--sso-region"),
])
def test_bad_options_raise_one_line_usage_errors(options: dict[str, object], needle: str) -> None:
    with pytest.raises(UsageError) as exc:
        SimOptions(**options).validated()  # type: ignore[arg-type]
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


def test_same_seed_same_org_and_another_seed_another() -> None:
    opts = SimOptions(seed=3, accounts=20, clusters=300)
    one, two = generate(opts).dump(), generate(opts).dump()
    assert json.dumps(one) == json.dumps(two)
    other = generate(SimOptions(seed=4, accounts=20, clusters=300)).dump()
    assert other["accounts"] != one["accounts"]


def test_org_shape() -> None:
    org = generate(SimOptions(seed=9, accounts=30, clusters=400, large_lists=2).validated())
    dump = org.dump()
    assert dump["summary"]["clusters"] == 400
    sizes = sorted(len(v) for v in org.clusters.values())
    assert sum(1 for s in sizes if s > 100) >= 2
    # Uneven: most account-regions are empty.
    pairs = sum(len(org.regions) - len(a.disabled_regions) for a in org.accounts)
    assert len(org.clusters) < pairs / 4
    # The huge lists are in accounts where some role may call EKS (pagination gets exercised).
    for (account_id, _region), clusters in org.clusters.items():
        if len(clusters) > 100:
            assert any(r.eks for r in org.by_id[account_id].roles)
    ids = [a.account_id for a in org.accounts]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 12 and i.isdigit() for i in ids)
    assert any(not any(r.eks for r in a.roles) for a in org.accounts)
    assert all(a.roles for a in org.accounts)
    for acct in org.accounts:
        assert acct.disabled_regions <= OPT_IN_REGIONS
    assert any(a.disabled_regions for a in org.accounts)
    statuses = set()
    for (account_id, region), clusters in org.clusters.items():
        names = [c["name"] for c in clusters]
        assert names == sorted(set(names))
        for c in clusters:
            statuses.add(c["status"])
            assert c["arn"] == f"arn:aws:eks:{region}:{account_id}:cluster/{c['name']}"
            assert c["accessConfig"]["authenticationMode"] in (
                "API", "API_AND_CONFIG_MAP", "CONFIG_MAP")
            if c["status"] in ("CREATING", "FAILED"):
                assert "endpoint" not in c
                assert c["certificateAuthority"] == {}
            else:
                assert c["endpoint"].endswith(f".{region}.eks.amazonaws.com")
                pem = base64.b64decode(c["certificateAuthority"]["data"]).decode()
                assert pem.startswith("-----BEGIN CERTIFICATE-----\n")
                assert pem.endswith("-----END CERTIFICATE-----\n")
    assert {"ACTIVE", "CREATING"} <= statuses


def test_no_large_list_without_room() -> None:
    org = generate(SimOptions(accounts=2, regions=("eu-west-1",), clusters=50).validated())
    assert all(len(v) <= 100 for v in org.clusters.values())
    assert org.cluster_count == 50


def test_paging_tokens_need_escaping_and_are_scoped() -> None:
    token = paging.encode("clusters", "111122223333/eu-west-1", 100)
    assert "+" in token
    assert "/" in token
    assert "=" in token
    assert paging.decode(token, "clusters", "111122223333/eu-west-1") == 100
    assert paging.decode(token, "clusters", "111122223333/us-east-1") is None
    assert paging.decode("bm90IGEgdG9rZW4=", "clusters", "x") is None
    assert paging.decode("%%%", "clusters", "x") is None
    assert paging.page_size(None, 20) == 20
    assert paging.page_size("100", 20) == 100
    assert paging.page_size("101", 20) is None
    assert paging.page_size("0", 20) is None
    assert paging.page_size("x", 20) is None


def test_token_bucket_allows_one_second_of_burst_per_scope() -> None:
    b = Buckets()
    assert [b.take("a", 5, 0.0) for _ in range(6)] == [True] * 5 + [False]
    assert b.take("b", 5, 0.0)  # another scope has its own bucket
    assert not b.take("a", 5, 0.1)  # 0.5 token refilled: not yet
    assert b.take("a", 5, 0.25)  # 1.25 tokens
    assert all(b.take("c", 0, 0.0) for _ in range(1000))  # rate <= 0: no quota
    assert b.take("d", 0.5, 0.0)  # fractional rates still allow one call
    assert not b.take("d", 0.5, 1.0)
    assert b.take("d", 0.5, 2.0)
