"""json_pieces.JsonRows: the scan document written one record at a time is the same text as
the whole document dumped at once, and its records are made as they are written (a few
hundred at a time), not all before the first piece."""

from __future__ import annotations

import json
from typing import Any

from ekstrio import document_formats
from ekstrio.json_pieces import JsonRows, dumps_json, iter_json
from ekstrio.scan_document import ScanDocument
from ekstrio.scan_entries import ClusterEntry, ErrorEntry, SsoInfo, Summary


def document(clusters: int = 3) -> ScanDocument:
    return ScanDocument(
        sso=SsoInfo("corp", "https://x.awsapps.com/start", "eu-west-1"),
        started_at="2026-12-03T22:00:00Z", finished_at="2026-12-03T22:01:00Z",
        clusters=tuple(
            ClusterEntry(f"{i:012d}", "prod \"ünïcode\"", "eu-west-1", f"c{i}",
                         roles=("Admin", "ReadOnly"), arn=f"arn:aws:eks:eu-west-1:1:cluster/c{i}",
                         certificate_authority_data="QUJD" * 50, status="ACTIVE",
                         tags={"team": "web\nline", "é": ""} if i % 2 else {})
            for i in range(clusters)),
        errors=(ErrorEntry("111122223333", None, "us-east-1", None, "list_clusters", "X",
                           "tab\there"),),
        skipped=(),
        completed=(("111122223333", "eu-west-1"), ("111122223333", "us-east-1")),
        summary=Summary(accounts=1, clusters=clusters, complete=True),
    )


def test_rows_write_the_same_text_as_one_dump() -> None:
    for doc in (document(), document(0), ScanDocument()):
        plain = doc.to_json()
        expected = json.dumps(plain, indent=2, ensure_ascii=False) + "\n"
        assert dumps_json(doc.to_json_rows()) == expected
        assert json.loads(expected) == plain


def test_the_printed_document_is_the_same_through_rows() -> None:
    doc = document(500)  # several pieces
    pieces = list(document_formats.render_document(doc, "json"))
    assert len(pieces) > 2
    assert "".join(pieces) == "".join(document_formats.render(doc.to_json(), "json"))


def test_rows_are_made_a_batch_at_a_time_as_the_text_is_written() -> None:
    made: list[int] = []

    def to_json(item: int) -> dict[str, Any]:
        made.append(item)
        return {"n": item, "pad": "x" * 1000}

    pieces = iter_json({"head": 1, "rows": JsonRows(range(2000), to_json), "tail": []})
    next(pieces)
    assert 0 < len(made) <= 512  # a batch or two, not all 2,000
    rest = "".join(pieces)
    assert len(made) == 2000
    assert rest.endswith('\n  ],\n  "tail": []\n}\n')
