"""AWS config profiles: the owned block, names, prune, sso-session, foreign sections untouched."""

from __future__ import annotations

import configparser
import json
from pathlib import Path
from typing import Any

import pytest

from ekstrio import cli
from ekstrio.errors import ConfigError, UsageError
from ekstrio.kube_targets import Inventory, parse_inventory
from ekstrio.profiles import (
    BEGIN,
    END,
    SessionSection,
    profile_names_for,
    reconcile_profiles,
)

SSO = {"session": "corp", "start_url": "https://d-1.awsapps.com/start", "region": "us-east-1"}
USER_TEXT = """\
[default]
region = eu-west-1

# my own profile, hand-written
[profile mine]
sso_session = corp
sso_account_id = 999999999999
sso_role_name = Admin
"""


A1, A2, A3 = "111111111111", "222222222222", "333333333333"


def _cluster(account: str, name: str, roles: list[str], cluster: str = "c") -> dict[str, Any]:
    return {"account_id": account, "account_name": name, "roles": roles, "region": "eu-west-1",
            "name": cluster, "arn": "x", "endpoint": "https://e", "certificate_authority_data": "d",
            "status": "ACTIVE"}


def inv(*clusters: dict[str, Any], completed: list[tuple[str, str]] | None = None,
        sso: dict[str, Any] | None = SSO) -> Inventory:
    return parse_inventory({"schema": "ekstrio.scan/v1", "sso": sso, "clusters": list(clusters),
                            "completed": [{"account_id": a, "region": r}
                                          for a, r in completed or []]})


def parse(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()  # what botocore uses; refuses duplicate sections
    parser.read_string(text)
    return parser


def test_block_appended_after_user_sections_which_stay_byte_for_byte() -> None:
    plan = reconcile_profiles(USER_TEXT, inv(_cluster("111122223333", "prod", ["Admin", "RO"])))
    assert plan.text.startswith(USER_TEXT + "\n" + BEGIN + "\n")
    assert plan.text.endswith(END + "\n")
    cfg = parse(plan.text)
    assert dict(cfg["profile prod.Admin"]) == {
        "sso_session": "corp", "sso_account_id": "111122223333", "sso_role_name": "Admin",
        "region": "us-east-1"}
    assert cfg["profile prod.RO"]["sso_role_name"] == "RO"
    assert plan.added == ("prod.Admin", "prod.RO")


def test_second_run_is_identical_and_block_is_replaced_in_place() -> None:
    inventory = inv(_cluster("111122223333", "prod", ["Admin"]))
    first = reconcile_profiles(USER_TEXT, inventory).text
    tail = "\n[profile after]\nregion = x\n"
    again = reconcile_profiles(first + tail, inventory)
    assert again.text == first + tail
    assert again.added == again.updated == again.removed == ()


def test_same_account_name_and_foreign_collisions() -> None:
    inventory = inv(_cluster("111122223333", "prod", ["Admin"]),
                    _cluster("444455556666", "prod", ["Admin"]),
                    _cluster("777788889999", "mine", ["x"]))
    text = reconcile_profiles(USER_TEXT.replace("[profile mine]", "[profile mine.x]"),
                              inventory).text
    names = set(parse(text).sections())
    assert {"profile prod.Admin@111122223333", "profile prod.Admin@444455556666",
            "profile mine.x", "profile mine.x-2"} <= names


def test_prune_only_for_accounts_the_scan_completed() -> None:
    both = inv(_cluster("111122223333", "prod", ["Admin", "RO"]),
               _cluster("444455556666", "dev", ["Admin"]))
    text = reconcile_profiles(None, both).text
    later = inv(_cluster("111122223333", "prod", ["Admin"]),
                completed=[("111122223333", "eu-west-1")])
    kept = reconcile_profiles(text, later)
    assert kept.removed == ()
    assert set(kept.kept) == {"prod.RO", "dev.Admin"}
    pruned = reconcile_profiles(text, later, prune=True)
    assert pruned.removed == ("prod.RO",)
    assert pruned.kept == ("dev.Admin",)
    assert set(parse(pruned.text).sections()) == {"profile prod.Admin", "profile dev.Admin"}


def test_sso_session_section_from_the_command_line() -> None:
    section = SessionSection("corp", "https://d-1.awsapps.com/start", "us-east-1")
    text = reconcile_profiles(None, inv(_cluster(A1, "a", ["R"])), session_section=section).text
    cfg = parse(text)
    assert dict(cfg["sso-session corp"]) == {
        "sso_start_url": "https://d-1.awsapps.com/start", "sso_region": "us-east-1",
        "sso_registration_scopes": "sso:account:access"}
    # Kept on later runs without the flag; never duplicated if the user has their own.
    assert "sso-session corp" in parse(reconcile_profiles(text, inv(
        _cluster(A1, "a", ["R"]))).text).sections()
    own = "[sso-session corp]\nsso_start_url = https://mine\nsso_region = eu-west-1\n"
    parse(reconcile_profiles(own, inv(_cluster(A1, "a", ["R"])), session_section=section).text)


def test_legacy_start_url_profiles() -> None:
    text = reconcile_profiles(None, inv(_cluster(A1, "a", ["R"]), sso={
        "session": None, "start_url": "https://x/start", "region": "eu-central-1"})).text
    assert dict(parse(text)["profile a.R"]) == {
        "sso_start_url": "https://x/start", "sso_region": "eu-central-1",
        "sso_account_id": A1, "sso_role_name": "R", "region": "eu-central-1"}


@pytest.mark.parametrize("text", [f"{BEGIN}\n", f"{END}\n{BEGIN}\n",
                                  f"{BEGIN}\n{END}\n{BEGIN}\n{END}\n"])
def test_damaged_markers_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="markers"):
        reconcile_profiles(text, inv(_cluster(A1, "a", ["R"])))


