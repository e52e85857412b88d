"""Benchmark: `ekstrio scan` against its lower bound and against the usual alternatives.

Not a test (nothing here is collected by pytest). One command::

    python bench/scan_bench.py [--size medium|large|all] [--quick] [--no-docs]

For each organisation size it starts the local AWS organisation as a SEPARATE process
(``ekstrio sim serve --port 0``, so the emulator's CPU is not charged to the client), writes its
ground truth with ``--dump-org``, and runs, each as its own child process:

1. ``ekstrio scan`` with each shipped preset, cold (a fresh HOME: no role credentials, no
   account/role lists cached) and warm (a second run in the same HOME);
2. the sequential baseline, 3. the old design (10 workers, one global 100 ms gap),
4. botocore clients in a ThreadPoolExecutor(10) (see bench/baselines.py).

Per run: wall time, the lower bound (bench/lower_bound.py) and the ratio to it, HTTP calls and
429s (counted by the sim), retries, the child's CPU seconds and peak RSS (``os.wait4``), and
whether every cluster of the ground truth was found. Results go to ``bench/results/<size>.json``
and ``docs/benchmarks.md`` (regenerated; the hand-written analysis comes from
``bench/benchmarks_notes.md`` and the token figures from ``docs/benchmarks-token.md``).

On the large org the slow baselines scan only the first N accounts (``--limit``) and the table
shows the measured time scaled to all accounts, marked "extrapolated".
"""
# ruff: noqa: T201, S603, S101 - a benchmark: it prints its table, runs its own children and asserts its pipes
# ruff: noqa: S607 - it runs git and tar from PATH, as the developer who starts it would

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from lower_bound import Bound, ground_truth, lower_bound  # noqa: E402

from ekstrio.aws import token_cache  # noqa: E402
from ekstrio.filters import order_roles  # noqa: E402
from ekstrio.model import SsoSession  # noqa: E402
from ekstrio.sim.options import OPT_IN_REGIONS, eks_regions  # noqa: E402
from ekstrio.sim.testing import admin_call  # noqa: E402

PY = sys.executable
# The 17 regions AWS enables by default (the aws partition's EKS regions minus the opt-in ones).
REGIONS = tuple(r for r in eks_regions("aws") if r not in OPT_IN_REGIONS)
# Every EKS region of the partition (34): what `ekstrio scan` covers by default. The sim turns
# each opt-in region off in about half the accounts, as in a real org.
ALL_REGIONS = tuple(eks_regions("aws"))
# "50 ms ± 10 ms": the sim adds latency + uniform(0, jitter), so 40 + [0, 20] has mean 50.
LATENCY_MS, JITTER_MS = 40.0, 20.0
PORTAL_RPS, EKS_RPS = 20.0, 10.0
SEED = 1


@dataclass(frozen=True)
class OrgSize:
    name: str
    accounts: int
    clusters: int
    presets: tuple[str, ...]  # ekstrio presets run on this org
    # ekstrio runs with flags over a preset: the levers the analysis talks about
    variants: tuple[tuple[str, ...], ...]
    baseline_limit: dict[str, int | None]  # accounts scanned by each baseline (None: all)
    all_regions: bool = False  # every EKS region, scanned without --regions (the default scan)
    # ekstrio runs with environment variables over the default preset: (label, {name: value})
    env_variants: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    # After the default preset's warm run, a third in the same HOME with --refresh: every
    # portal call and every region asked again (the cold scan's calls, so its bound), with the
    # busiest-first hints the earlier scans saved. What a scan meets once its role credentials
    # and lists have expired (the hints last 30 days); not the new user's cold scan.
    refresh_row: bool = False

    @property
    def regions(self) -> tuple[str, ...]:
        return ALL_REGIONS if self.all_regions else REGIONS


