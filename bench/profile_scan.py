"""Profile `ekstrio scan` (cold, then warm) against the medium org with pyinstrument.

    pip install pyinstrument      # a local tool, not a project dependency
    python bench/profile_scan.py [--size medium-all] [--preset default] [--out DIR]
                                 [--transport lean|httpx2] [--warm-only]

Starts the sim as its own process exactly as bench/scan_bench.py does, then runs
``python -m pyinstrument -m ekstrio scan ...`` in a fresh signed-in HOME twice and writes
``profile-cold.txt`` / ``profile-warm.txt`` (text, ``--show-all``) and ``.html`` into --out.
"""
# ruff: noqa: T201 - a command-line benchmark: printing the table is its job

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scan_bench import (  # noqa: E402
    PY,
    REGIONS,
    SIZES,
    Sim,
    run_child,
    signed_in_home,
    snapshot,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="medium-all")
    parser.add_argument("--transport", choices=["lean", "httpx2"], default="lean",
                        help="EKSTRIO_HTTP_TRANSPORT for the profiled scans")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--interval", type=float, default=0.002)
    parser.add_argument("--rev", default="HEAD", help="commit to profile (a snapshot)")
    parser.add_argument("--html", action="store_true", help="also an html profile of a cold run")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ekstrio-prof-") as tmp:
        work = Path(tmp)
        print(f"profiling commit {snapshot(work, args.rev)}", flush=True)
        sim = Sim(SIZES[args.size], work)
        try:
            home = work / "home"
            shutil.rmtree(home, ignore_errors=True)
            env = signed_in_home(sim, home)
            env["EKSTRIO_HTTP_TRANSPORT"] = args.transport
            size = SIZES[args.size]
            regions = () if size.all_regions else ("--regions", ",".join(REGIONS))
            for phase in ("cold", "warm"):
                time.sleep(2.0)
                renderers = (("text", "txt"), ("html", "html")) if args.html else (("text", "txt"),)
                for renderer, ext in renderers:
                    if renderer == "html" and phase == "warm":
                        continue
                    target = (args.out / f"profile-{args.size}-{args.preset}-{args.transport}-"
                                         f"{phase}.{ext}")
                    cmd = [PY, "-m", "pyinstrument", "--interval", str(args.interval),
                           "-r", renderer, "-o", str(target),
                           *(["--show-all"] if renderer == "text" else []),
                           "-m", "ekstrio", "scan", "--sso-session", "sim",
                           "--preset", args.preset, *regions,
                           "--output", "json", "--quiet", "--no-save"]
                    wall, cpu, _rss, code = run_child(cmd, env, work / "scan.json")
                    print(f"{phase} {renderer}: {wall:.1f} s wall, {cpu:.2f} s CPU, exit {code}"
                          f" -> {target}", flush=True)
                    if renderer == "text" and phase == "cold" and args.html:
                        # the html pass would be a warm run; reset to cold for it
                        shutil.rmtree(home / ".aws" / "cli", ignore_errors=True)
                        shutil.rmtree(home / ".cache", ignore_errors=True)
                        time.sleep(2.0)
        finally:
            sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
