#!/usr/bin/env python3
"""Print pip pins for the LOWEST versions pyproject.toml declares, one requirement a line.

Each runtime dependency ``NAME>=X[,...]`` becomes ``NAME==X``; with ``--extra test`` the
extra's requirements are printed as declared (they may float: they are the tools, not what
users install). Read from pyproject.toml each run, so the CI step follows every edit of the
floors. Standard library only: it runs before anything is installed.

    python .ci/lowest_requirements.py              # runtime floors as == pins (constraints)
    python .ci/lowest_requirements.py --companions # constraints on packages that move with them
    python .ci/lowest_requirements.py --extra test # the test extra, as declared
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*)(;.*)?$")


def lowest_pin(requirement: str) -> str:
    """``"httpx>=0.28,<0.29"`` → ``"httpx==0.28"``. A requirement without a ``>=`` floor has
    no lowest version to test, which this step treats as a mistake in pyproject.toml."""
    match = _REQUIREMENT.match(requirement)
    if match is None:
        raise SystemExit(f"lowest_requirements: cannot read requirement {requirement!r}")
    name, _extras, specifiers, marker = match.groups()
    floors = [s.strip()[2:].strip() for s in specifiers.split(",") if s.strip().startswith(">=")]
    if len(floors) != 1:
        raise SystemExit(f"lowest_requirements: {requirement!r} needs exactly one >= floor")
    return f"{name}=={floors[0]}{marker or ''}"


def companions(pins: list[str]) -> list[str]:
    """Constraints for packages released in lockstep with a pinned one. boto3 (which the test
    extra pulls in through moto) requires botocore of its own minor series (boto3 1.39.x:
    botocore >=1.39.0,<1.40.0); without this pip tries every newer boto3 first, 300 and more
    downloads, before it finds the series that fits the botocore floor."""
    out = []
    for pin in pins:
        name, _, version = pin.partition("==")
        if name.lower() == "botocore":
            major, minor = version.split(".")[:2]
            out.append(f"boto3>={major}.{minor},<{major}.{int(minor) + 1}")
    return out


def main(argv: list[str]) -> int:
    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml")
                            .read_text(encoding="utf-8"))["project"]
    if argv[:1] == ["--extra"] and len(argv) == 2:
        lines = list(project["optional-dependencies"][argv[1]])
    elif not argv:
        lines = [lowest_pin(r) for r in project["dependencies"]]
    elif argv == ["--companions"]:
        lines = companions([lowest_pin(r) for r in project["dependencies"]])
    else:
        raise SystemExit("usage: lowest_requirements.py [--companions | --extra NAME]")
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
