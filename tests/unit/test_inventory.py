"""The saved inventory, --diff, and the account/role list cache."""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from ekstrio.errors import ConfigError
from ekstrio.fileio import NotAFileError
from ekstrio.inventory import (
    inventory_path,
    lists_path,
    load_inventory,
    load_lists,
    load_previous,
    save_inventory,
    save_lists,
)
from ekstrio.model import Account, SsoSession
from ekstrio.scan_diff import diff_inventories
from ekstrio.scan_document import ScanDocument

SESSION = SsoSession("https://d-1234567890.awsapps.com/start", "eu-west-1", name="corp")


def cluster(name: str, region: str = "eu-west-1", account: str = "111122223333",
            **fields: Any) -> dict[str, Any]:
    return {"account_id": account, "account_name": "prod", "region": region, "name": name,
            "roles": ["Admin"], "status": "ACTIVE", "version": "1.30", "tags": {}} | fields


def doc(clusters: list[dict[str, Any]], completed: list[tuple[str, str]]) -> ScanDocument:
    return ScanDocument.from_json({
        "schema": "ekstrio.scan/v1", "clusters": clusters,
        "completed": [{"account_id": a, "region": r} for a, r in completed]})


def test_save_and_load_round_trip_private_file(isolated_home: Path) -> None:
    document = doc([cluster("web")], [("111122223333", "eu-west-1")])
    path = save_inventory(document)
    assert path == inventory_path() == isolated_home / ".cache" / "ekstrio" / "inventory.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_inventory() == document


def test_missing_or_foreign_inventory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run `ekstrio scan` first"):
        load_inventory(tmp_path / "none.json")
    other = tmp_path / "other.json"
    other.write_text('{"schema": "something/v9"}')
    with pytest.raises(ConfigError, match="not an ekstrio scan document"):
        load_inventory(other)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigError, match="cannot read"):
        load_inventory(broken)
    assert load_previous(broken) is None


def test_diff_added_removed_changed() -> None:
    old = doc([cluster("a"), cluster("b"), cluster("c")], [])
    new = doc([cluster("a"), cluster("c", version="1.31", roles=["Admin", "ReadOnly"]),
               cluster("d")], [("111122223333", "eu-west-1")])
    diff = diff_inventories(old, new)
    assert [c.name for c in diff.added] == ["d"]
    assert [c.name for c in diff.removed] == ["b"]
    assert [(ch.key[2], ch.fields) for ch in diff.changed] == [("c", ("version", "roles"))]
    as_json = diff.to_json()
    assert as_json["changed"][0]["fields"]["version"] == {"before": "1.30", "after": "1.31"}
    assert not diff.empty


def test_a_cluster_is_removed_only_where_the_new_scan_completed() -> None:
    old = doc([cluster("a"), cluster("b", region="us-east-1")], [])
    # us-east-1 failed this time: its cluster is not "removed", just not seen.
    new = doc([cluster("a")], [("111122223333", "eu-west-1")])
    diff = diff_inventories(old, new)
    assert diff.removed == ()
    assert diff.empty


def test_diff_never_shows_certificate_data() -> None:
    old = doc([cluster("a", certificate_authority_data="OLDSECRETISH")], [])
    new = doc([cluster("a", certificate_authority_data="NEWSECRETISH")], [])
    diff = diff_inventories(old, new)
    assert diff.changed[0].fields == ("certificate_authority_data",)
    text = str(diff.to_json())
    assert "OLDSECRETISH" not in text
    assert "NEWSECRETISH" not in text


def test_list_cache_round_trip_with_ttl(isolated_home: Path) -> None:
    accounts = [Account("111122223333", "prod", "p@example.com"), Account("444455556666", "dev")]
    path = save_lists(SESSION, accounts, {"111122223333": ["Admin", "ReadOnly"]}, now=1000.0)
    assert path == lists_path(SESSION)
    assert path.stat().st_mode & 0o777 == 0o600
    cached = load_lists(SESSION, ttl=3600, now=1000.0 + 3599)
    assert cached is not None
    assert cached.accounts == tuple(accounts)
    assert cached.roles == {"111122223333": ("Admin", "ReadOnly")}
    assert load_lists(SESSION, ttl=3600, now=1000.0 + 3600) is None  # expired
    assert load_lists(SESSION, ttl=3600, now=999.0) is None  # from the future: distrust


def test_list_cache_is_per_session_and_ignores_damage(isolated_home: Path) -> None:
    save_lists(SESSION, [Account("111122223333", "prod")], {}, now=1000.0)
    other = SsoSession("https://d-9999999999.awsapps.com/start", "eu-west-1", name="corp")
    # Same session name, other start URL: the file is keyed by name, so check the URL too.
    assert load_lists(other, now=1000.0) is None
    lists_path(SESSION).write_text("{not json")
    assert load_lists(SESSION, now=1000.0) is None


def test_documents_are_not_mutated_by_diff() -> None:
    old = doc([cluster("a")], [])
    new = doc([cluster("a", version="1.31")], [])
    before = copy.deepcopy((old, new))
    diff_inventories(old, new)
    assert (old, new) == before


def test_list_cache_keeps_cluster_count_hints(isolated_home: Path) -> None:
    save_lists(SESSION, [Account("111122223333", "prod")], {},
               clusters={"111122223333/eu-west-1": 120}, now=1000.0)
    cached = load_lists(SESSION, now=1001.0)
    assert cached is not None
    assert cached.clusters == {"111122223333/eu-west-1": 120}


