"""The scan document as JSON or YAML, optionally through a JMESPath ``--query``.

``-o yaml`` is the same document as ``-o json`` (same keys, same order); ``--query`` runs
a JMESPath expression over that JSON document, as ``aws --query`` does, and prints the
result in the chosen format. One module so a fresh scan and ``--cached`` print alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from ekstrio.errors import UsageError
from ekstrio.json_pieces import iter_json
from ekstrio.scan_document import ScanDocument

DocumentFormat = Literal["json", "yaml"]


def compile_query(expression: str | None) -> Any:
    """The compiled expression (None for none); a bad one is a usage error, before any scan."""
    if expression is None:
        return None
    # Imported here, not above: only --query needs JMESPath, and every scan imports this module.
    import jmespath
    import jmespath.exceptions

    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"--query {expression!r} is not valid JMESPath: {first}") from None


def dumps_yaml(data: Any) -> str:
    # Imported here, not above: only -o yaml needs PyYAML (~15 ms to import with its C
    # loader), and every scan imports this module.
    import yaml

    # safe_dump: plain types only; sort_keys=False keeps the JSON document's key order.
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False,
                          width=1_000_000)


def render(doc: Mapping[str, Any], fmt: DocumentFormat, query: Any = None) -> Iterator[str]:
    """The document (or the query's result) as text, in pieces."""
    data: Any = doc if query is None else query.search(doc)
    if fmt == "yaml":
        yield dumps_yaml(data)
    elif query is None:
        yield from iter_json(doc)
    else:
        yield json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render_document(doc: ScanDocument, fmt: DocumentFormat, query: Any = None) -> Iterator[str]:
    """The scan document (or the query's result) as text, in pieces; plain JSON is written
    one record at a time (``ScanDocument.to_json_rows``), the rest needs the whole value."""
    if fmt == "json" and query is None:
        return iter_json(doc.to_json_rows())
    return render(doc.to_json(), fmt, query)
