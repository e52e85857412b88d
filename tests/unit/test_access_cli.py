"""The access glue: the bare --access flag, --only-accessible and best-role-first targets,
the document's access objects and schema rule, the ACCESS column."""

from __future__ import annotations

from typing import Any

import pytest

from ekstrio import cli, table
from ekstrio.access import AccessState, AccessVerdict, UnknownReason
from ekstrio.access_live import LiveOutcome, LiveResult
from ekstrio.access_record import RoleAccess
from ekstrio.commands.scan import bare_access_flag
from ekstrio.errors import ConfigError
from ekstrio.kube_targets import inventory_of
from ekstrio.scan_document import ScanDocument, check_schema

ADMIN = RoleAccess(AccessVerdict(AccessState.ADMIN))
DENIED = RoleAccess(AccessVerdict(AccessState.UNKNOWN, UnknownReason.DENIED))
NO_ENTRY_BUT_LIVE_OK = RoleAccess(AccessVerdict(AccessState.NO_ENTRY),
                                  LiveResult(LiveOutcome.OK, "u", (), (("list namespaces", True),)))
ADMIN_BUT_LIVE_401 = RoleAccess(AccessVerdict(AccessState.ADMIN),
                                LiveResult(LiveOutcome.UNAUTHORIZED))


@pytest.mark.parametrize(("argv", "want"), [
    (["scan", "--access"], ["scan", "--access=aws"]),
    (["scan", "--access", "-o", "json"], ["scan", "--access=aws", "-o", "json"]),
    (["scan", "--access", "live"], ["scan", "--access", "live"]),
    (["scan", "--access=live"], ["scan", "--access=live"]),
    (["scan", "--", "--access"], ["scan", "--", "--access"]),
])
def test_bare_access_flag(argv: list[str], want: list[str]) -> None:
    assert bare_access_flag(argv) == want


def test_bad_access_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["scan", "--access", "maybe"]) == 2
    assert "--access" in capsys.readouterr().err


def doc(access: dict[str, RoleAccess] | None, roles: tuple[str, ...] = ("A", "B", "C")
        ) -> ScanDocument:
    cluster: dict[str, Any] = {
        "account_id": "111122223333", "account_name": "prod", "roles": list(roles),
        "region": "eu-west-1", "name": "web", "endpoint": "https://x", "status": "ACTIVE",
        "access": None if access is None else {r: v.to_json() for r, v in access.items()}}
    return ScanDocument.from_json({"schema": "ekstrio.scan/v2",
                                   "sso": {"session": "corp", "start_url": "u", "region": "r"},
                                   "clusters": [cluster]})


def test_only_accessible_and_best_role_first() -> None:
    document = doc({"C": ADMIN, "B": NO_ENTRY_BUT_LIVE_OK, "A": DENIED})
    assert [t.role for t in inventory_of(document).targets] == ["C", "B", "A"]
    assert [t.role for t in inventory_of(document, only_accessible=True).targets] == ["C", "B"]
    nobody = doc({"A": DENIED, "B": ADMIN_BUT_LIVE_401}, roles=("A", "B"))
    inv = inventory_of(nobody, only_accessible=True)
    assert inv.targets == ()
    assert inv.skipped[0].reason == "no role can get in (scan --access)"
    assert [t.role for t in inventory_of(doc(None)).targets] == ["A", "B", "C"]


def test_document_round_trip_and_schema_rule() -> None:
    document = doc({"C": ADMIN, "B": NO_ENTRY_BUT_LIVE_OK})
    again = ScanDocument.from_json(document.to_json())
    assert again == document
    assert again.clusters[0].access is not None
    assert list(again.clusters[0].access) == ["C", "B"]
    assert check_schema({"schema": "ekstrio.scan/v1"})
    with pytest.raises(ConfigError, match="schema"):
        check_schema({"schema": "ekstrio.scan/v3"})
    bad = document.to_json()
    bad["clusters"][0]["access"] = {"A": {"verdict": "superuser"}}
    with pytest.raises(ConfigError, match="malformed 'access'"):
        ScanDocument.from_json(bad)


def test_access_column_only_when_checked() -> None:
    with_access = [c.to_json() for c in doc({"C": ADMIN, "B": NO_ENTRY_BUT_LIVE_OK}).clusters]
    lines = table.layout(with_access, None)
    assert lines[0].split()[-1] == "ACCESS"
    assert lines[1].endswith("admin +1")
    live = [c.to_json() for c in doc({"B": NO_ENTRY_BUT_LIVE_OK}).clusters]
    assert table.layout(live, None)[1].endswith("no-entry; live ok(list namespaces)")
    plain = [c.to_json() for c in doc(None).clusters]
    assert "ACCESS" not in table.layout(plain, None)[0]
