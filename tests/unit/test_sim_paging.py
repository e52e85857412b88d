"""sim/paging.page: the one pager of every list the sim answers."""

from __future__ import annotations

from ekstrio.sim import paging
from ekstrio.sim.paging import PageFault

ITEMS = [f"c{i}" for i in range(5)]


def test_pages_to_the_end_with_opaque_tokens() -> None:
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        found = paging.page(ITEMS, kind="clusters", scope="1/eu", size="2", default=100,
                            token=token)
        assert not isinstance(found, PageFault)
        seen += found[0]
        pages += 1
        token = found[1]
        if token is None:
            break
        assert {"+", "/", "="} <= set(token)  # a client must percent-encode it
    assert (seen, pages) == (ITEMS, 3)


def test_the_default_size_and_an_empty_list() -> None:
    assert paging.page(ITEMS, kind="k", scope="s", size=None, default=100,
                       token=None) == (ITEMS, None)
    assert paging.page([], kind="k", scope="s", size=None, default=100,
                       token=None) == ([], None)


def test_faults() -> None:
    for size in ("0", "101", "ten"):
        assert paging.page(ITEMS, kind="k", scope="s", size=size, default=100,
                           token=None) is PageFault.BAD_SIZE
    other = paging.encode("k", "another scope", 2)
    past = paging.encode("k", "s", 6)
    for token in (other, past, "not a token"):
        assert paging.page(ITEMS, kind="k", scope="s", size=None, default=100,
                           token=token) is PageFault.UNKNOWN_PAGE
