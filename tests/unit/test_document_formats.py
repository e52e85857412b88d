"""-o yaml is the JSON document; --query is JMESPath over it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from ekstrio.document_formats import compile_query, render
from ekstrio.errors import UsageError

DOC: dict[str, Any] = {
    "schema": "ekstrio.scan/v1",
    "clusters": [
        {"name": "web", "region": "eu-west-1", "tags": {"é": "ü"}, "endpoint": None},
        {"name": "api", "region": "us-east-1", "tags": {}, "endpoint": "https://x"},
    ],
    "summary": {"complete": True, "duration_s": 1.5},
}


def test_yaml_is_the_same_document_in_the_same_order() -> None:
    text = "".join(render(DOC, "yaml"))
    assert yaml.safe_load(text) == DOC
    assert list(yaml.safe_load(text)) == list(DOC)
    assert "é: ü" in text  # readable, not escaped


def test_json_without_query_is_the_document() -> None:
    assert json.loads("".join(render(DOC, "json"))) == DOC


@pytest.mark.parametrize(("expression", "expected"), [
    ("clusters[].name", ["web", "api"]),
    ("clusters[?region=='us-east-1'].endpoint | [0]", "https://x"),
    ("summary.complete", True),
    ("length(clusters)", 2),
    ("nothing", None),
])
def test_query(expression: str, expected: Any) -> None:
    query = compile_query(expression)
    assert json.loads("".join(render(DOC, "json", query))) == expected
    assert yaml.safe_load("".join(render(DOC, "yaml", query))) == expected


def test_bad_query_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not valid JMESPath"):
        compile_query("clusters[?")
    assert compile_query(None) is None
