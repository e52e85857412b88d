"""Run a Python module or script, then write its own peak RSS (VmHWM) to $BENCH_HWM_FILE.

    BENCH_HWM_FILE=/tmp/peak python bench/hwm.py -m ekstrio scan ...
    BENCH_HWM_FILE=/tmp/peak python bench/hwm.py bench/baselines.py sequential ...

Why not ``ru_maxrss`` from ``wait4``: on exec, Linux folds the old address space's high-water
mark into the child's ``maxrss``, so every child of a big parent (the benchmark holds a 2,000-
account org in memory) reports at least the parent's peak. ``VmHWM`` in /proc/self/status
belongs to the new address space only.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys


def _write_hwm() -> None:
    target = os.environ.get("BENCH_HWM_FILE")
    if not target:
        return
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                with open(target, "w") as out:
                    out.write(line.split()[1])  # kB
                return


def main() -> None:
    atexit.register(_write_hwm)
    args = sys.argv[1:]
    if args[:1] == ["-m"]:
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = args
        sys.path.insert(0, os.path.dirname(os.path.abspath(args[0])))
        runpy.run_path(args[0], run_name="__main__")


if __name__ == "__main__":
    main()
