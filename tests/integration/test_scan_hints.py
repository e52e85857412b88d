"""The list cache's cluster-count hints after a scan over the sim: one per account-region
where clusters were listed, none for the empty ones, and a region found empty loses its
old hint (a 0 is the default, so it is not kept)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
import trio

from ekstrio.inventory import load_lists, save_lists
from ekstrio.model import SsoSession
from ekstrio.scan_records import ScanReport
from ekstrio.settings import load_preset
from ekstrio.sim.options import SimOptions
from ekstrio.sim.testing import run_sim_in_thread
from sim_fixtures import scan_api, scan_report

FAST = dataclasses.replace(load_preset("aggressive"), workers=64, portal_rps=10_000.0,
                           eks_rps=10_000.0, call_timeout=5.0, attempts=5,
                           backoff_initial=0.01, backoff_max=0.05)

pytestmark = pytest.mark.usefixtures("live_retries")


def test_hints_are_kept_only_where_clusters_were_listed(isolated_home: Path) -> None:
    options = SimOptions(seed=7, accounts=6, clusters=12, large_lists=0, portal_rps=0.0,
                         eks_rps=0.0, regions=("eu-west-1", "us-east-1", "ap-south-2"))
    with run_sim_in_thread(options) as sim:
        session = SsoSession(sim.start_url, sim.sso_region)

        def scan() -> ScanReport:
            async def main() -> ScanReport:
                async with scan_api(sim, FAST, cold=False) as api:
                    return await scan_report(api, sim)

            return trio.run(main)

        first = scan()
        listed = {f"{c.account_id}/{c.region}" for c in first.clusters}
        after_first = load_lists(session)
        empty = next(f"{a}/{r}" for a, r in first.completed if f"{a}/{r}" not in listed)
        # An old hint for a region that is empty; lists too old to be used, hints not.
        save_lists(session, [], {}, clusters={**after_first.clusters, empty: 7}
                   if after_first else {empty: 7}, now=time.time() - 7200)
        scan()
        after_second = load_lists(session)
    assert after_first is not None
    assert after_second is not None
    assert listed
    counts = {key: sum(1 for c in first.clusters if f"{c.account_id}/{c.region}" == key)
              for key in listed}
    assert dict(after_first.clusters) == counts  # no zeros
    assert dict(after_second.clusters) == counts  # the old hint for the empty region is gone
