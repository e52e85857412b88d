"""Defaults from config.toml and EKSTRIO_*: flags > env > [command] table > top level > built-in."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ekstrio.app import build_app
from ekstrio.cli import run
from ekstrio.user_config import config_path, env_name


def write_config(text: str) -> Path:
    path = config_path(os.environ)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def bound(*tokens: str) -> dict[str, Any]:
    """What the command would be called with (cyclopts applies env and file as it runs)."""
    _function, arguments, _unused, _ignored = build_app(tokens[0]).parse_known_args(list(tokens))
    return dict(arguments.arguments)


def test_path_follows_xdg_config_home(isolated_home: Path) -> None:
    assert config_path(os.environ) == isolated_home / ".config" / "ekstrio" / "config.toml"
    assert config_path({"HOME": "/h"}) == Path("/h/.config/ekstrio/config.toml")
    assert env_name("sso-session") == "EKSTRIO_SSO_SESSION"


def test_built_in_when_nothing_is_set() -> None:
    assert bound("scan") == {}


def test_precedence_flag_env_section_file(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config('sso-session = "file"\noutput = "yaml"\nregions = ["eu-west-1"]\n'
                 'preset = "conservative"\n'
                 '[scan]\noutput = "wide"\nregions = ["us-east-1"]\n')
    monkeypatch.setenv("EKSTRIO_REGIONS", "ap-south-1")
    got = bound("scan")
    assert got["sso_session"] == "file"  # top level
    assert got["output"] == "wide"  # [scan] beats top level
    assert got["regions"] == ["ap-south-1"]  # env beats the file
    assert got["preset"] == "conservative"
    got = bound("scan", "--regions", "eu-north-1", "-o", "json", "--sso-session", "flag")
    assert got["regions"] == ["eu-north-1"]  # the flag beats everything
    assert got["output"] == "json"
    assert got["sso_session"] == "flag"


def test_top_level_keys_reach_every_command_that_has_the_option() -> None:
    write_config('sso-session = "corp"\nrole = ["Admin*", "ReadOnly*"]\n'
                 '[kubeconfig]\ncontext-template = "{account_name}/{cluster}"\n')
    assert bound("login")["sso_session"] == "corp"
    assert bound("scan")["role"] == ["Admin*", "ReadOnly*"]
    kube = bound("kubeconfig")
    assert kube["context_template"] == "{account_name}/{cluster}"
    assert kube["role"] == ["Admin*", "ReadOnly*"]
    assert "context_template" not in bound("scan")  # a [kubeconfig] key stays there


def test_sim_and_demo_and_presets_ignore_user_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config('regions = ["eu-west-1"]\noutput = "yaml"\n')
    monkeypatch.setenv("EKSTRIO_SEED", "5")
    app = build_app()
    assert dict(app.parse_known_args(["sim", "serve"])[1].arguments) == {}
    assert dict(app.parse_known_args(["presets"])[1].arguments) == {}


def test_env_bool_and_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EKSTRIO_ALL_ROLES", "true")
    monkeypatch.setenv("EKSTRIO_TAG", "env=prod team=web")
    got = bound("scan")
    assert got["all_roles"] is True
    assert got["tag"] == ["env=prod", "team=web"]


def test_bad_value_in_the_file_is_one_usage_line(capsys: pytest.CaptureFixture[str]) -> None:
    write_config('output = "fancy"\n')
    assert run(["scan", "--cached"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ekstrio: error:")
    assert len(err.splitlines()) == 1


def test_broken_toml_is_one_usage_line(capsys: pytest.CaptureFixture[str]) -> None:
    write_config("regions = [\n")
    assert run(["scan", "--cached"]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert run(["config"]) == 2


def test_broken_toml_names_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config("regions = [\n")
    assert run(["scan", "--cached"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ekstrio: error: the config file {path} is not valid TOML")
    assert len(err.splitlines()) == 1


def test_config_file_not_utf8_is_one_usage_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = config_path(os.environ)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xfeoutput = 1\n")
    assert run(["scan", "--cached"]) == 2
    assert capsys.readouterr().err == f"ekstrio: error: the config file {path} is not UTF-8 text\n"


def test_unreadable_config_file_is_one_usage_line(capsys: pytest.CaptureFixture[str]) -> None:
    # A folder where the file should be: reading fails with an OSError even as root.
    path = config_path(os.environ)
    path.mkdir(parents=True)
    assert run(["scan", "--cached"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ekstrio: error: cannot read the config file {path}:")
    assert len(err.splitlines()) == 1


def test_config_command_shows_values_and_sources(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_config('sso-session = "corp"\nregions = ["eu-west-1"]\n'
                        '[scan]\noutput = "yaml"\nbogus = 1\n')
    monkeypatch.setenv("EKSTRIO_PRESET", "aggressive")
    assert run(["config", "-o", "json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["file"] == str(path)
    rows = {(s["command"], s["key"]): (s["value"], s["source"]) for s in doc["settings"]}
    assert rows[("scan", "sso-session")] == ("corp", "file")
    assert rows[("scan", "regions")] == (["eu-west-1"], "file")
    assert rows[("scan", "output")] == ("yaml", "file [scan]")
    assert rows[("scan", "preset")] == ("aggressive", "env EKSTRIO_PRESET")
    assert rows[("scan", "tag")] == (None, "built-in")
    assert rows[("kubeconfig", "context-template")][1] == "built-in"
    assert doc["unknown_keys"] == ["[scan] bogus"]
    assert "[scan] bogus is not an option" in captured.err


def test_config_table_names_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["config", "-o", "table"]) == 0
    out = capsys.readouterr().out
    assert "KEY" in out
    assert "built-in" in out
    assert f"config file: {config_path(os.environ)} (not found)" in " ".join(out.split())


def test_a_config_folder_this_user_cannot_search_is_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ekstrio import user_config

    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(locked / "inner"))

    def refuse(self: Path) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "exists", refuse)
    assert not user_config.visible(config_path(os.environ))
    assert len(user_config.sources()) == 1  # EKSTRIO_* only