def test_list_cache_keeps_regions_found_disabled_and_checks_them(isolated_home: Path) -> None:
    save_lists(SESSION, [Account("111122223333", "prod")], {},
               disabled={"111122223333": {"me-south-1", "ap-east-1"}, "444455556666": set()},
               now=1000.0)
    cached = load_lists(SESSION, now=1001.0)
    assert cached is not None
    assert cached.disabled == {"111122223333": frozenset({"me-south-1", "ap-east-1"})}
    # A region name becomes a URL: a damaged entry makes the whole cache count as absent.
    doc = json.loads(lists_path(SESSION).read_text())
    doc["disabled"]["111122223333"].append("evil.example.com/x")
    lists_path(SESSION).write_text(json.dumps(doc))
    assert load_lists(SESSION, now=1001.0) is None


# --- a partial scan never erases what a complete one knew ------------------------------------

SSO_JSON = {"session": "corp", "start_url": SESSION.start_url, "region": "eu-west-1"}
ACCOUNTS = ("111122223333", "444455556666")
REGIONS = ("eu-west-1", "us-east-1")


def scan_doc(clusters: list[dict[str, Any]], completed: list[tuple[str, str]], *,
             complete: bool, errors: list[dict[str, Any]] | None = None,
             sso: dict[str, Any] | None = None) -> ScanDocument:
    return ScanDocument.from_json({
        "schema": "ekstrio.scan/v1", "sso": sso or SSO_JSON, "partition": "aws",
        "clusters": clusters, "errors": errors or [],
        "completed": [{"account_id": a, "region": r} for a, r in completed],
        "summary": {"complete": complete, "clusters": len(clusters)}})


def ten_clusters() -> ScanDocument:
    clusters = [cluster(f"c{i}", region=REGIONS[i % 2], account=ACCOUNTS[i // 5])
                for i in range(10)]
    return scan_doc(clusters, [(a, r) for a in ACCOUNTS for r in REGIONS], complete=True)


def names(document: ScanDocument) -> list[str]:
    return sorted(c.name for c in document.clusters)


def test_an_interrupted_scan_keeps_the_ten_clusters_it_did_not_reach(isolated_home: Path) -> None:
    save_inventory(ten_clusters())
    interrupted = scan_doc([], [], complete=False, errors=[
        {"account_id": None, "account_name": None, "region": None, "role": None,
         "stage": "accounts", "code": "Interrupted", "message": "interrupted"}])
    save_inventory(interrupted)
    saved = load_inventory()
    assert names(saved) == [f"c{i}" for i in range(10)]
    assert [e.code for e in saved.errors] == ["Interrupted"]  # still says it was cut short
    assert saved.summary.complete is False


def test_a_partial_scan_replaces_only_what_it_completed(isolated_home: Path) -> None:
    save_inventory(ten_clusters())  # c0, c2, c4 in (111122223333, eu-west-1)
    account, region = ACCOUNTS[0], REGIONS[0]
    partial = scan_doc(
        [cluster("c2", region=region, account=account, version="1.31"),
         cluster("new", region=region, account=account),
         cluster("c1", region=REGIONS[1], account=account, version="1.31")],
        [(account, region)], complete=False)
    save_inventory(partial)
    saved = load_inventory()
    # c0 and c4 are gone from the completed pair; c1 comes from the new scan; the rest is kept.
    assert names(saved) == ["c1", "c2", "c3", "c5", "c6", "c7", "c8", "c9", "new"]
    versions = {c.name: c.version for c in saved.clusters}
    assert (versions["c1"], versions["c2"], versions["c3"]) == ("1.31", "1.31", "1.30")
    assert set(saved.completed) == {(a, r) for a in ACCOUNTS for r in REGIONS}


def test_a_complete_scan_or_another_organisation_replaces_the_inventory(
        isolated_home: Path) -> None:
    save_inventory(ten_clusters())
    save_inventory(scan_doc([cluster("only")], [], complete=False,
                            sso={"session": None, "start_url": "https://other/start",
                                 "region": "eu-west-1"}))
    assert names(load_inventory()) == ["only"]
    save_inventory(ten_clusters())
    save_inventory(scan_doc([], [], complete=True))
    assert names(load_inventory()) == []


@pytest.mark.parametrize("complete", [True, False])
def test_an_inventory_path_that_is_not_a_file_is_never_replaced(
        tmp_path: Path, complete: bool) -> None:
    fifo = tmp_path / "inventory.json"  # `--inventory /dev/null` and friends; never the real one
    os.mkfifo(fifo)
    with pytest.raises(NotAFileError, match="FIFO"):
        save_inventory(scan_doc([cluster("a")], [], complete=complete), fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["inventory.json"]


def test_list_cache_keeps_no_zero_cluster_counts(isolated_home: Path) -> None:
    # 0 is what a region without a hint counts as: kept, the empty account-regions of a big
    # org would be most of the file (and of a warm scan's memory).
    save_lists(SESSION, [Account("111122223333", "prod")], {},
               clusters={"111122223333/eu-west-1": 3, "111122223333/us-east-1": 0}, now=1000.0)
    assert '"111122223333/us-east-1"' not in lists_path(SESSION).read_text()
    cached = load_lists(SESSION, now=1001.0)
    assert cached is not None
    assert cached.clusters == {"111122223333/eu-west-1": 3}
