"""Summarise a pyinstrument text profile (from bench/profile_scan.py): where the scan's CPU goes.

    python bench/profile_summary.py bench/results/profile-medium-default-cold.txt

Percentages are of the samples inside trio's run loop (``unrolled_run``): the scan itself,
without start-up and without the loop's idle waits. "inclusive" rows count a function with
everything it calls; "self" rows count the time spent in a function's own lines.
"""
# ruff: noqa: T201 - a command-line tool: printing is its job

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^([\s│├└─]*?)(\d+\.\d+) (.+?)  (\S+)")

# (label, pattern matched against "function file") for inclusive times
INCLUSIVE = (
    ("httpx2 AsyncClient.send (whole HTTP exchange)", "AsyncClient.send httpx2/"),
    ("httpcore2 connection pool (handle_async_request)",
     "AsyncConnectionPool.handle_async_request"),
    ("httpcore2 pool bookkeeping (_assign_requests_to_connections)",
     "AsyncConnectionPool._assign_requests_to_connections"),
    ("h11 (HTTP/1.1 parsing and framing)", " h11/"),
    ("socket send/recv syscalls", "socket.send"),
    ("SigV4 signing (the httpx2.Auth adapter)", "SigV4Auth.sign"),
    ("httpx2 request building", "AsyncClient.build_request"),
    ("JSON parsing of answers", "parse_json_body"),
    ("role-credential cache writes (fsync)", "save_role_credentials"),
    ("ekstrio Transport.call (pacing + retry + HTTP)", "Transport.call"),
)


def parse(path: Path) -> list[tuple[int, float, str, str]]:
    nodes = []
    for text in path.read_text().splitlines():
        m = _LINE.match(text)
        if m:
            nodes.append((len(m.group(1)), float(m.group(2)), m.group(3), m.group(4)))
    return nodes


def inclusive(nodes: list[tuple[int, float, str, str]], pattern: str) -> float:
    """Time under frames matching ``pattern``, not counting a match nested inside another."""
    total, inside = 0.0, None
    for depth, t, name, where in nodes:
        if inside is not None and depth <= inside:
            inside = None
        if inside is None and pattern in f"{name} {where}":
            total += t
            inside = depth
    return total


def self_times(nodes: list[tuple[int, float, str, str]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for i, (depth, t, name, where) in enumerate(nodes):
        children = 0.0
        child_depth = None
        for d, ct, _, _ in nodes[i + 1:]:
            if d <= depth:
                break
            if child_depth is None:
                child_depth = d
            if d == child_depth:
                children += ct
        out[f"{name} {where.split(':')[0]}"] += max(0.0, t - children)
    return out


def loop_nodes(nodes: list[tuple[int, float, str, str]]) -> list[tuple[int, float, str, str]]:
    """The nodes inside trio's run loop (the subtrees of ``unrolled_run``)."""
    out, inside = [], None
    for node in nodes:
        depth, _, name, where = node
        if inside is not None and depth <= inside:
            inside = None
        if inside is not None:
            out.append(node)
        elif name == "unrolled_run" and where.startswith("trio/"):
            inside = depth
    return out


def main() -> int:
    for arg in sys.argv[1:]:
        nodes = parse(Path(arg))
        loop = inclusive(nodes, "unrolled_run trio/")
        print(f"== {arg}: {nodes[0][1]:.1f} s sampled, {loop:.1f} s inside trio's run loop")
        for label, pattern in INCLUSIVE:
            t = inclusive(nodes, pattern)
            print(f"  {100 * t / loop:5.1f} %  {t:6.2f} s  {label}")
        print("  top self times:")
        for key, t in self_times(loop_nodes(nodes)).most_common(12):
            print(f"  {100 * t / loop:5.1f} %  {t:6.2f} s  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