SIZES = {
    "medium": OrgSize("medium", 100, 250, ("default", "conservative", "aggressive"),
                      (("default", "--workers", "16"),),
                      {"sequential": None, "old": None, "botocore": None}),
    # conservative paces the portal at 5 rps (~4,100 portal calls: ~14 min) and aggressive asks
    # the portal for 50 rps where the sim allows 20: both left out to keep the run in minutes.
    "large": OrgSize("large", 2000, 5000, ("default",),
                     (("default", "--workers", "16"),),
                     {"sequential": 20, "old": 20, "botocore": 100}),
    # The default scan (every EKS region of the partition), as a new user runs it; and the
    # same with httpx2's own transport under the client instead of the lean one, side by side.
    "medium-all": OrgSize("medium-all", 100, 250, ("default",), (), {}, all_regions=True,
                          refresh_row=True,
                          env_variants=(("httpx2 transport",
                                         (("EKSTRIO_HTTP_TRANSPORT", "httpx2"),)),
                                        )),
    "large-all": OrgSize("large-all", 2000, 5000, ("default",), (), {}, all_regions=True),
}
QUICK = {
    "medium": OrgSize("medium", 100, 250, ("default",), (),
                      {"sequential": 10, "old": 10, "botocore": 20}),
    "large": OrgSize("large", 2000, 5000, ("default",), (),
                     {"sequential": 5, "old": 5, "botocore": 20}),
    "medium-all": SIZES["medium-all"],
    "large-all": SIZES["large-all"],
}


@dataclass
class Run:
    org: str
    name: str
    wall_s: float
    bound_s: float
    calls: int  # HTTP requests the sim answered (portal + EKS + OIDC + STS)
    throttled: int  # 429s the sim sent
    retries: int
    cpu_s: float
    rss_mb: float
    found: int
    expected: int
    missing: int
    exit_code: int
    sim_cpu_s: float
    limit: int | None = None  # accounts scanned, when a subset
    scale: float = 1.0  # wall time multiplier to all accounts (subset runs)
    summary_calls: int | None = None  # ekstrio's own count (summary.api_calls)
    summary_throttles: int | None = None
    errors: list[str] = field(default_factory=list)
    child: dict[str, float] = field(default_factory=dict)  # LAST_CHILD of this run

    @property
    def wall_full_s(self) -> float:
        return self.wall_s * self.scale

    @property
    def ratio(self) -> float:
        return self.wall_full_s / self.bound_s

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * self.cpu_s / max(1, self.calls)

    @property
    def cpu_per_wall(self) -> float:
        """Client CPU ÷ wall: near 1 (or 2 on 2 cores) = the client's CPU is the limit."""
        return self.cpu_s / max(1e-9, self.wall_s)

    @property
    def all_found(self) -> bool:
        return self.missing == 0 and self.exit_code == 0


# ------------------------------------------------------------------------------ processes
LAST_CHILD: dict[str, float] = {}  # extra figures of the last child: context switches, load


def loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def run_child(cmd: list[str], env: dict[str, str], stdout: Path) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS MB, exit code) of one child process, measured alone.

    Also leaves in LAST_CHILD its involuntary context switches (a sign the CPU was contended)
    and the 1-minute load average before and after it.
    """
    LAST_CHILD.clear()
    LAST_CHILD["load_before"] = loadavg()
    # The child's own peak RSS (see bench/hwm.py): Python children run under the wrapper.
    hwm = stdout.with_suffix(".hwm")
    hwm.unlink(missing_ok=True)
    if cmd[0] == PY and cmd[1:2] != ["-c"]:
        cmd = [PY, str(HERE / "hwm.py"), *cmd[1:]]
        env = {**env, "BENCH_HWM_FILE": str(hwm)}
    with stdout.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = proc.stderr.read()  # the child ends when it closes stderr; wait4 below reaps it
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    cpu = usage.ru_utime + usage.ru_stime
    peak_mb = usage.ru_maxrss / 1024
    LAST_CHILD["ru_maxrss_mb"] = peak_mb
    # no wrapper (or it died first): ru_maxrss, an upper estimate
    with contextlib.suppress(OSError, ValueError):
        peak_mb = int(hwm.read_text()) / 1024
    LAST_CHILD.update(load_after=loadavg(), nivcsw=usage.ru_nivcsw, user_s=usage.ru_utime,
                      sys_s=usage.ru_stime)
    return wall, cpu, peak_mb, proc.returncode


class Sim:
    """``ekstrio sim serve`` in its own process, with its ground truth."""

    def __init__(self, size: OrgSize, workdir: Path) -> None:
        self.dump = workdir / f"org-{size.name}.json"
        cmd = [PY, "-m", "ekstrio", "sim", "serve", "--port", "0", "--seed", str(SEED),
               "--accounts", str(size.accounts), "--clusters", str(size.clusters),
               "--regions", ",".join(size.regions), "--latency-ms", str(LATENCY_MS),
               "--jitter-ms", str(JITTER_MS), "--portal-rps", str(PORTAL_RPS),
               "--eks-rps", str(EKS_RPS), "--dump-org", str(self.dump), *TLS, *SIM_SERVER]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                     env=clean_env(workdir / "sim-home"))
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("ekstrio sim serve exited before printing its endpoint")
        self.info = json.loads(line)
        self.endpoint: str = self.info["endpoint"]
        self.ca_bundle: str | None = self.info.get("ca_bundle")  # None unless --tls
        self.org: dict[str, Any] = json.loads(self.dump.read_text())

    def stats(self) -> dict[str, Any]:
        return dict(admin_call(self.endpoint, "stats", ca_bundle=self.ca_bundle)[1])

    def token(self) -> str:
        return str(admin_call(self.endpoint, "token", {},
                              ca_bundle=self.ca_bundle)[1]["accessToken"])

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


TLS: list[str] = []  # ["--tls"] with --tls: the sim serves HTTPS, as AWS does
SIM_SERVER: list[str] = []  # ["--server", "h11"] with --sim-server h11
SNAPSHOT: dict[str, str] = {}  # {"src": dir} when children run a snapshot of one commit
# --compare-rev: {"src": dir, "commit": short} of a second commit, whose client runs the same
# cold and warm scans against the same sim in the same run (the sim stays --rev's)
COMPARED: dict[str, str] = {}


def snapshot(workdir: Path, rev: str, name: str = "snapshot") -> str:
    """Extract src/ and presets/ of ``rev`` into ``workdir``; children import ekstrio from there.

    Other people commit to the tree while a run takes half an hour: without this, rows of one
    table could measure different code. ``name`` other than the default extracts a second
    commit beside the first (``--compare-rev``) without making it the one children run.
    """
    target = workdir / name
    target.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", rev, "src", "presets"], cwd=REPO,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    # Bytecode compiled once, as pip leaves an installed package: with PYTHONDONTWRITEBYTECODE
    # set (as on these machines) every child compiled all of ekstrio again, ~0.1 s of CPU per
    # run that no installed user pays.
    subprocess.run([PY, "-m", "compileall", "-q", str(target / "src")], check=True)
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=REPO, text=True,
                            capture_output=True, check=True).stdout.strip()
    if name == "snapshot":
        SNAPSHOT.update(src=str(target / "src"), commit=commit)
    else:
        COMPARED.update(src=str(target / "src"), commit=commit)
    return commit


def clean_env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "KUBECONFIG", "EKSTRIO_", "XDG_", "PYTHONPATH"))}
    if SNAPSHOT:
        env["PYTHONPATH"] = SNAPSHOT["src"]
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_CACHE_HOME=str(home / ".cache"), NO_COLOR="1",
               AWS_EC2_METADATA_DISABLED="true")
    return env


def signed_in_home(sim: Sim, home: Path) -> dict[str, str]:
    """A fresh HOME with ~/.aws/config for the sim and a token file, as after `ekstrio login`."""
    env = clean_env(home)
    env.update(sim.info["env"])
    config = home / ".aws" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"[sso-session sim]\nsso_start_url = {sim.info['start_url']}\n"
                      f"sso_region = {sim.info['sso_region']}\n"
                      "sso_registration_scopes = sso:account:access\n")
    session = SsoSession(sim.info["start_url"], sim.info["sso_region"], "sim",
                         ("sso:account:access",))
    token = token_cache.CachedToken(
        access_token=sim.token(), expires_at=datetime.now(UTC) + timedelta(hours=8),
        region=session.region, start_url=session.start_url)
    token_cache.save_sso_token(session, token, cache_dir=home / ".aws" / "sso" / "cache")
    return env


def sim_delta(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, int, float]:
    """(data-plane requests, 429s, sim CPU s) between two /_sim/stats snapshots."""
    def calls(s: dict[str, Any]) -> int:
        return sum(v for k, v in s["by_api"].items() if k != "admin")

    return (calls(after) - calls(before), after["throttled"] - before["throttled"],
            after["cpu_seconds"] - before["cpu_seconds"])


def cooldown() -> None:
    # The sim's EKS buckets are per account+region and shared by every run: let them refill
    # (they hold one second of burst) so no run starts behind the previous one's debt.
    time.sleep(2.0)


def measured_child(sim: Sim, cmd: list[str], env: dict[str, str], out: Path
                   ) -> tuple[tuple[float, float, float, int], tuple[int, int, float]]:
    """One child after a cooldown: run_child's figures, and sim_delta's over its run."""
    cooldown()
    before = sim.stats()
    child = run_child(cmd, env, out)
    return child, sim_delta(before, sim.stats())


# ---------------------------------------------------------------------------------- runs
def bench_ekstrio(sim: Sim, size: OrgSize, preset: str, workdir: Path, bound: Bound,
                  warm_bound: Bound, extra: tuple[str, ...] = (),
                  env_label: str = "", env_extra: tuple[tuple[str, str], ...] = ()) -> list[Run]:
    label = " ".join((preset, *extra, *([env_label] if env_label else [])))
    home = workdir / f"home-{size.name}-{preset}-{len(extra)}-{len(env_extra)}"
    shutil.rmtree(home, ignore_errors=True)
    env = signed_in_home(sim, home)
    env.update(env_extra)
    # All regions: no --regions at all, exactly the scan a new user runs.
    regions = () if size.all_regions else ("--regions", ",".join(REGIONS))
    cmd = [PY, "-m", "ekstrio", "scan", "--sso-session", "sim", "--preset", preset,
           *regions, "--output", "json", "--quiet", "--no-save", *extra]
    truth = ground_truth(sim.org, size.regions)
    runs = []
    phases = [("cold", bound, cmd), ("warm", warm_bound, cmd)]
    if size.refresh_row and preset == "default" and not extra and not env_extra:
        phases.append(("refresh", bound, [*cmd, "--refresh"]))
    for phase, b, phase_cmd in phases:
        out = workdir / f"scan-{size.name}-{preset}-{phase}.json"
        (wall, cpu, rss, code), (calls, throttled, sim_cpu) = measured_child(sim, phase_cmd, env,
                                                                            out)
        doc = json.loads(out.read_text() or "{}")
        summary = doc.get("summary", {})
        found = {(c["account_id"], c["region"], c["name"]) for c in doc.get("clusters", [])}
        errors = [f"{e.get('account_id')} {e.get('region')} {e.get('stage')} {e.get('code')}"
                  for e in doc.get("errors", [])]
        run = Run(size.name, f"ekstrio {label} {phase}", wall, b.seconds, calls, throttled,
                  int(summary.get("retries", -1)), cpu, rss, len(found & truth), len(truth),
                  len(truth - found), code, sim_cpu, summary_calls=summary.get("api_calls"),
                  summary_throttles=summary.get("throttles"), errors=errors[:5],
                  child=dict(LAST_CHILD))
        runs.append(run)
        print_run(run)
    return runs


def bench_baseline(sim: Sim, size: OrgSize, kind: str, workdir: Path, limit: int | None) -> Run:
    env = clean_env(workdir / f"home-{size.name}-{kind}")
    env["BENCH_SSO_TOKEN"] = sim.token()
    cmd = [PY, str(HERE / "baselines.py"), kind, "--endpoint", sim.endpoint,
           "--sso-region", sim.info["sso_region"], "--regions", ",".join(REGIONS)]
    if limit is not None:
        cmd += ["--limit", str(limit)]
    out = workdir / f"baseline-{size.name}-{kind}.json"
    (wall, cpu, rss, code), (calls, throttled, sim_cpu) = measured_child(sim, cmd, env, out)
    result = json.loads(out.read_text() or "{}")
    truth = ground_truth(sim.org, REGIONS, limit)
    found = {tuple(c) for c in result.get("clusters", [])}
    full = lower_bound(sim.org, regions=REGIONS, latency_s=(LATENCY_MS + JITTER_MS / 2) / 1000,
                       portal_rps=PORTAL_RPS, eks_rps=EKS_RPS, order=order_roles)
    n = len(sim.org["accounts"])
    scale = n / limit if limit is not None and limit < n else 1.0
    label = {"sequential": "sequential (httpx2)", "old": "old: 10 workers, 100 ms gap",
             "botocore": "botocore, 10 threads"}[kind]
    if result.get("error_count"):
        code = code or 1
    run = Run(size.name, label, wall, full.seconds, calls, throttled,
              calls - int(result.get("calls", 0)), cpu, rss, len(found & truth), len(truth),
              len(truth - found), code, sim_cpu, limit=limit if scale != 1.0 else None,
              scale=scale, errors=list(result.get("errors", [])), child=dict(LAST_CHILD))
    print_run(run)
    return run


def startup_cpu() -> float:
    """CPU seconds of a child that only imports what `ekstrio scan` imports (no I/O)."""
    # What a scan loads before its first call (stamina is imported at a first retry only).
    code = ("import ekstrio.cli, ekstrio.commands.scan, ekstrio.scan_runtime, ekstrio.scan, "
            "ekstrio.scan_aws, ekstrio.auth.provider, ekstrio.output, "
            "ekstrio.document_formats, trio, httpx2, rich.console")
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(3):
            _, cpu, _, _ = run_child([PY, "-c", code], clean_env(Path(tmp)), Path(tmp) / "o")
            samples.append(cpu)
    return min(samples)


# ---------------------------------------------------------------------------------- output
HEADER = (f"{'org':<10} {'run':<42} {'wall s':>8} {'bound s':>7} {'ratio':>6} {'calls':>6} "
          f"{'retry':>5} {'429s':>5} {'CPU s':>6} {'ms/call':>7} {'CPU/wall':>8} {'RSS MB':>6} "
          f"{'found':>11}")


def row(run: Run) -> str:
    wall = f"{run.wall_full_s:.1f}" + ("*" if run.scale != 1.0 else "")
    found = f"{run.found}/{run.expected}" + ("" if run.all_found else " !")
    return (f"{run.org:<10} {run.name:<42} {wall:>8} {run.bound_s:>7.1f} {run.ratio:>6.2f} "
            f"{run.calls:>6} {run.retries:>5} {run.throttled:>5} {run.cpu_s:>6.2f} "
            f"{run.cpu_ms_per_call:>7.2f} {run.cpu_per_wall:>8.2f} {run.rss_mb:>6.0f} "
            f"{found:>11}")


def print_run(run: Run) -> None:
    line = row(run)
    if run.scale != 1.0:
        line += f"   (* {run.wall_s:.1f} s for the first {run.limit} accounts, scaled)"
    line += (f"   [sim CPU {run.sim_cpu_s:.1f} s, load {run.child.get('load_before', 0):.1f}"
             f"->{run.child.get('load_after', 0):.1f}]")
    print(line, flush=True)
    for err in run.errors[:3]:
        print(f"        error: {err}", flush=True)


def bench_size(size: OrgSize, workdir: Path, skip_baselines: bool) -> dict[str, Any]:
    print(f"\n== {size.name}: {size.accounts} accounts, {size.clusters} clusters, "
          f"{len(size.regions)} regions, {LATENCY_MS + JITTER_MS / 2:g} ms mean latency, portal "
          f"{PORTAL_RPS:g} rps, EKS {EKS_RPS:g} rps per account+region", flush=True)
    started = time.perf_counter()
    sim = Sim(size, workdir)
    print(f"sim ready in {time.perf_counter() - started:.1f} s at {sim.endpoint}", flush=True)
    try:
        mean_latency = (LATENCY_MS + JITTER_MS / 2) / 1000
        kwargs: dict[str, Any] = {"regions": size.regions, "latency_s": mean_latency,
                                  "portal_rps": PORTAL_RPS, "eks_rps": EKS_RPS,
                                  "order": order_roles}
        bound = lower_bound(sim.org, **kwargs)
        warm = lower_bound(sim.org, warm=True, **kwargs)
        print(f"lower bound {bound.seconds:.2f} s = max(critical path {bound.critical_calls} "
              f"calls x {mean_latency * 1000:g} ms = {bound.critical_path_s:.2f} s, "
              f"portal {bound.portal_calls} calls / {PORTAL_RPS:g} rps = {bound.portal_s:.2f} s, "
              f"busiest EKS scope {bound.busiest_scope_calls} calls / {EKS_RPS:g} rps = "
              f"{bound.busiest_scope_s:.2f} s); {bound.total_calls} calls at least "
              f"({bound.eks_calls} EKS); warm bound {warm.seconds:.2f} s", flush=True)
        print(HEADER, flush=True)
        runs: list[Run] = []
        for preset in size.presets:
            runs += bench_ekstrio(sim, size, preset, workdir, bound, warm)
        for preset, *flags in size.variants:
            runs += bench_ekstrio(sim, size, preset, workdir, bound, warm, tuple(flags))
        for env_label, env_extra in size.env_variants:
            runs += bench_ekstrio(sim, size, "default", workdir, bound, warm,
                                  env_label=env_label, env_extra=env_extra)
        if COMPARED:
            runs += bench_ekstrio(sim, size, "default", workdir, bound, warm,
                                  env_label=f"at {COMPARED['commit']}",
                                  env_extra=(("PYTHONPATH", COMPARED["src"]),))
        if not skip_baselines:
            for kind, limit in size.baseline_limit.items():
                runs.append(bench_baseline(sim, size, kind, workdir, limit))
    finally:
        sim.stop()
    print("\n".join(target_lines(runs)), flush=True)
    return {
        "size": asdict(size),
        "org_summary": sim.org["summary"],
        "roles_per_account": _roles_hist(sim.org),
        "no_eks_accounts": sum(1 for a in sim.org["accounts"]
                               if not any(r["eksAccess"] for r in a["roles"])),
        "bound": {**asdict(bound), "seconds": bound.seconds, "limited_by": bound.limited_by},
        "warm_bound": {**asdict(warm), "seconds": warm.seconds, "limited_by": warm.limited_by},
        "runs": [{**asdict(r), "wall_full_s": r.wall_full_s, "ratio": r.ratio,
                  "cpu_ms_per_call": r.cpu_ms_per_call, "all_found": r.all_found}
                 for r in runs],
        "table": [row(r) for r in runs],
        "targets": target_lines(runs),
    }


def target_lines(runs: list[Run]) -> list[str]:
    """The issue's targets for the runs of one org, ratios side by side (same run, same load)."""
    out = []
    by_name = {r.name: r for r in runs}
    for r in runs:
        if r.name.startswith("ekstrio"):
            out.append(f"  {r.name}: {r.cpu_ms_per_call:.2f} ms client CPU per call (≤ 0.5), "
                       f"CPU/wall {r.cpu_per_wall:.2f}, {r.ratio:.2f} × its bound "
                       f"({'≤ 1.5' if r.name.endswith('warm') else '≤ 1.25'} for the default "
                       f"preset on all regions), peak RSS {r.rss_mb:.0f} MB, "
                       f"{r.missing} clusters lost")
    for name, r in by_name.items():
        if name.endswith(" cold") and (w := by_name.get(name[:-5] + " warm")):
            out.append(f"  {name[:-5]}: warm / cold = {w.wall_s:.1f} / {r.wall_s:.1f} s = "
                       f"{w.wall_s / r.wall_s:.2f} (large: ≤ 0.3)")
    return out