def test_template_placeholders_are_checked() -> None:
    with pytest.raises(UsageError, match="profile template"):
        reconcile_profiles(None, inv(_cluster(A1, "a", ["R"])), template="{cluster}")


def test_profile_names_match_what_profiles_writes() -> None:
    inventory = inv(_cluster(A1, "a", ["R"]))
    text = USER_TEXT.replace("[profile mine]", "[profile a.R]")
    names = profile_names_for(inventory, config_text=text)
    assert names == {(A1, "R"): "a.R-2"}
    assert "profile a.R-2" in parse(reconcile_profiles(text, inventory).text).sections()


def test_command_writes_aws_config_with_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "aws" / "config"
    config.parent.mkdir()
    config.write_text(USER_TEXT)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    source = tmp_path / "inv.json"
    source.write_text(json.dumps({"schema": "ekstrio.scan/v1", "sso": SSO,
                                  "clusters": [_cluster(A1, "a", ["R"])]}))
    assert cli.run(["profiles", "--from", str(source), "--dry-run"]) == 0
    assert "+[profile a.R]" in capsys.readouterr().out
    assert config.read_text() == USER_TEXT
    assert cli.run(["profiles", "--from", str(source), "--write-sso-session", "corp",
                    "--write-start-url", "https://d-1.awsapps.com/start",
                    "--write-sso-region", "us-east-1"]) == 0
    assert (tmp_path / "aws" / "config.ekstrio.bak").read_text() == USER_TEXT
    assert {"sso-session corp", "profile a.R", "profile mine"} <= set(
        parse(config.read_text()).sections())
    assert "warning" not in capsys.readouterr().err
    assert cli.run(["profiles", "--from", str(source), "--write-start-url", "https://x"]) == 2
    assert capsys.readouterr().err == ("ekstrio: error: --write-start-url and --write-sso-region "
                                       "go with --write-sso-session NAME\n")


