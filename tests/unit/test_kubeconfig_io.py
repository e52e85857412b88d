"""The kubeconfig command in-process: file choice, backup, mode, idempotence, dry run, bad YAML."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from ekstrio import cli, kubeconfig_io
from ekstrio.commands.kubeconfig import ekstrio_command
from ekstrio.errors import ConfigError

INVENTORY = {
    "schema": "ekstrio.scan/v1",
    "sso": {"session": "corp", "start_url": "https://d-1.awsapps.com/start",
            "region": "us-east-1"},
    "partition": "aws",
    "clusters": [
        {"account_id": "111122223333", "account_name": "prod", "roles": ["Admin"],
         "region": "eu-west-1", "name": "web",
         "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/web",
         "endpoint": "https://A.eks.amazonaws.com", "certificate_authority_data": "LS0t",
         "status": "ACTIVE"},
        {"account_id": "111122223333", "account_name": "prod", "roles": ["Admin"],
         "region": "eu-west-1", "name": "new", "arn": "x", "endpoint": None,
         "certificate_authority_data": None, "status": "CREATING"},
    ],
    "errors": [], "skipped": [], "completed": [], "summary": {},
}
FOREIGN_TEXT = """\
# a comment from the user
apiVersion: v1
kind: Config
clusters:
- name: kind
  cluster: {server: 'https://127.0.0.1:6443'}
users:
- name: kind
  user: {token: abc}
contexts:
- name: kind
  context: {cluster: kind, user: kind}
current-context: kind
"""


@pytest.fixture
def inv_file(tmp_path: Path) -> Path:
    path = tmp_path / "inv.json"
    path.write_text(json.dumps(INVENTORY))
    return path


def test_kubeconfig_path_precedence(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "KUBECONFIG": f"{os.pathsep}/a/first{os.pathsep}/b/second"}
    assert kubeconfig_io.kubeconfig_path(Path("/x/explicit"), env) == Path("/x/explicit")
    assert kubeconfig_io.kubeconfig_path(None, env) == Path("/a/first")
    assert kubeconfig_io.kubeconfig_path(None, {"HOME": str(tmp_path)}) == \
        tmp_path / ".kube" / "config"


def test_new_file_is_0600_and_second_run_is_byte_identical(
        inv_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kc = tmp_path / "kube" / "config"
    assert cli.run(["kubeconfig", "--from", str(inv_file), "--kubeconfig", str(kc)]) == 0
    err = capsys.readouterr().err
    assert "skipped 111122223333/eu-west-1/new: no endpoint (status CREATING)" in err
    assert "1 added" in err
    assert stat.S_IMODE(kc.stat().st_mode) == 0o600
    first, mtime = kc.read_bytes(), kc.stat().st_mtime_ns
    assert cli.run(["kubeconfig", "--from", str(inv_file), "--kubeconfig", str(kc)]) == 0
    assert kc.read_bytes() == first
    assert kc.stat().st_mtime_ns == mtime  # not even rewritten
    assert not (tmp_path / "kube" / "config.ekstrio.bak").exists()


def test_existing_file_keeps_mode_foreign_entries_and_gets_a_backup(
        inv_file: Path, tmp_path: Path) -> None:
    kc = tmp_path / "config"
    kc.write_text(FOREIGN_TEXT)
    kc.chmod(0o640)
    assert cli.run(["kubeconfig", "--from", str(inv_file), "--kubeconfig", str(kc)]) == 0
    assert stat.S_IMODE(kc.stat().st_mode) == 0o640
    backup = tmp_path / "config.ekstrio.bak"
    assert backup.read_text() == FOREIGN_TEXT
    doc = yaml.safe_load(kc.read_text())
    assert [c["name"] for c in doc["contexts"]] == ["kind", "prod/web"]
    assert doc["users"][0] == {"name": "kind", "user": {"token": "abc"}}
    assert doc["current-context"] == "kind"


def test_set_current_and_stdin(inv_file: Path, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    kc = tmp_path / "config"
    monkeypatch.setenv("KUBECONFIG", str(kc))
    monkeypatch.setattr("sys.stdin", io.StringIO(inv_file.read_text()))
    assert cli.run(["kubeconfig", "--from", "-", "--set-current", "prod/web"]) == 0
    assert yaml.safe_load(kc.read_text())["current-context"] == "prod/web"


def test_dry_run_prints_a_diff_and_writes_nothing(
        inv_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kc = tmp_path / "config"
    kc.write_text(FOREIGN_TEXT)
    assert cli.run(["kubeconfig", "--from", str(inv_file), "--kubeconfig", str(kc),
                    "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"--- {kc}\n+++ {kc} (ekstrio)\n")
    assert "+- name: prod/web\n" in out
    assert kc.read_text() == FOREIGN_TEXT


def test_invalid_yaml_is_one_line_exit_2_and_untouched(
        inv_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kc = tmp_path / "config"
    kc.write_text("clusters: [\n  - {name: x\n")
    assert cli.run(["kubeconfig", "--from", str(inv_file), "--kubeconfig", str(kc)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "is not valid YAML" in err
    assert kc.read_text() == "clusters: [\n  - {name: x\n"
    assert not (tmp_path / "config.ekstrio.bak").exists()


def test_missing_inventory_scans_first_and_a_scan_error_is_one_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    kc = tmp_path / "config"
    assert cli.run(["kubeconfig", "--kubeconfig", str(kc)]) == 2
    first, error = capsys.readouterr().err.splitlines()
    assert first == "ekstrio kubeconfig: scanning first"
    assert error.startswith("ekstrio: error: no IAM Identity Center session")
    assert not kc.exists()


def test_missing_from_file_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["kubeconfig", "--from", "/nonexistent/scan.json"]) == 2
    assert "--from /nonexistent/scan.json: no such file" in capsys.readouterr().err


def test_saved_inventory_is_the_default_source(isolated_home: Path, tmp_path: Path) -> None:
    saved = isolated_home / ".cache" / "ekstrio" / "inventory.json"
    saved.parent.mkdir(parents=True)
    saved.write_text(json.dumps(INVENTORY))
    kc = tmp_path / "config"
    assert cli.run(["kubeconfig", "--kubeconfig", str(kc)]) == 0
    assert "prod/web" in kc.read_text()


def test_bad_template_is_a_usage_error(inv_file: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["kubeconfig", "--from", str(inv_file), "--context-template",
                    "{arn}"]) == 2
    assert "unknown placeholder {arn}" in capsys.readouterr().err


def test_rewrite_leaves_file_alone_when_transform_fails(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("old")

    def boom(old: str | None) -> str:
        raise ConfigError("nope")

    with pytest.raises(ConfigError):
        kubeconfig_io.rewrite(path, boom)
    assert path.read_text() == "old"


def test_ekstrio_command_prefers_the_running_script(tmp_path: Path) -> None:
    script = tmp_path / "venv" / "ekstrio"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    link = tmp_path / "bin" / "ekstrio"
    link.parent.mkdir()
    link.symlink_to(script)
    assert ekstrio_command(str(script)) == str(script)
    assert ekstrio_command(str(link)) == str(link)  # not resolved: survives upgrades
    assert ekstrio_command("/nonexistent/python").endswith("ekstrio")
