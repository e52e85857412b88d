"""The live progress line: totals, ETA once estimable, 80 columns with errors and throttles."""

from __future__ import annotations

import io
import re

from rich.console import Console

from ekstrio.aws.call_stats import CallStats
from ekstrio.model import Account
from ekstrio.progress import ScanProgress
from ekstrio.scan_records import (
    AccountDone,
    AccountFound,
    RegionDone,
    ScanError,
    Skipped,
)

A, B = Account("111122223333", "prod"), Account("444455556666", "dev")


def feed(progress: ScanProgress) -> None:
    progress.set_regions(4)
    for record in (AccountFound(A), AccountFound(B),
                   RegionDone(A.account_id, "eu-west-1", True),
                   Skipped(A.account_id, "ap-east-1", "region not enabled"),
                   ScanError(A.account_id, "prod", "us-east-1", "Admin", "list_clusters",
                             "ServerException", "boom"),
                   RegionDone(A.account_id, "eu-west-1", True),  # counted once
                   RegionDone(B.account_id, "eu-west-1", True),
                   AccountDone(B)):
        progress.update(record)


def test_totals_count_account_regions() -> None:
    err = io.StringIO()
    with ScanProgress(Console(file=err), enabled=False, stats=CallStats(throttles=3)) as p:
        feed(p)
    # B is done: all 4 of its regions; A: 3 finished one way or another.
    assert (p.accounts, p.accounts_done, p.regions_total, p.regions_done) == (2, 1, 8, 7)
    assert p.line() == "accounts 1/2  regions 7/8  errors 1  throttles 3"
    assert err.getvalue() == ""  # disabled: nothing drawn


def test_before_regions_are_known_no_total_is_made_up() -> None:
    p = ScanProgress(Console(file=io.StringIO()), enabled=False)
    p.update(AccountFound(A))
    assert p.line() == "accounts 0/1  regions 0  errors 0  throttles 0"


def test_line_fits_80_columns_for_a_large_organisation() -> None:
    p = ScanProgress(Console(file=io.StringIO()), enabled=False,
                     stats=CallStats(throttles=12345))
    p.set_regions(17)
    for i in range(9999):
        p.update(AccountFound(Account(f"{i:012d}", f"a{i}")))
    for _ in range(999):
        p.update(ScanError(None, None, None, None, "accounts", "X", "y"))
    assert len(p.line()) + len("ETA 59:59") + 1 <= 80


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_draws_counts_on_a_terminal_at_80_columns() -> None:
    err = io.StringIO()
    console = Console(file=err, force_terminal=True, width=80)
    with ScanProgress(console, enabled=True, stats=CallStats(throttles=2)) as p:
        feed(p)
        p._progress.refresh()  # type: ignore[union-attr]
    drawn = plain(err.getvalue())
    assert "accounts 1/2  regions 7/8  errors 1  throttles 2" in drawn
    assert "━" not in drawn  # no room for a bar at 80 columns
    assert "-:--:--" not in drawn  # no ETA placeholder before one can be estimated


def test_wide_terminal_gets_a_bar() -> None:
    err = io.StringIO()
    console = Console(file=err, force_terminal=True, width=120)
    with ScanProgress(console, enabled=True) as p:
        feed(p)
        p._progress.refresh()  # type: ignore[union-attr]
    assert "━" in plain(err.getvalue())
