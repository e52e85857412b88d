"""The scan's JSON document, NDJSON records, table and progress."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import UTC, datetime

from rich.console import Console

from ekstrio.aws.call_stats import CallStats
from ekstrio.model import Account, Cluster, ClusterInfo, SsoSession
from ekstrio.output import (
    dumps_line,
    ndjson_record,
    ndjson_summary,
    partial_line,
    render_table,
    summary_line,
)
from ekstrio.scan_document import ScanDocument
from ekstrio.scan_entries import ClusterEntry
from ekstrio.scan_records import (
    AccountDone,
    AccountFound,
    RegionDone,
    ScanCollector,
    ScanError,
    Skipped,
)

SESSION = SsoSession("https://d-1234567890.awsapps.com/start", "eu-west-1", name="corp")
CLUSTER = Cluster(
    account_id="111122223333", account_name="prod", region="eu-west-1",
    info=ClusterInfo(
        name="web", arn="arn:aws:eks:eu-west-1:111122223333:cluster/web", status="ACTIVE",
        endpoint="https://ABC.gr7.eu-west-1.eks.amazonaws.com",
        certificate_authority_data="LS0tLS1CRUdJTg==", version="1.31",
        platform_version="eks.5", created_at=datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC),
        tags={"team": "web", "env": "prod"}, authentication_mode="API_AND_CONFIG_MAP"),
    roles=("AdministratorAccess", "ReadOnlyAccess"),
)
ERROR = ScanError("111122223333", "prod", "us-east-1", "AdministratorAccess",
                  "list_clusters", "ServerException", "boom")
SKIP = Skipped("111122223333", "af-south-1", "region not enabled")


def report(**kwargs: object):  # type: ignore[no-untyped-def]
    collector = ScanCollector(stats=CallStats(calls=12, retries=3, throttles=1))
    collector.start()
    for record in (AccountFound(Account("111122223333", "prod")), CLUSTER, ERROR, SKIP,
                   RegionDone("111122223333", "eu-west-1", True),
                   RegionDone("111122223333", "us-east-1", False),
                   AccountDone(Account("111122223333", "prod"))):
        collector.add(record)
    return collector.finish(**kwargs)  # type: ignore[arg-type]


def test_cluster_record_fields_and_formats() -> None:
    assert ClusterEntry.from_cluster(CLUSTER).to_json() == {
        "account_id": "111122223333", "account_name": "prod",
        "roles": ["AdministratorAccess", "ReadOnlyAccess"], "region": "eu-west-1",
        "name": "web", "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/web",
        "endpoint": "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
        "certificate_authority_data": "LS0tLS1CRUdJTg==", "status": "ACTIVE",
        "version": "1.31", "platform_version": "eks.5", "created_at": "2026-01-02T03:04:05Z",
        "tags": {"env": "prod", "team": "web"}, "authentication_mode": "API_AND_CONFIG_MAP",
        "outpost_id": None, "access": None,
    }


def test_document_follows_the_schema() -> None:
    doc = ScanDocument.from_report(report(), session=SESSION, partition="aws").to_json()
    assert list(doc) == ["schema", "sso", "partition", "started_at", "finished_at",
                         "clusters", "errors", "skipped", "completed", "summary"]
    assert doc["schema"] == "ekstrio.scan/v2"
    assert doc["sso"] == {"session": "corp", "start_url": SESSION.start_url,
                          "region": "eu-west-1"}
    assert doc["errors"] == [{"account_id": "111122223333", "account_name": "prod",
                              "region": "us-east-1", "role": "AdministratorAccess",
                              "stage": "list_clusters", "code": "ServerException",
                              "message": "boom"}]
    assert doc["skipped"] == [{"account_id": "111122223333", "region": "af-south-1",
                               "reason": "region not enabled"}]
    assert doc["completed"] == [{"account_id": "111122223333", "region": "eu-west-1"}]
    summary = doc["summary"]
    assert summary == {"accounts": 1, "regions_scanned": 2, "regions_skipped": 1,
                       "clusters": 1, "errors": 1, "api_calls": 12, "retries": 3,
                       "throttles": 1, "duration_s": summary["duration_s"], "complete": False,
                       "access": None}
    assert doc["started_at"].endswith("Z")
    json.dumps(doc)  # serialisable as it is


def test_ndjson_records_and_summary() -> None:
    assert ndjson_record(CLUSTER)["type"] == "cluster"  # type: ignore[index]
    assert ndjson_record(ERROR) == {"type": "error", "account_id": "111122223333",
                                    "account_name": "prod", "region": "us-east-1",
                                    "role": "AdministratorAccess", "stage": "list_clusters",
                                    "code": "ServerException", "message": "boom"}
    assert ndjson_record(SKIP)["type"] == "skipped"  # type: ignore[index]
    assert ndjson_record(AccountFound(Account("1", "a"))) is None
    assert ndjson_record(RegionDone("1", "r", True)) is None
    summary = ndjson_summary(ScanDocument.from_report(report(), session=SESSION,
                                                      partition="aws"))
    assert summary["type"] == "summary"
    assert summary["partition"] == "aws"
    assert summary["completed"] == [{"account_id": "111122223333", "region": "eu-west-1"}]
    line = dumps_line(summary)
    assert "\n" not in line
    assert json.loads(line) == summary


def test_table_on_stdout_errors_and_summary_on_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()
    render_table(report(), Console(file=out, width=150), Console(file=err, width=150))
    header, row = out.getvalue().splitlines()
    assert header.split() == ["ACCOUNT", "ACCOUNT", "ID", "REGION", "CLUSTER", "STATUS",
                              "VERSION", "ROLE"]
    assert row.split() == ["prod", "111122223333", "eu-west-1", "web", "ACTIVE", "1.31",
                           "AdministratorAccess", "+1"]
    assert ("error: prod (111122223333) us-east-1 AdministratorAccess: list_clusters: "
            "ServerException") in err.getvalue()
    assert "1 clusters, 1 accounts, 2 regions scanned, 1 skipped, 1 errors" in err.getvalue()


def test_summary_line_says_when_results_are_partial() -> None:
    assert summary_line(report(interrupted=True)).endswith("(interrupted: partial results)")


def test_merging_the_same_cluster_seen_through_two_roles() -> None:
    collector = ScanCollector()
    first = Cluster("1", "a", "r", CLUSTER.info, ("Admin",))
    second = Cluster("1", "a", "r", CLUSTER.info, ("ReadOnly", "Admin"))
    collector.add(first)
    collector.add(second)
    assert collector.finish().clusters[0].roles == ("Admin", "ReadOnly")


def test_partial_line_counts_what_is_missing() -> None:
    assert partial_line(report()) is not None  # one error: partial
    line = partial_line(dataclasses.replace(report(), timed_out=True))
    assert line == ("ekstrio: partial results (deadline reached): 1 of 1 accounts and "
                    "1 account-regions incomplete (see the document's \"errors\")")
    assert "(interrupted)" in str(partial_line(report(interrupted=True), records=True))
    assert 'the "error" records' in str(partial_line(report(), records=True))


def test_no_partial_line_when_complete() -> None:
    collector = ScanCollector()
    collector.add(CLUSTER)
    assert partial_line(collector.finish()) is None


def test_document_is_written_in_pieces_equal_to_one_dump() -> None:
    from ekstrio import json_pieces

    doc = {"schema": "ekstrio.scan/v1", "clusters": [
        {"name": f"c{i}", "certificate_authority_data": "QUJD" * 300, "tags": {"é": "ü"}}
        for i in range(400)]}
    pieces = list(json_pieces.iter_json(doc))
    assert len(pieces) > 5
    assert all(len(piece) < 2 * 64 * 1024 for piece in pieces)
    assert "".join(pieces) == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    assert json_pieces.dumps_json(doc) == "".join(pieces)
