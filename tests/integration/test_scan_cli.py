"""`ekstrio scan` as a user runs it: a real process against the local organisation."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from auth_fixtures import signed_in_by_start_url
from ekstrio.aws import token_cache
from ekstrio.model import SsoSession
from ekstrio.sim.testing import SimHandle
from sim_fixtures import sim_for_module

EKSTRIO = str(Path(sys.executable).with_name("ekstrio"))
JQ = shutil.which("jq")
REGIONS = ("eu-west-1", "us-east-1", "ap-south-2")


sim = sim_for_module(seed=11, accounts=8, regions=REGIONS, large_lists=0, portal_rps=0, eks_rps=0)
signed_in = signed_in_by_start_url()


def session_args(sim: SimHandle) -> list[str]:
    return ["--start-url", sim.start_url, "--sso-region", sim.sso_region]


def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EKSTRIO, *args], capture_output=True, text=True, timeout=120,
                          check=False, **kwargs)


def visible(sim: SimHandle) -> set[tuple[str, str, str]]:
    return {(a["accountId"], region, c["name"]) for a in sim.org["accounts"]
            if any(r["eksAccess"] for r in a["roles"])
            for region, clusters in a["clusters"].items() for c in clusters}


def piped(args: list[str], jq_args: list[str]) -> tuple[int, str, str]:
    """``ekstrio ARGS | jq JQ_ARGS``: (ekstrio's exit code, jq's stdout, ekstrio's stderr)."""
    assert JQ is not None
    scan = subprocess.Popen([EKSTRIO, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    jq = subprocess.run([JQ, *jq_args], stdin=scan.stdout, capture_output=True, text=True,
                        timeout=120, check=True)
    assert scan.stdout is not None
    scan.stdout.close()
    _, err = scan.communicate(timeout=120)
    return scan.wait(), jq.stdout, err.decode()


@pytest.mark.skipif(JQ is None, reason="jq is not installed")
def test_json_through_jq_counts_the_clusters(sim: SimHandle, signed_in: SsoSession) -> None:
    code, out, err = piped(["scan", "-q", *session_args(sim)], [".clusters | length"])
    assert code == 0, err
    assert int(out) == len(visible(sim))
    assert err == ""  # no progress or logs when stderr is not a terminal and all went well


@pytest.mark.skipif(JQ is None, reason="jq is not installed")
def test_ndjson_streams_through_jq(sim: SimHandle, signed_in: SsoSession) -> None:
    code, out, err = piped(["scan", "-o", "ndjson", *session_args(sim)], ["-c", "[.type, .name]"])
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[-1] == ["summary", None]
    names = {name for kind, name in rows if kind == "cluster"}
    assert names == {name for _, _, name in visible(sim)}
    assert {kind for kind, _ in rows} <= {"cluster", "skipped", "error", "summary"}


def test_json_document_schema_and_no_secrets(sim: SimHandle, signed_in: SsoSession) -> None:
    done = run("scan", "-o", "json", *session_args(sim))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == "ekstrio.scan/v2"
    assert set(doc) == {"schema", "sso", "partition", "started_at", "finished_at", "clusters",
                        "errors", "skipped", "completed", "summary"}
    assert doc["sso"] == {"session": None, "start_url": sim.start_url, "region": sim.sso_region}
    assert doc["summary"]["clusters"] == len(doc["clusters"]) == len(visible(sim))
    assert doc["summary"]["complete"] is True
    assert {(c["account_id"], c["region"], c["name"]) for c in doc["clusters"]} == visible(sim)
    # Neither the SSO token nor any role credential appears anywhere in the output.
    token = token_cache.load_sso_token(signed_in)
    assert token is not None
    assert token.access_token not in done.stdout
    for path in (Path.home() / ".aws" / "cli" / "cache").glob("*.json"):
        creds = json.loads(path.read_text())["Credentials"]
        assert creds["SecretAccessKey"] not in done.stdout
        assert creds["SessionToken"] not in done.stdout
        assert path.stat().st_mode & 0o777 == 0o600
    # The inventory was saved for `ekstrio kubeconfig` and `scan --cached`.
    saved = json.loads((Path.home() / ".cache" / "ekstrio" / "inventory.json").read_text())
    assert saved["clusters"] == doc["clusters"]


def test_cached_prints_the_inventory_without_calling_aws(
        sim: SimHandle, signed_in: SsoSession, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run("scan", "-o", "json", *session_args(sim))
    assert first.returncode == 0, first.stderr
    for name in sim.env:  # any AWS call would now fail
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    done = run("scan", "--cached", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["clusters"] == json.loads(first.stdout)["clusters"]


def test_warm_scan_reuses_cached_lists_and_credentials(
        sim: SimHandle, signed_in: SsoSession) -> None:
    cold = json.loads(run("scan", "-o", "json", "--refresh", *session_args(sim)).stdout)
    warm = json.loads(run("scan", "-o", "json", *session_args(sim)).stdout)
    assert warm["clusters"] == cold["clusters"]
    accounts = len(sim.org["accounts"])
    # Cold: ListAccounts + one ListAccountRoles and GetRoleCredentials per account at least.
    assert cold["summary"]["api_calls"] - warm["summary"]["api_calls"] >= 2 * accounts - 1


def test_diff_reports_changes_since_the_previous_scan(
        sim: SimHandle, signed_in: SsoSession) -> None:
    assert run("scan", "-o", "json", *session_args(sim)).returncode == 0
    inventory = Path.home() / ".cache" / "ekstrio" / "inventory.json"
    doc = json.loads(inventory.read_text())
    gone = doc["clusters"].pop(0)
    doc["clusters"][0]["version"] = "1.0"
    inventory.write_text(json.dumps(doc))
    done = run("scan", "-o", "json", "--diff", *session_args(sim))
    assert done.returncode == 0, done.stderr
    assert (f"+ {gone['account_name']} ({gone['account_id']}) {gone['region']} "
            f"{gone['name']}") in done.stderr
    assert ": version" in done.stderr


def test_no_sign_in_is_exit_3_with_what_to_run(sim: SimHandle,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in sim.env.items():
        monkeypatch.setenv(name, value)
    done = run("scan", "-o", "json", *session_args(sim))
    assert done.returncode == 3
    assert "ekstrio login" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("args", "words"), [
    (["--tag", "team"], "KEY=VALUE"),
    (["--preset", "nope"], "unknown preset 'nope'"),
    (["--regions", "mars-1"], "mars-1"),
    (["--name", "("], "regular expression"),
    (["--workers", "0"], "workers"),
    # Values that name nothing once scanned nothing and reported complete: true, exit 0.
    (["--regions", ""], "names no region"),
    (["--regions", ",,,"], "names no region"),
    (["--account", ""], "--account ''"),
    (["--rate", "1e-300"], "bad flag value --rate: portal_rps must"),
    (["--eks-rate", "nan"], "bad flag value --eks-rate: eks_rps must"),
])
def test_bad_flags_are_one_line_usage_errors(sim: SimHandle, signed_in: SsoSession,
                                             args: list[str], words: str) -> None:
    done = run("scan", *args, *session_args(sim))
    assert done.returncode == 2
    assert words in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_overall_timeout_prints_partial_results_exit_1(
        sim: SimHandle, signed_in: SsoSession) -> None:
    # EKS paced at 0.5 request/s per account-region: the scan cannot finish in 2 s.
    done = run("scan", "-o", "json", "--refresh", "--eks-rate", "0.5", "--timeout", "2",
               *session_args(sim))
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["summary"]["complete"] is False
    assert any(e["code"] == "ScanTimeout" for e in doc["errors"])
    timed_out = {(e["account_id"], e["region"]) for e in doc["errors"]}
    assert not timed_out & {(c["account_id"], c["region"]) for c in doc["completed"]}
    # One line on stderr says the document is partial, and how much is missing.
    accounts = {e["account_id"] for e in doc["errors"] if e["account_id"]}
    regions = {(e["account_id"], e["region"]) for e in doc["errors"] if e["region"]}
    assert done.stderr.splitlines() == [
        f"ekstrio: partial results (deadline reached): {len(accounts)} of "
        f"{doc['summary']['accounts']} accounts and {len(regions)} account-regions incomplete "
        f"(see the document's \"errors\")"]


def test_ctrl_c_prints_what_was_found_and_exits_130(
        sim: SimHandle, signed_in: SsoSession) -> None:
    proc = subprocess.Popen(
        [EKSTRIO, "scan", "-o", "ndjson", "--refresh", "--eks-rate", "0.3", *session_args(sim)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # something was found (or skipped) already
    assert json.loads(first)["type"] in {"cluster", "skipped", "error"}
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = [json.loads(line) for line in [first, *rest.splitlines()]]
    summary = lines[-1]
    assert summary["type"] == "summary"
    assert summary["complete"] is False
    assert any(r["type"] == "error" and r["code"] == "Interrupted" for r in lines)
    assert [line for line in err.splitlines() if "partial" in line] == [
        line for line in err.splitlines() if line.startswith("ekstrio: partial results "
                                                               "(interrupted): ")]
    assert "partial results (interrupted)" in err


def test_help_documents_every_flag() -> None:
    done = run("scan", "--help")
    assert done.returncode == 0
    for flag in ("--profile", "--sso-session", "--start-url", "--sso-region", "--regions",
                 "--role", "--all-roles", "--account", "--exclude-account", "--name", "--tag",
                 "--preset", "--workers", "--rate", "--eks-rate", "--call-timeout", "--timeout",
                 "--retries", "--output", "--query", "--quiet", "--verbose", "--diff",
                 "--cached",
                 "--refresh", "--no-save", "--inventory"):
        assert flag in done.stdout, flag
    assert "order of preference" in done.stdout


def test_verbose_logs_per_account_events_on_stderr_only(
        sim: SimHandle, signed_in: SsoSession) -> None:
    done = run("scan", "-v", "-o", "json", *session_args(sim))
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)  # stdout is still only the document
    lines = done.stderr.splitlines()
    done_lines = [line for line in lines if line.endswith(": done")]
    assert len(done_lines) == len(sim.org["accounts"])
    # UTC timestamp, level, logger; accounts named "name (id)".
    assert all(re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z INFO +ekstrio\.", line) for line in lines)
    assert all(re.search(r"account \S.* \(\d{12}\): done$", line) for line in done_lines)
    assert "HTTP Request" not in done.stderr  # no per-request noise from httpx2


def test_ndjson_into_a_reader_that_stops_early(sim: SimHandle, signed_in: SsoSession) -> None:
    # `ekstrio scan -o ndjson | head -1`: no traceback, the scan stops, status 141.
    scan = subprocess.Popen([EKSTRIO, "scan", "-o", "ndjson", "--refresh", "--eks-rate", "2",
                             *session_args(sim)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert scan.stdout is not None
    first = scan.stdout.readline()
    scan.stdout.close()  # the reader goes away
    _, err = scan.communicate(timeout=60)
    assert json.loads(first)["type"] in {"cluster", "skipped", "error"}
    assert scan.returncode == 141
    assert err.decode() == ""


def test_refused_token_is_exit_3_naming_the_session(sim: SimHandle, signed_in: SsoSession) -> None:
    # A token the portal no longer accepts (revoked by a sign-out elsewhere) is not a failure
    # of one account: the scan stops and says exactly which sign-in to run again.
    from ekstrio.aws import token_cache

    token = token_cache.load_sso_token(signed_in)
    assert token is not None
    admin_status = subprocess.run(
        [sys.executable, "-c", "import sys, httpx2; r = httpx2.post(sys.argv[1] + '/logout', "
         "headers={'x-amz-sso_bearer_token': sys.argv[2]}); print(r.status_code)",
         sim.endpoint, token.access_token], capture_output=True, text=True, check=True)
    assert admin_status.stdout.strip() == "200"
    done = run("scan", "-o", "json", *session_args(sim))
    assert done.returncode == 3, done.stderr
    assert f"ekstrio login --start-url {sim.start_url} --sso-region {sim.sso_region}" \
        in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert token.access_token not in done.stderr + done.stdout


def test_an_unwritable_credential_cache_does_not_lose_the_scan(
        sim: SimHandle, signed_in: SsoSession) -> None:
    # A regular file where the cache folder should be: every credential write fails.
    blocker = Path.home() / ".aws" / "cli" / "cache"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")
    done = run("scan", "-o", "json", "--refresh", *session_args(sim))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert {(c["account_id"], c["region"], c["name"]) for c in doc["clusters"]} == visible(sim)
    assert blocker.read_text() == "not a folder"
