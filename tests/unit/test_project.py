"""The project's own promises: README commands, CI script, CLI entry points."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ekstrio import __version__
from ekstrio.cli import run

ROOT = Path(__file__).resolve().parents[2]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_readme_has_exactly_two_setup_commands() -> None:
    commands = _readme_commands()
    assert len(commands) == 2, commands
    assert all(command.startswith("python3 -m venv .venv") for command in commands)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = _readme_commands()[1]
    assert "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci


def test_ci_tests_the_declared_lowest_version_of_every_runtime_dependency() -> None:
    """.ci/run pins each runtime `>=` floor with `==` (generated from pyproject.toml) and runs
    the unit tests there; a dependency without a floor would escape that check."""
    import subprocess
    import sys
    import tomllib

    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    readme = _readme_commands()[1]
    assert ci.index(readme) < ci.index("python3 -m venv .venv-lowest")  # README's first
    done = subprocess.run([sys.executable, str(ROOT / ".ci" / "lowest_requirements.py")],
                          capture_output=True, text=True, check=True)
    pins = done.stdout.splitlines()
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert len(pins) == len(declared)
    for pin, requirement in zip(pins, declared, strict=True):
        name, _, version = pin.partition("==")
        assert requirement.startswith(name)
        assert f">={version}" in requirement.replace(" ", "")


def test_lowest_pin_rule() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("lowest", ROOT / ".ci" / "lowest_requirements.py")
    assert spec is not None
    assert spec.loader is not None
    lowest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lowest)
    assert lowest.lowest_pin("httpx>=0.28,<0.29") == "httpx==0.28"
    assert lowest.lowest_pin("moto[server] >= 5.1") == "moto==5.1"
    marker = '; python_version < "3.11"'
    assert lowest.lowest_pin(f"tomli>=2{marker}") == f"tomli==2{marker}"
    assert lowest.companions(["trio==0.27", "botocore==1.39"]) == ["boto3>=1.39,<1.40"]
    for unbounded in ("rich", "rich<14", "rich>=13,>=14"):
        with pytest.raises(SystemExit, match="exactly one >= floor"):
            lowest.lowest_pin(unbounded)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ekstrio: error:")
    assert len(err.strip().splitlines()) == 1


def test_top_help_lists_every_command_with_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    from ekstrio.app import COMMANDS

    assert run(["--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for name, (_target, summary) in COMMANDS.items():
        assert name in out
        assert " ".join(summary.split()[:4]) in out


def test_command_help_is_the_whole_docstring(capsys: pytest.CaptureFixture[str]) -> None:
    # The long description (not only the one-line summary) reaches `ekstrio scan --help`.
    assert run(["scan", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Exit status" in out
    assert "--preset" in out


# --- httpx2, not httpx ----------------------------------------------------------------------

def test_scan_path_imports_httpx2_and_never_httpx() -> None:
    # A fresh interpreter, without the test session's alias: the product imports httpx2 by its
    # own name, and neither httpx nor httpcore (not dependencies) is loaded by the scan path.
    import subprocess
    import sys

    probe = ("import sys, ekstrio.aws.transport, ekstrio.aws.eks, ekstrio.aws.portal, "
             "ekstrio.scan_aws, ekstrio.commands.scan, ekstrio.cli; "
             "ekstrio.aws.transport.make_http_client(); "
             "print(sorted(m for m in ('httpx', 'httpcore', 'httpx2', 'httpcore2') "
             "if m in sys.modules))")
    # httpcore2 only where httpx2's own transport is needed (a proxy, or
    # EKSTRIO_HTTP_TRANSPORT=httpx2), or for the OS trust store (Windows, macOS): a direct run.
    env = {k: v for k, v in os.environ.items() if k.upper() not in {
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "EKSTRIO_HTTP_TRANSPORT"}}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60, env=env)
    expected = ("['httpcore2', 'httpx2']" if sys.platform in ("win32", "darwin")
                else "['httpx2']")
    assert done.stdout.strip() == expected


def test_product_never_aliases_httpx() -> None:
    # alias_httpx() is the test session's business (so respx patches httpx2); in the product it
    # would change what `import httpx` means for every other library in the user's process.
    offenders = [str(path.relative_to(ROOT)) for path in (ROOT / "src").rglob("*.py")
                 if "alias_httpx" in path.read_text() or re.search(
                     r"^\s*(import httpx\b(?!2)|from httpx\b(?!2))", path.read_text(), re.M)]
    assert offenders == []


def test_respx_patches_httpx2_in_this_session() -> None:
    import httpx2
    import respx

    with respx.mock(assert_all_called=True) as router:
        route = router.get("https://example.invalid/x").respond(204)
        assert httpx2.get("https://example.invalid/x").status_code == 204
    assert route.call_count == 1
