"""Flags that name nothing are usage errors, not a scan of nothing that reports complete."""

from __future__ import annotations

import pytest

from ekstrio.errors import UsageError
from ekstrio.filters import ClusterFilter, check_regions

KNOWN = ("eu-west-1", "us-east-1")


@pytest.mark.parametrize("requested", [[""], [",,,"], [" , "], ["", ""]])
def test_regions_naming_no_region_are_a_usage_error(requested: list[str]) -> None:
    with pytest.raises(UsageError, match=r"--regions .* names no region") as info:
        check_regions(requested, KNOWN)
    assert "\n" not in str(info.value)


def test_regions_default_to_all_and_keep_order_without_repeats() -> None:
    assert check_regions([], KNOWN) == KNOWN
    assert check_regions(["us-east-1,", ",eu-west-1", "us-east-1"], KNOWN) == (
        "us-east-1", "eu-west-1")


@pytest.mark.parametrize(("field", "flag"), [("accounts", "--account"),
                                             ("exclude_accounts", "--exclude-account")])
@pytest.mark.parametrize("pattern", ["", "  "])
def test_an_empty_account_pattern_is_a_usage_error(field: str, flag: str, pattern: str) -> None:
    with pytest.raises(UsageError, match=f"^{flag} '': give an account id or name glob$"):
        ClusterFilter(**{field: ("111122223333", pattern)})


def test_account_patterns_still_select() -> None:
    from ekstrio.model import Account

    only = ClusterFilter(accounts=("1111*",), exclude_accounts=("*sandbox*",))
    assert only.account_selected(Account("111122223333", "prod"))
    assert not only.account_selected(Account("111122224444", "team-sandbox"))
    assert not only.account_selected(Account("222233334444", "prod"))
