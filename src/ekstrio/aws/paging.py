"""Bounds on one paginated list: every pager stops, whatever the server answers.

A peer that answers every page with a new ``nextToken`` (a broken proxy, an interception, a
fault in an emulator) kept ListAccounts going for 4,663 requests and four minutes with no end;
a repeated token alone does not catch it. :class:`PageGuard` is told about each page and stops
the list with an ``InvalidResponse`` error naming the API when

- a ``nextToken`` comes back that the list already used (a loop);
- the list has taken more pages than the API can honestly have (``max_pages``);
- too many pages in a row were empty but still pointed to another (``max_empty``).

The page limits, per API, with what real organisations need (100 items per page everywhere):

- ListAccounts: 1,000 pages = 100,000 accounts. AWS Organizations' account quota is raised on
  request; the largest organisations reported hold some tens of thousands.
- ListAccountRoles: 100 pages = 10,000 roles in one account. IAM Identity Center allows 50
  permission sets per account by default (adjustable), and the list holds only the caller's.
- ListClusters: 100 pages = 10,000 clusters in one account and region; EKS's quota is 100
  clusters per region (adjustable).

Empty pages with a token are legal (AWS services may return one while they filter), but a run
of them carries no data: 10 in a row is far past anything seen from AWS and ends a loop at once.
Pure: no I/O; the async pagers in portal.py and eks.py call :meth:`PageGuard.next_page`.
"""

from __future__ import annotations

from ekstrio.errors import AwsError

__all__ = ["MAX_EMPTY_PAGES", "MAX_PAGES", "PageGuard"]

MAX_PAGES: dict[str, int] = {
    "ListAccounts": 1_000,
    "ListAccountRoles": 100,
    "ListClusters": 100,
}
DEFAULT_MAX_PAGES = 100
MAX_EMPTY_PAGES = 10


class PageGuard:
    """Follows one paginated list and refuses a page sequence that cannot be real."""

    def __init__(self, api: str, *, service: str, max_pages: int | None = None,
                 max_empty: int = MAX_EMPTY_PAGES) -> None:
        self.api = api
        self._service = service
        self._max_pages = max_pages if max_pages is not None else MAX_PAGES.get(
            api, DEFAULT_MAX_PAGES)
        self._max_empty = max_empty
        self._seen: set[str] = set()
        self._pages = 0
        self._empty_run = 0

    def _stop(self, why: str) -> AwsError:
        return AwsError("InvalidResponse", f"{self.api}: {why}", service=self._service)

    def next_page(self, items: int, token: str | None) -> str | None:
        """Record a page of ``items`` items that ended with ``token``; the token to ask for
        next, or None when the list is complete. Raises when the list must stop."""
        self._pages += 1
        if token is None:
            return None
        if token in self._seen:
            raise self._stop("the same nextToken came back twice")
        self._seen.add(token)
        self._empty_run = 0 if items else self._empty_run + 1
        if self._empty_run >= self._max_empty:
            raise self._stop(f"{self._empty_run} empty pages in a row, each with a nextToken; "
                             "stopped")
        if self._pages >= self._max_pages:
            raise self._stop(f"more than {self._max_pages} pages; stopped")
        return token
