"""Every pager stops: a server that hands out a new nextToken forever cannot keep a list going."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
import respx
from wire_fakes import CREDS

from ekstrio.aws import eks, portal
from ekstrio.aws.endpoints import resolve
from ekstrio.aws.paging import MAX_EMPTY_PAGES, MAX_PAGES, PageGuard
from ekstrio.aws.transport import Transport
from ekstrio.errors import AwsError

TOKEN = "portal-bearer"
PORTAL = resolve("sso", "eu-west-1", env={})
EKS = resolve("eks", "eu-west-1", env={})


def endless(items: Callable[[int], dict[str, Any]]) -> tuple[Callable[..., httpx2.Response],
                                                              list[int]]:
    """A server whose every answer carries a fresh nextToken; counts the requests."""
    count = itertools.count(1)
    calls: list[int] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        n = next(count)
        calls.append(n)
        return httpx2.Response(200, json={**items(n), "nextToken": f"token-{n}"})

    return answer, calls


async def list_accounts(t: Transport) -> None:
    async for _ in portal.iter_accounts(t, PORTAL, TOKEN):
        pass


async def list_roles(t: Transport) -> None:
    await portal.list_account_roles(t, PORTAL, TOKEN, "111122223333")


async def list_clusters(t: Transport) -> None:
    async for _ in eks.iter_cluster_names(t, EKS, CREDS, account_id="111122223333",
                                          region="eu-west-1"):
        pass


PAGERS = [
    ("ListAccounts", "https://portal.sso.eu-west-1.amazonaws.com/assignment/accounts",
     list_accounts, lambda n: {"accountList": [{"accountId": f"{n:012}"}]}, "accountList"),
    ("ListAccountRoles", "https://portal.sso.eu-west-1.amazonaws.com/assignment/roles",
     list_roles, lambda n: {"roleList": [{"roleName": f"R{n}", "accountId": "111122223333"}]},
     "roleList"),
    ("ListClusters", "https://eks.eu-west-1.amazonaws.com/clusters",
     list_clusters, lambda n: {"clusters": [f"c{n}"]}, "clusters"),
]


@pytest.mark.parametrize(("api", "url", "pager", "page", "key"), PAGERS,
                         ids=[p[0] for p in PAGERS])
async def test_empty_pages_with_new_tokens_stop_the_list(
        transport: Transport, api: str, url: str, pager: Callable[[Transport], Any],
        page: Callable[[int], dict[str, Any]], key: str) -> None:
    answer, calls = endless(lambda n: {key: []})
    with respx.mock(assert_all_called=False) as router:
        router.get(url__startswith=url).mock(side_effect=answer)
        with pytest.raises(AwsError) as info:
            await pager(transport)
    assert info.value.code == "InvalidResponse"
    assert str(info.value).count(api) == 1
    assert "empty pages in a row" in str(info.value)
    assert len(calls) == MAX_EMPTY_PAGES


@pytest.mark.parametrize(("api", "url", "pager", "page", "key"), PAGERS,
                         ids=[p[0] for p in PAGERS])
async def test_a_list_longer_than_any_real_one_stops(
        transport: Transport, api: str, url: str, pager: Callable[[Transport], Any],
        page: Callable[[int], dict[str, Any]], key: str) -> None:
    answer, calls = endless(page)
    with respx.mock(assert_all_called=False) as router:
        router.get(url__startswith=url).mock(side_effect=answer)
        with pytest.raises(AwsError, match=f"{api}: more than {MAX_PAGES[api]} pages"):
            await pager(transport)
    assert len(calls) == MAX_PAGES[api]


def test_guard_allows_what_real_lists_do() -> None:
    guard = PageGuard("ListClusters", service="eks", max_pages=6, max_empty=3)
    # Empty pages with a token now and then are legal; a full page resets the run.
    for n, items in enumerate([0, 0, 4, 0, 0]):
        assert guard.next_page(items, f"t{n}") == f"t{n}"
    assert guard.next_page(1, None) is None


def test_guard_stops_a_repeated_token() -> None:
    guard = PageGuard("ListAccounts", service="sso")
    guard.next_page(1, "a")
    with pytest.raises(AwsError, match="ListAccounts: the same nextToken came back twice"):
        guard.next_page(1, "a")