def _roles_hist(org: dict[str, Any]) -> dict[str, int]:
    hist: dict[str, int] = {}
    for account in org["accounts"]:
        key = str(len(account["roles"]))
        hist[key] = hist.get(key, 0) + 1
    return dict(sorted(hist.items()))


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": str(os.cpu_count()), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform(),
            "commit": (f"{SNAPSHOT['commit']} (snapshot)" if SNAPSHOT else _git_head())}


def _git_head() -> str:
    """The commit measured, with "+changes" when src/ or presets/ differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "presets"],
                               cwd=REPO, text=True, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" +uncommitted changes in src/presets" if dirty.strip() else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="all",
                        help="an org, or all of them; several with commas")
    parser.add_argument("--quick", action="store_true",
                        help="default preset only, baselines on a few accounts (a smoke run)")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--rev", default="HEAD",
                        help="commit whose src/ and presets/ the children run (a snapshot)")
    parser.add_argument("--compare-rev", metavar="REV",
                        help="also run the default preset's cold and warm scans with the client "
                             "of REV (same sim, same run), as rows labelled 'at REV'")
    parser.add_argument("--live", action="store_true",
                        help="run the working tree as it is instead of a snapshot of --rev")
    parser.add_argument("--no-docs", action="store_true",
                        help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--tls", action="store_true",
                        help="the sim serves HTTPS (its CA reaches the scan as AWS_CA_BUNDLE); "
                             "no baselines, no docs")
    parser.add_argument("--sim-server", choices=["hypercorn", "h11"], default="hypercorn",
                        help="the sim's front end: h11 costs the sim about half the CPU per "
                             "request (results get a -h11 suffix; no baselines or docs)")
    args = parser.parse_args()
    if args.sim_server != "hypercorn":
        SIM_SERVER.extend(["--server", args.sim_server])
        args.no_baselines = args.no_docs = True
    if args.tls:
        TLS.append("--tls")
        args.no_baselines = args.no_docs = True  # baselines.py does not take the CA
    sizes = list(SIZES) if args.size == "all" else args.size.split(",")
    table = QUICK if args.quick else SIZES
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ekstrio-bench-") as tmp:
        if not args.live:
            snapshot(Path(tmp), args.rev)
        if args.compare_rev:
            snapshot(Path(tmp), args.compare_rev, name="compared")
        print(f"measuring commit {machine()['commit']}", flush=True)
        startup = startup_cpu()
        print(f"start-up CPU of `ekstrio scan` (imports only): {startup:.3f} s", flush=True)
        for name in sizes:
            result = bench_size(table[name], Path(tmp), args.no_baselines)
            result.update(machine=machine(), startup_cpu_s=startup, quick=args.quick,
                          date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                          command=" ".join(["python", "bench/scan_bench.py", *sys.argv[1:]]))
            suffix = (("-quick" if args.quick else "") + ("-tls" if args.tls else "")
                      + ("-h11" if args.sim_server == "h11" else ""))
            (results_dir / f"{name}{suffix}.json").write_text(json.dumps(result, indent=1) + "\n")
    if not args.no_docs and not args.quick:
        from report import write_docs

        write_docs(results_dir, REPO / "docs" / "benchmarks.md")
        print(f"\nwrote {REPO / 'docs' / 'benchmarks.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
