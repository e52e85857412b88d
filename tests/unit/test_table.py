"""The cluster table at 80, 120 and 200 columns, with long names (kubectl/gh layout)."""

from __future__ import annotations

from typing import Any

import pytest
from rich.cells import cell_len

from ekstrio.table import COLUMNS, Column, layout

LONG_CLUSTER = "payments-platform-production-eu-primary"  # 39
LONG_ACCOUNT = "Acme Corporation Payments Production Workloads"  # 46


def row(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "account_id": "123456789012", "account_name": LONG_ACCOUNT,
        "roles": ["PowerUserAccess", "AdministratorAccess"], "region": "ap-southeast-1",
        "name": LONG_CLUSTER, "status": "ACTIVE", "version": "1.31",
        "platform_version": "eks.12", "endpoint": "https://ABCDEF0123456789.gr7.ap-southeast-1"
        ".eks.amazonaws.com", "tags": {"team": "payments", "env": "prod"},
    }
    return base | over


ROWS = [
    row(),
    row(account_id="210987654321", account_name="sandbox", region="eu-central-2", name="dev",
        roles=["ReadOnlyAccess"], version="1.29", status="UPDATING"),
    row(account_id="555566667777", account_name="Shared Services", region="us-east-1",
        name="tools", roles=[]),
]


def columns_of(header: str) -> list[str]:
    return header.split()


@pytest.mark.parametrize("width", [80, 120, 200])
def test_every_line_fits_and_key_values_are_whole(width: int) -> None:
    lines = layout(ROWS, width)
    assert len(lines) == 1 + len(ROWS)  # one line per cluster, never wrapped
    for line in lines:
        assert cell_len(line) <= width, (width, line)
    body = "\n".join(lines[1:])
    for r in ROWS:
        # Cluster, region and account id are never cut: they are pasted into commands.
        assert r["name"] in body
        assert r["region"] in body
        assert r["account_id"] in body
    assert "ACCOUNT ID" in lines[0]


def test_at_80_long_names_are_cut_with_an_ellipsis_not_split() -> None:
    lines = layout(ROWS, 80)
    assert "…" in lines[1]
    assert LONG_ACCOUNT not in lines[1]
    # Account name and id are separate columns: the id is never glued to the name.
    assert "(123456789012)" not in "\n".join(lines)


def test_at_200_nothing_is_cut() -> None:
    lines = layout(ROWS, 200)
    text = "\n".join(lines)
    assert "…" not in text.replace(" +1", "")
    assert LONG_ACCOUNT in text
    assert "PowerUserAccess +1" in text  # the first role, and how many more
    assert columns_of(lines[0]) == ["ACCOUNT", "ACCOUNT", "ID", "REGION", "CLUSTER", "STATUS",
                                    "VERSION", "ROLE"]


def test_at_120_every_column_is_shown() -> None:
    header = layout(ROWS, 120)[0]
    for title in ("ACCOUNT", "REGION", "CLUSTER", "STATUS", "VERSION", "ROLE"):
        assert title in header


def test_columns_left_out_least_useful_first_when_floors_do_not_fit() -> None:
    header = layout(ROWS, 80)[0]
    assert "VERSION" not in header  # dropped first
    for kept in ("CLUSTER", "REGION", "ACCOUNT ID"):
        assert kept in header


def test_key_columns_are_whole_even_below_their_width() -> None:
    lines = layout(ROWS, 40)
    assert LONG_CLUSTER in lines[1]
    assert "ap-southeast-1" in lines[1]


def test_wide_shows_everything_uncut() -> None:
    lines = layout(ROWS, 80, wide=True)
    text = "\n".join(lines)
    for title in ("PLATFORM", "ROLES", "ENDPOINT", "TAGS"):
        assert title in lines[0]
    assert "PowerUserAccess,AdministratorAccess" in text
    assert "env=prod,team=payments" in text
    assert ROWS[0]["endpoint"] in text
    assert LONG_ACCOUNT in text


def test_rows_sorted_by_account_region_cluster() -> None:
    lines = layout(ROWS, 200)
    assert [ln.split()[0] for ln in lines[1:]] == ["Acme", "Shared", "sandbox"]


def test_control_characters_from_aws_cannot_reach_the_terminal() -> None:
    lines = layout([row(name="evil\x1b[2Jname", account_name="a\nb")], 200)
    assert "\x1b" not in "\n".join(lines)
    assert len(lines) == 2


def test_a_new_column_is_one_entry() -> None:
    access = Column("ACCESS", lambda r: "yes", drop=5)
    lines = layout(ROWS[:1], 200, columns=[*COLUMNS, access])
    assert lines[0].endswith("ACCESS")
    assert lines[1].endswith("yes")


def test_empty() -> None:
    assert layout([], 80) == ["ACCOUNT  ACCOUNT ID  REGION  CLUSTER  STATUS  VERSION  ROLE"]
