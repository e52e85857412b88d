"""`ekstrio login` / `logout` through ekstrio.cli.run: bad config is one line, exit 2, no writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ekstrio import cli


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    files: dict[str, tuple[int, bytes]] = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            files[str(path.relative_to(root))] = (path.stat().st_mtime_ns, path.read_bytes())
    return files


@pytest.fixture
def home_config(isolated_home: Path) -> Path:
    path = isolated_home / ".aws" / "config"
    path.parent.mkdir()
    return path


CASES = [
    ("[sso-session corp]\nsso_start_url = https://d.awsapps.com/start\n",
     ["--sso-session", "corp"],
     "ekstrio: error: ~/.aws/config: [sso-session corp] is missing sso_region"),
    ("[profile dev]\nregion = eu-west-1\n",
     ["--profile", "nope"],
     "ekstrio: error: ~/.aws/config: no profile 'nope'; add a [profile nope] section "
     "(profiles found: dev)"),
    ("[profile dev\nregion = x\n", [],
     "ekstrio: error: ~/.aws/config: malformed INI: line 1: a key before any [section] header"),
    ("[profile p]\nsso_session = s\nsso_region = eu-west-1\n[sso-session s]\n"
     "sso_start_url = https://s.awsapps.com/start\nsso_region = us-east-1\n",
     ["--profile", "p"],
     "ekstrio: error: ~/.aws/config: [profile p] has sso_region = eu-west-1, which conflicts "
     "with [sso-session s] sso_region = us-east-1"),
    ("", [],
     "ekstrio: error: no IAM Identity Center session in ~/.aws/config: pass --start-url URL "
     "--sso-region REGION, --sso-session NAME or --profile NAME"),
]


@pytest.mark.parametrize("command", ["login", "logout"])
@pytest.mark.parametrize(("text", "flags", "message"), CASES)
def test_config_errors_are_one_line_exit_2_and_write_nothing(
    isolated_home: Path, home_config: Path, capsys: pytest.CaptureFixture[str],
    command: str, text: str, flags: list[str], message: str,
) -> None:
    home_config.write_text(text)
    before = snapshot(isolated_home)
    assert cli.run([command, *flags]) == 2
    captured = capsys.readouterr()
    assert captured.err == message + "\n"
    assert captured.out == ""
    assert snapshot(isolated_home) == before


def test_unknown_profile_from_aws_profile(
    home_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    home_config.write_text("[default]\n")
    monkeypatch.setenv("AWS_PROFILE", "ghost")
    assert cli.run(["login"]) == 2
    assert capsys.readouterr().err.startswith(
        "ekstrio: error: ~/.aws/config: no profile 'ghost' (from AWS_PROFILE)")


def test_start_url_without_region_is_usage_error(
    isolated_home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    before = snapshot(isolated_home)
    assert cli.run(["login", "--start-url", "https://x.awsapps.com/start"]) == 2
    assert capsys.readouterr().err == (
        "ekstrio: error: --start-url needs --sso-region (the IAM Identity Center region)\n")
    assert snapshot(isolated_home) == before


def test_aws_config_file_is_honoured(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    other = isolated_home / "elsewhere"
    other.write_text("[sso-session x]\nsso_start_url = https://x.awsapps.com/start\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(other))
    assert cli.run(["logout"]) == 2
    assert capsys.readouterr().err == (
        "ekstrio: error: ~/elsewhere: [sso-session x] is missing sso_region\n")


def test_logout_without_token_says_so(
    home_config: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    home_config.write_text("[sso-session corp]\nsso_start_url = https://d.awsapps.com/start\n"
                           "sso_region = us-east-1\n")
    assert cli.run(["logout"]) == 0
    assert capsys.readouterr().out == (
        "No cached token for sso-session corp; no cached files to remove.\n")


def test_logout_all_also_removes_aws_cli_role_credentials(
    isolated_home: Path, home_config: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    home_config.write_text("[sso-session corp]\nsso_start_url = https://d.awsapps.com/start\n"
                           "sso_region = us-east-1\n")
    cli_file = isolated_home / ".aws/cli/cache/written-by-aws-cli.json"
    cli_file.parent.mkdir(parents=True)
    cli_file.write_text('{"ProviderType": "sso", "Credentials": {}}')
    assert cli.run(["logout"]) == 0
    assert cli_file.exists()
    capsys.readouterr()
    assert cli.run(["logout", "--all", "-v"]) == 0
    assert not cli_file.exists()
    captured = capsys.readouterr()
    assert captured.out == ("No cached token for sso-session corp; removed 1 cached file.\n")
    assert f"ekstrio.login: removed {cli_file}" in captured.err
