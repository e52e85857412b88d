"""Shell completion, `sim serve --help`, and what the package ships (LICENSE, classifiers)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from ekstrio.app import COMMANDS
from ekstrio.cli import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_names_every_command_and_key_flags(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "ekstrio" in script
    for name in COMMANDS:
        assert name in script, name
    for flag in ("sso-session", "context-template", "exec-api", "kubeconfig-dir", "query"):
        assert flag in script, flag


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_parses_in_its_shell(
    shell: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(["completion", shell]) == 0
    script = tmp_path / f"ekstrio.{shell}"
    script.write_text(capsys.readouterr().out)
    binary = shutil.which(shell)
    if binary is None:
        pytest.skip(f"{shell} is not installed")
    check = [binary, "--no-execute" if shell == "fish" else "-n", str(script)]
    result = subprocess.run(check, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_bash_completion_registers_the_function(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["completion", "bash"]) == 0
    assert re.search(r"^complete .*ekstrio\s*$", capsys.readouterr().out, re.MULTILINE)


def test_completion_rejects_an_unknown_shell(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["completion", "tcsh"]) == 2
    assert capsys.readouterr().err.startswith("ekstrio: error:")


def test_sim_serve_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["sim", "serve", "--help"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Rows that start with a flag; a bool's "--no-X" is the second line of its "--X" row.
    options = [line for line in lines
               if re.match(r"^[│|]\s+--", line) and not re.match(r"^[│|]\s+--no-", line)]
    assert len(options) >= 24, lines  # one per option of `sim serve`
    # A row with a flag and no text after it is an option nobody explained.
    bare = [o for o in options if not re.search(r"--[\w-]+(?:\s+--[\w-]+)*\s+\S.*\w", o)]
    assert bare == []


def test_license_is_the_full_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert len(text.splitlines()) > 150


def test_pyproject_declares_license_and_tested_python_versions() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert "LICENSE" in project["license-files"]
    classifiers = project["classifiers"]
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert "Operating System :: POSIX" in classifiers


def test_readme_says_windows_is_not_supported() -> None:
    assert re.search(r"Windows is not supported", (ROOT / "README.md").read_text())
