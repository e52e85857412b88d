"""The sim is an independent peer of the client: it shares no protocol code with it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ekstrio.sim
from ekstrio.errors import UsageError
from ekstrio.sim.options import SimOptions
from ekstrio.sim.testing import run_sim_in_thread

ALLOWED_EKSTRIO = {"ekstrio.sim", "ekstrio.errors", "ekstrio.fileio"}


def imported_modules(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_sim_imports_nothing_from_the_client() -> None:
    files = list(Path(ekstrio.sim.__file__).parent.glob("*.py"))
    files.append(Path(ekstrio.sim.__file__).parent.parent / "commands" / "sim.py")
    assert len(files) > 10
    for path in files:
        for module in imported_modules(path):
            if module == "ekstrio" or module.startswith("ekstrio."):
                assert any(module == a or module.startswith(a + ".") for a in ALLOWED_EKSTRIO), \
                    f"{path.name} imports {module}"


def test_thread_runner_reraises_usage_errors() -> None:
    with pytest.raises(UsageError, match="--accounts"), \
            run_sim_in_thread(SimOptions(accounts=-1)):
        pass  # pragma: no cover
