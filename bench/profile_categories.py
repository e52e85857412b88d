"""A py-spy profile of a scan as shares of its samples by category (the table "Profile before
and after" in bench/benchmarks_notes.md).

    pip install py-spy             # a local tool, not a project dependency
    py-spy record -r 400 -f raw -o warm.raw -- ekstrio scan ... --output json --quiet --no-save
    python bench/profile_categories.py warm.raw

Each sample goes to the innermost frame of its stack that matches a category (so time in
httpx2 called from the Transport counts as httpx2, and the Transport's own code as Transport).
"""
# ruff: noqa: T201 - a command-line tool: printing the table is its job

from __future__ import annotations

import collections
import sys

RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("stamina / tenacity (retry set-up)", ("stamina/", "tenacity/")),
    ("SigV4 signing", ("ekstrio/aws/sigv4", "botocore/auth", "hmac.py", "hashlib")),
    ("HTTP codec (h11 / aws/http1)", ("h11/", "ekstrio/aws/http1.py")),
    ("lean transport (connections, reads)", ("ekstrio/aws/lean_http.py",)),
    ("socket send/recv (trio socket layer)", ("trio/_socket.py", "trio/_highlevel_socket.py")),
    ("httpx2 request/response models and client", ("httpx2/",)),
    ("JSON parsing and reading answers", ("json/", "ekstrio/aws/wire.py", "ekstrio/aws/eks.py",
                                         "ekstrio/aws/portal.py", "ekstrio/aws/untrusted.py",
                                         "ekstrio/aws/http_client.py")),
    ("Transport (pacing, limiter, timeouts)", ("ekstrio/aws/transport.py",
                                               "ekstrio/aws/pacing.py", "trio/_sync.py")),
    ("scan engine and records", ("ekstrio/scan", "ekstrio/account_credentials",
                                 "ekstrio/slots", "ekstrio/filters")),
    ("trio scheduler (tasks, cancel scopes, epoll)", ("trio/", "outcome/")),
    ("start-up (imports) and output", ("importlib", "cyclopts/", "rich/", "ekstrio/")),
)


def category(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, keys in RULES:
            if any(key in frame for key in keys):
                return name
    return "other"


def main() -> int:
    counts: collections.Counter[str] = collections.Counter()
    with open(sys.argv[1], encoding="utf-8") as raw:
        for line in raw:
            stack, _, samples = line.rstrip().rpartition(" ")
            counts[category(stack.split(";"))] += int(samples)
    total = sum(counts.values()) or 1
    for name in [*(name for name, _ in RULES), "other"]:
        print(f"{name:48s} {100 * counts[name] / total:5.1f} %")
    print(f"samples {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
