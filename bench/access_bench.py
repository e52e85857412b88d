"""Benchmark: what `ekstrio scan --access` costs over a plain scan, side by side in one run.

Not a test. One command::

    python bench/access_bench.py [--size medium] [--repeat 1]

Starts the medium organisation (100 accounts, 250 clusters, 17 regions, 50 ms ± 10 ms per call,
portal 20 rps per token, EKS 10 rps per account and region) as its own process, then runs, each
as a child process in a fresh HOME (cold: no cached credentials or lists), alternating:

1. ``ekstrio scan`` (plain), 2. ``ekstrio scan --access`` (AWS side).

Per run: wall time, HTTP calls the sim answered, ekstrio's summary (api_calls, and for
--access the access summary), client CPU, and whether every cluster was found. Prints a table;
quote it in docs/benchmarks-access.md.
"""
# ruff: noqa: T201 - a benchmark: it prints its table and runs its own children

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lower_bound import ground_truth  # noqa: E402
from scan_bench import (  # noqa: E402
    PY,
    REGIONS,
    SIZES,
    SNAPSHOT,
    Sim,
    measured_child,
    signed_in_home,
    snapshot,
)


def one(sim: Sim, workdir: Path, name: str, extra: tuple[str, ...],
        src: str | None = None) -> dict[str, Any]:
    home = workdir / f"home-{name}"
    shutil.rmtree(home, ignore_errors=True)
    env = signed_in_home(sim, home)
    if src is not None:
        env["PYTHONPATH"] = src  # the baseline commit's code, not this one's
    cmd = [PY, "-m", "ekstrio", "scan", "--sso-session", "sim", "--regions", ",".join(REGIONS),
           "--output", "json", "--quiet", "--no-save", *extra]
    out = workdir / f"{name}.json"
    (wall, cpu, rss, code), (calls, throttled, _) = measured_child(sim, cmd, env, out)
    doc = json.loads(out.read_text() or "{}")
    summary = doc.get("summary", {})
    truth = ground_truth(sim.org, REGIONS)
    found = {(c["account_id"], c["region"], c["name"]) for c in doc.get("clusters", [])}
    verdicts: dict[str, int] = {}
    for cluster in doc.get("clusters", []):
        for access in (cluster.get("access") or {}).values():
            key = access["verdict"] + (f"({access['reason']})" if access.get("reason") else "")
            verdicts[key] = verdicts.get(key, 0) + 1
    return {"name": name, "wall_s": wall, "cpu_s": cpu, "rss_mb": rss, "exit": code,
            "sim_calls": calls, "throttled": throttled, "api_calls": summary.get("api_calls"),
            "access": summary.get("access"), "missing": len(truth - found),
            "verdicts": verdicts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="medium")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--baseline", metavar="REV",
                        help="also run a plain scan of this commit (e.g. the one before "
                        "--access) in each round: is a plain scan slower than before?")
    args = parser.parse_args()
    size = SIZES[args.size]
    workdir = Path(tempfile.mkdtemp(prefix="ekstrio-access-bench-"))
    # Children (and the sim) import ekstrio from a snapshot of this commit: the tree may move.
    base_src: str | None = None
    base_commit = ""
    if args.baseline:
        base_commit = snapshot(workdir / "baseline", args.baseline)
        base_src = SNAPSHOT["src"]
    commit = snapshot(workdir, "HEAD")
    sim = Sim(size, workdir)
    runs: list[dict[str, Any]] = []
    try:
        for i in range(args.repeat):
            if base_src is not None:
                runs.append(one(sim, workdir, f"plain@{base_commit}-{i}", (), base_src))
            runs.append(one(sim, workdir, f"plain-{i}", ()))
            runs.append(one(sim, workdir, f"access-{i}", ("--access",)))
    finally:
        sim.stop()
    print(f"# {size.name} org: {size.accounts} accounts, {size.clusters} clusters, "
          f"{len(REGIONS)} regions; commit {commit}; {platform.python_version()}, "
          f"{platform.machine()}")
    print("| run | wall s | HTTP calls (sim) | summary api_calls | client CPU s | missing | exit |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['name']} | {r['wall_s']:.1f} | {r['sim_calls']} | {r['api_calls']} | "
              f"{r['cpu_s']:.1f} | {r['missing']} | {r['exit']} |")
    plain = [r for r in runs if r["name"].startswith("plain-")]
    access = [r for r in runs if r["name"].startswith("access")]
    extra_calls = statistics.mean(a["sim_calls"] - p["sim_calls"]
                                  for p, a in zip(plain, access, strict=True))
    extra_wall = statistics.mean(a["wall_s"] - p["wall_s"]
                                 for p, a in zip(plain, access, strict=True))
    print(f"\n--access: +{extra_calls:.0f} HTTP calls, +{extra_wall:.1f} s wall "
          f"(mean of {len(plain)} pair(s)); access summary of the last run: "
          f"{json.dumps(access[-1]['access'])}")
    print(f"verdicts of the last --access run: {json.dumps(access[-1]['verdicts'])}")
    base = [r for r in runs if r["name"].startswith("plain@")]
    if base:
        print(f"plain scan, this commit vs {base_commit}: "
              f"{statistics.mean(r['wall_s'] for r in plain):.1f} s vs "
              f"{statistics.mean(r['wall_s'] for r in base):.1f} s wall, "
              f"{statistics.mean(r['sim_calls'] for r in plain):.0f} vs "
              f"{statistics.mean(r['sim_calls'] for r in base):.0f} calls, "
              f"{statistics.mean(r['cpu_s'] for r in plain):.1f} vs "
              f"{statistics.mean(r['cpu_s'] for r in base):.1f} s client CPU "
              f"(means of {len(plain)})")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