def test_write_sso_session_and_its_old_spelling(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    source = tmp_path / "inv.json"
    source.write_text(json.dumps({"schema": "ekstrio.scan/v1", "sso": SSO,
                                  "clusters": [_cluster(A1, "a", ["R"])]}))
    assert cli.run(["profiles", "--from", str(source), "--write-sso-session", "new"]) == 0
    assert "sso-session new" in parse(config.read_text()).sections()
    assert capsys.readouterr().err.count("warning") == 0
    assert cli.run(["profiles", "--from", str(source), "--sso-session=old"]) == 0
    assert "sso-session old" in parse(config.read_text()).sections()
    err = capsys.readouterr().err
    assert "`profiles --sso-session` is now spelled --write-sso-session" in err
    # EKSTRIO_SSO_SESSION (and config.toml's sso-session) pick the session of the other
    # commands: never a section for `profiles` to write.
    monkeypatch.setenv("EKSTRIO_SSO_SESSION", "picked")
    assert cli.run(["profiles", "--from", str(source)]) == 0
    assert "sso-session picked" not in parse(config.read_text()).sections()


def test_old_session_flag_spellings_write_the_section_with_one_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    source = tmp_path / "inv.json"
    source.write_text(json.dumps({"schema": "ekstrio.scan/v1", "sso": SSO,
                                  "clusters": [_cluster(A1, "a", ["R"])]}))
    assert cli.run(["profiles", "--from", str(source), "--sso-session", "corp", "--start-url",
                    "https://other.awsapps.com/start", "--sso-region=eu-north-1"]) == 0
    section = parse(config.read_text())["sso-session corp"]
    assert (section["sso_start_url"], section["sso_region"]) == (
        "https://other.awsapps.com/start", "eu-north-1")
    assert capsys.readouterr().err.splitlines()[0] == (
        "ekstrio: warning: `profiles --sso-session` is now spelled --write-sso-session; "
        "`profiles --start-url` is now spelled --write-start-url; "
        "`profiles --sso-region` is now spelled --write-sso-region; "
        "the old spellings will go away")
    assert cli.run(["profiles", "--from", str(source), "--start-url", "https://x"]) == 2
    assert capsys.readouterr().err == (
        "ekstrio: warning: `profiles --start-url` is now spelled --write-start-url; the old "
        "spelling will go away\n"
        "ekstrio: error: --write-start-url and --write-sso-region go with "
        "--write-sso-session NAME\n")


@pytest.mark.parametrize("where", ["top level", "[profiles]", "env"])
def test_session_defaults_of_the_other_commands_leave_plain_profiles_alone(
        where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        isolated_home: Path) -> None:
    # start-url and sso-region in config.toml or EKSTRIO_* pick the session of login, scan
    # and kubeconfig; `profiles` has no option of those names, so they neither refuse a plain
    # `ekstrio profiles` nor write an [sso-session] section.
    config = tmp_path / "config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    keys = 'start-url = "https://d-9.awsapps.com/start"\nsso-region = "eu-west-1"\n'
    if where == "env":
        monkeypatch.setenv("EKSTRIO_START_URL", "https://d-9.awsapps.com/start")
        monkeypatch.setenv("EKSTRIO_SSO_REGION", "eu-west-1")
    else:
        toml = isolated_home / ".config" / "ekstrio" / "config.toml"
        toml.parent.mkdir(parents=True)
        toml.write_text(keys if where == "top level" else "[profiles]\n" + keys)
    source = tmp_path / "inv.json"
    source.write_text(json.dumps({"schema": "ekstrio.scan/v1", "sso": SSO,
                                  "clusters": [_cluster(A1, "a", ["R"])]}))
    assert cli.run(["profiles", "--from", str(source)]) == 0
    written = parse(config.read_text())
    assert written.sections() == ["profile a.R"]
    assert written["profile a.R"]["sso_session"] == "corp"


def test_accounts_without_clusters_come_from_the_scans_list_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ekstrio.inventory import save_lists
    from ekstrio.model import Account, SsoSession

    session = SsoSession(start_url=SSO["start_url"], region=SSO["region"], name="corp")
    save_lists(session, [Account(A1, "a"), Account(A2, "empty")],
               {A1: ["R"], A2: ["Viewer", "Admin"]},
               now=0.0)  # old lists still count
    config = tmp_path / "config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    source = tmp_path / "inv.json"
    creating = {**_cluster(A3, "c", ["Ops"]), "endpoint": None, "status": "CREATING"}
    source.write_text(json.dumps({"schema": "ekstrio.scan/v1", "sso": SSO,
                                  "clusters": [_cluster(A1, "a", ["R"]), creating]}))
    assert cli.run(["profiles", "--from", str(source)]) == 0
    assert set(parse(config.read_text()).sections()) == {
        "profile a.R", "profile empty.Admin", "profile empty.Viewer", "profile c.Ops"}


def test_kept_profiles_keep_their_names_and_exec_aws_uses_the_written_names() -> None:
    text = reconcile_profiles(None, inv(_cluster(A1, "prod", ["Admin"]))).text
    # Account 1 failed this time; a new account 2, also named "prod", appears.
    later = inv(_cluster(A2, "prod", ["Admin"]), completed=[(A2, "eu-west-1")])
    plan = reconcile_profiles(text, later, prune=True)
    assert plan.kept == ("prod.Admin",)
    cfg = parse(plan.text)
    assert cfg["profile prod.Admin"]["sso_account_id"] == A1
    assert cfg["profile prod.Admin-2"]["sso_account_id"] == A2
    assert profile_names_for(later, config_text=plan.text) == {(A2, "Admin"): "prod.Admin-2"}


@pytest.mark.parametrize(("env", "flag", "expected"), [
    ({}, [], "us-east-1"),  # the SSO region of the inventory
    ({"AWS_DEFAULT_REGION": "eu-west-1"}, [], "eu-west-1"),
    ({"AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "ap-south-1"}, [], "ap-south-1"),
    ({"AWS_REGION": "ap-south-1"}, ["--region", "ca-central-1"], "ca-central-1"),
])
def test_default_region_of_the_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        env: dict[str, str], flag: list[str],
                                        expected: str) -> None:
    config = tmp_path / "config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    source = tmp_path / "inv.json"
    source.write_text(json.dumps({"schema": "ekstrio.scan/v1", "sso": SSO,
                                  "clusters": [_cluster(A1, "a", ["R"])]}))
    assert cli.run(["profiles", "--from", str(source), *flag]) == 0
    assert parse(config.read_text())["profile a.R"]["region"] == expected
