"""The project's own promises: README commands, CI script, CLI entry points."""

from __future__ import annotations

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


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ekstrio: error:")
    assert len(err.strip().splitlines()) == 1


def test_top_help_lists_every_command_with_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    from ekstrio.cli import COMMANDS

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
