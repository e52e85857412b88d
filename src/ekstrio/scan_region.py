"""One role in one account-region: ListClusters pages, a DescribeCluster per name, and what
that came to (an :class:`~ekstrio.scan_api.Outcome`). The region task of :mod:`ekstrio.scan`
calls it once per role it tries."""

from __future__ import annotations

import trio

from ekstrio.errors import AccessDeniedError, AwsError, EkstrioError, NotFoundError
from ekstrio.filters import ClusterFilter
from ekstrio.model import Account, Cluster, RoleCredentials
from ekstrio.scan_api import Outcome, ScanApi
from ekstrio.scan_failures import EXPECTED, STALE_CODES, error_record, is_region_not_enabled
from ekstrio.scan_records import Frontier, ScanError, Stage

__all__ = ["list_and_describe"]


async def list_and_describe(
    api: ScanApi,
    wanted: ClusterFilter,
    frontier: Frontier,
    account: Account,
    region: str,
    role: str,
    creds: RoleCredentials,
    found: dict[str, Cluster],
    failures: list[ScanError],
) -> Outcome:
    """List and describe with one role: clusters go into ``found`` (merged by name with what
    earlier roles found), failures into ``failures``; a first-page refusal that says
    disabled, stale or denied is an Outcome for the caller to act on, not a failure."""
    key = (account.account_id, region)
    frontier.enter(key, Stage.LIST_CLUSTERS, role, account.name)
    describe_failures: list[ScanError] = []

    async def describe(name: str) -> None:
        try:
            info = await api.describe(creds, account.account_id, region, name)
        except NotFoundError:
            return  # deleted between ListClusters and DescribeCluster
        except EXPECTED as exc:
            describe_failures.append(
                error_record(account, region, role, Stage.DESCRIBE_CLUSTER, exc))
            return
        if not wanted.tags_selected(info.tags):
            return
        previous = found.get(name)
        roles = (*previous.roles, role) if previous else (role,)
        found[name] = Cluster(account.account_id, account.name, region, info, roles)

    pages = api.cluster_names(creds, account.account_id, region)
    first_page = True
    listed = 0
    selected: list[str] = []
    list_error: EkstrioError | None = None
    # Most regions have no cluster: the describe nursery is opened at the first name only
    # (even an empty nursery yields to the scheduler when it closes). Errors are caught
    # inside it: a nursery would wrap them in an ExceptionGroup.
    try:
        async for page in pages:
            first_page = False
            listed += len(page)
            selected = [name for name in page if wanted.name_selected(name)]
            if selected:
                break  # the rest of the list is read with the nursery open
    except EXPECTED as exc:
        list_error = exc
    if selected:
        async with trio.open_nursery() as nursery:
            for name in selected:
                nursery.start_soon(describe, name)
            try:
                async for page in pages:
                    listed += len(page)
                    for name in page:
                        if wanted.name_selected(name):
                            nursery.start_soon(describe, name)
            except EXPECTED as exc:
                list_error = exc
            # Listed: what is left is the describes the nursery now waits for (what a
            # deadline reports as unfinished). The count is told now, not after them: a
            # busy region cut off by a deadline while describing keeps its hint.
            frontier.enter(key, Stage.DESCRIBE_CLUSTER, role, account.name)
            if list_error is None:
                api.listed(account.account_id, region, listed)
    elif list_error is None:
        api.listed(account.account_id, region, listed)
    if list_error is None:
        failures.extend(describe_failures)
        return Outcome.PARTIAL if describe_failures else Outcome.COMPLETE
    if first_page and is_region_not_enabled(list_error):
        return Outcome.DISABLED
    if first_page and isinstance(list_error, AwsError) and list_error.code in STALE_CODES:
        return Outcome.STALE
    if first_page and isinstance(list_error, AccessDeniedError):
        return Outcome.DENIED
    failures.append(error_record(account, region, role, Stage.LIST_CLUSTERS, list_error))
    failures.extend(describe_failures)
    return Outcome.PARTIAL
