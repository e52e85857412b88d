"""Benchmark: `ekstrio token` vs `aws eks get-token`, as kubectl runs them (one process per call).

Not a test. Starts the local AWS organisation (ekstrio's sim) in this process, signs in by
writing an SSO token to a temporary ~/.aws/sso/cache, and times N runs of each scenario:

* ekstrio token, cached         the ExecCredential cache answers (kubectl's usual case)
* ekstrio token, cold           no cached token; role credentials from the role-credential cache
* ekstrio token, cold + portal  no cached token, no role credentials: GetRoleCredentials first
* aws eks get-token (SSO)       an SSO profile (AWS CLI v1 keeps SSO role credentials in memory
                                only, so every call asks the portal)
* aws eks get-token (keys)      static keys in the environment: start-up + presign, no network

Every token is checked by the sim's verifier once per scenario. Usage::

    python -m venv /tmp/awscli-venv && /tmp/awscli-venv/bin/pip install awscli
    python bench/token_bench.py --runs 20 --aws /tmp/awscli-venv/bin/aws
"""

# ruff: noqa: T201, S603, S108
# (a benchmark prints its table, runs the commands it times, and defaults to the venv the
# instructions above create)
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ekstrio.aws import role_cache, token_cache
from ekstrio.model import SsoSession
from ekstrio.sim.options import SimOptions
from ekstrio.sim.testing import SimHandle, run_sim_in_thread


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def time_runs(cmd: list[str], env: dict[str, str], runs: int,
              before: Callable[[], None]) -> tuple[list[float], str]:
    times: list[float] = []
    out = ""
    for _ in range(runs):
        before()
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        times.append((time.perf_counter() - start) * 1000)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[:3])} failed: {done.stderr.strip()}")
        out = done.stdout
    return times, out


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu or platform.processor()}, {os.cpu_count()} cores, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--aws", default=shutil.which("aws") or "/tmp/awscli-venv/bin/aws")
    parser.add_argument("--ekstrio", default=str(Path(sys.executable).with_name("ekstrio")))
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="ekstrio-token-bench-"))
    options = SimOptions(accounts=3, regions=("eu-west-1",), clusters=3, large_lists=0,
                         portal_rps=0, eks_rps=0)
    with run_sim_in_thread(options) as sim:
        account, role, cluster = pick(sim)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KUBE"))}
        env.update({"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
                    "AWS_ENDPOINT_URL_SSO": sim.endpoint, "NO_PROXY": "127.0.0.1",
                    "AWS_EC2_METADATA_DISABLED": "true"})
        os.environ["HOME"] = str(home)  # token_cache writes under ~ of this process
        session = SsoSession(start_url=sim.start_url, region=sim.sso_region)
        token_cache.save_sso_token(session, token_cache.CachedToken(
            access_token=sim.issue_token(), expires_at=datetime.now(UTC) + timedelta(hours=4),
            region=sim.sso_region, start_url=sim.start_url))
        (home / ".aws").mkdir(exist_ok=True)
        (home / ".aws" / "config").write_text(
            f"[profile bench]\nsso_start_url = {sim.start_url}\nsso_region = {sim.sso_region}\n"
            f"sso_account_id = {account}\nsso_role_name = {role}\nregion = eu-west-1\n")
        tokens_dir = home / ".cache" / "ekstrio" / "tokens"
        roles_dir = home / ".aws" / "cli" / "cache"

        def clear_tokens() -> None:
            shutil.rmtree(tokens_dir, ignore_errors=True)

        def clear_all() -> None:
            clear_tokens()
            shutil.rmtree(roles_dir, ignore_errors=True)

        ekstrio = [args.ekstrio, "token", "--cluster", cluster, "--region", "eu-west-1",
                   "--account", account, "--role", role, "--start-url", sim.start_url,
                   "--sso-region", sim.sso_region]
        aws = [args.aws, "--region", "eu-west-1", "eks", "get-token", "--cluster-name", cluster,
               "--output", "json"]
        # Warm the OS caches and the role-credential cache once.
        subprocess.run(ekstrio, env=env, capture_output=True, check=True)
        creds = role_cache.load_role_credentials(session, account, role)
        if creds is None:
            raise SystemExit("ekstrio token did not cache role credentials")
        keys_env = {**env, "AWS_ACCESS_KEY_ID": creds.access_key_id,
                    "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
                    "AWS_SESSION_TOKEN": creds.session_token}
        scenarios: list[tuple[str, list[str], dict[str, str], Callable[[], None]]] = [
            ("ekstrio token, cached", ekstrio, env, lambda: None),
            ("ekstrio token, cold (role creds cached)", ekstrio, env, clear_tokens),
            ("ekstrio token, cold + portal call", ekstrio, env, clear_all),
            ("aws eks get-token (SSO profile)", aws, {**env, "AWS_PROFILE": "bench"},
             lambda: None),
            ("aws eks get-token (static keys)", aws, keys_env, lambda: None),
        ]
        if not Path(args.aws).exists():
            scenarios = scenarios[:3]
            print(f"(no AWS CLI at {args.aws}: aws rows skipped)", file=sys.stderr)
        # Restore role credentials for the first scenarios.
        subprocess.run(ekstrio, env=env, capture_output=True, check=True)
        rows = []
        for name, cmd, scenario_env, before in scenarios:
            times, out = time_runs(cmd, scenario_env, args.runs, before)
            token = json.loads(out)["status"]["token"]
            verdict = sim.verify_eks_token(token, cluster)
            if not verdict.get("ok"):
                raise SystemExit(f"{name}: the sim rejected the token: {verdict}")
            rows.append((name, statistics.median(times), percentile(times, 0.9)))
    shutil.rmtree(home, ignore_errors=True)

    baseline = next((r[1] for r in rows if r[0].startswith("aws eks get-token (SSO")), None)
    print(f"machine: {machine()}")
    print(f"runs per scenario: {args.runs}; times are wall-clock per process, in ms")
    print(f"{'scenario':44} {'median':>8} {'p90':>8} {'vs aws (SSO)':>13}")
    for name, median, p90 in rows:
        ratio = f"{baseline / median:.1f}x" if baseline else "-"
        print(f"{name:44} {median:8.1f} {p90:8.1f} {ratio:>13}")
    return 0


def pick(sim: SimHandle) -> tuple[str, str, str]:
    for account in sim.org["accounts"]:
        role = sim.eks_role(account["accountId"])
        for clusters in account["clusters"].values():
            if role and clusters:
                return account["accountId"], role, clusters[0]["name"]
    raise SystemExit("the sim organisation has no reachable cluster")


if __name__ == "__main__":
    sys.exit(main())
