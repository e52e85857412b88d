"""Write docs/benchmarks.md from bench/results/{medium,large}.json (made by scan_bench.py).

    python bench/report.py

The tables, bounds and verdicts are generated from the results; the analysis and the profile's
lesson come from bench/benchmarks_notes.md (hand-written after reading the figures); the token
figures come from docs/benchmarks-token.md when the token benchmark has written it.
"""
# ruff: noqa: T201 - a command-line benchmark: printing the table is its job

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

TOKEN_DOC = REPO / "docs" / "benchmarks-token.md"
NOTES = HERE / "benchmarks_notes.md"


def _table(runs: list[dict[str, Any]]) -> list[str]:
    out = [
        "| run | wall s | ratio to bound | HTTP calls | retries | 429s | client CPU s | "
        "CPU ms/call | CPU ÷ wall | peak RSS MB | clusters found | sim CPU s | load (1 min) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in runs:
        wall = f"{r['wall_full_s']:.1f}"
        if r["scale"] != 1.0:
            wall = f"{wall}* ({r['wall_s']:.1f} s for {r['limit']} accounts)"
        found = f"{r['found']}/{r['expected']}"
        found += " ✓" if r["all_found"] else f" ✗ ({r['missing']} missing, exit {r['exit_code']})"
        child = r.get("child", {})
        load = f"{child.get('load_before', 0):.1f}→{child.get('load_after', 0):.1f}"
        out.append(
            f"| {r['name']} | {wall} | {r['ratio']:.2f} | {r['calls']} | {r['retries']} | "
            f"{r['throttled']} | {r['cpu_s']:.2f} | {r['cpu_ms_per_call']:.2f} | "
            f"{r['cpu_s'] / max(1e-9, r['wall_s']):.2f} | "
            f"{_rss(r)} | {found} | {r['sim_cpu_s']:.1f} | {load} |")
    return out


def _rss(r: dict[str, Any]) -> str:
    # rss_true_mb: re-measured with bench/hwm.py when the run's ru_maxrss was inflated by the
    # benchmark process's own memory (see the note under Set-up).
    if "rss_true_mb" in r:
        return f"{r['rss_true_mb']:.0f}† ({r['rss_mb']:.0f})"
    if r["org"] == "large" and "ru_maxrss_mb" not in r.get("child", {}):
        return f"≤ {r['rss_mb']:.0f}"  # ru_maxrss before bench/hwm.py: an upper estimate
    return f"{r['rss_mb']:.0f}"


def _peak(r: dict[str, Any]) -> float:
    return float(r.get("rss_true_mb", r["rss_mb"]))


def _bound_lines(res: dict[str, Any]) -> list[str]:
    b, w = res["bound"], res["warm_bound"]
    lat = res.get("mean_latency_ms", 50)
    return [
        f"- critical path: {b['critical_calls']} dependent calls × {lat:g} ms = "
        f"{b['critical_path_s']:.2f} s",
        f"- portal: {b['portal_calls']} calls / 20 rps = {b['portal_s']:.2f} s "
        f"(of which {b['fallback_credentials']} GetRoleCredentials for fallback roles)",
        f"- busiest EKS scope: {b['busiest_scope_calls']} calls / 10 rps = "
        f"{b['busiest_scope_s']:.2f} s",
        f"- **cold bound {b['seconds']:.2f} s** (limited by the {b['limited_by']}); at least "
        f"{b['portal_calls'] + b['eks_calls']} calls ({b['eks_calls']} EKS)",
        f"- warm bound {w['seconds']:.2f} s (no portal call; limited by the {w['limited_by']})",
    ] + ([
        f"- not a bound, for scale: a client that serves the portal in listing order (none can"
        f" know which account holds the big list) needs at least {b['in_order_s']:.2f} s: the "
        f"portal calls up to the big account's credentials, then its scope's calls"
    ] if b.get("in_order_s") else [])


def _find(runs: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((r for r in runs if r["name"] == name), None)


def verdicts(results: dict[str, dict[str, Any]]) -> list[str]:
    out: list[str] = []

    def line(ok: bool | None, text: str) -> None:
        mark = "n/a" if ok is None else ("**met**" if ok else "**missed**")
        out.append(f"| {text} | {mark} |")

    out += ["| target | verdict |", "|---|---|"]
    for name in ("medium", "large", "medium-all", "large-all"):
        # Each org's verdicts are as old as its last run: say when and where, since the
        # orgs are not always rerun together (the 17-region ones predate issue 11).
        res = results.get(name)
        if res:
            machine = res.get("machine", {})
            out.append(f"| *{name}: measured {res.get('date', '?')} at commit "
                       f"{machine.get('commit', '?')} on {machine.get('cpu', '?')}* | |")
    med = results.get("medium")
    if med:
        runs = med["runs"]
        cold = _find(runs, "ekstrio default cold")
        warm = _find(runs, "ekstrio default warm")
        if cold:
            ok = cold["ratio"] <= 1.25 and cold["all_found"]
            line(ok, f"medium, default, cold ≤ 1.25 × bound, every cluster found: "
                     f"{cold['wall_s']:.1f} s = {cold['ratio']:.2f} × {cold['bound_s']:.1f} s, "
                     f"{cold['found']}/{cold['expected']} found"
                     + ("" if ok else f" (target {1.25 * cold['bound_s']:.1f} s; "
                        f"{cold['ratio'] / 1.25:.1f}× over)"))
        if cold and warm:
            ratio = warm["wall_s"] / cold["wall_s"]
            warm_bound = med["warm_bound"]["seconds"]
            line(ratio <= 0.4, f"warm ≤ 0.4 × cold: {warm['wall_s']:.1f} s / "
                               f"{cold['wall_s']:.1f} s = {ratio:.2f} "
                               f"(warm bound {warm_bound:.1f} s "
                               f"= {warm_bound / cold['wall_s']:.2f} × this cold)")
        startup = med.get("startup_cpu_s", 0.0)
        for r in (cold, warm):
            if r:
                net = 1000 * max(0.0, r["cpu_s"] - startup) / max(1, r["calls"])
                line(r["cpu_ms_per_call"] <= 0.5,
                     f"client CPU ≤ 0.5 ms per call ({r['name']}): {r['cpu_ms_per_call']:.2f} ms "
                     f"({net:.2f} ms without the {startup:.2f} s start-up)")
        boto = _find(runs, "botocore, 10 threads")
        if boto:
            out.append(f"| for comparison, botocore in 10 threads: {boto['cpu_ms_per_call']:.2f} "
                       f"ms per call | |")
    large = results.get("large")
    if large:
        runs = large["runs"]
        cold = _find(runs, "ekstrio default cold")
        if cold:
            line(_peak(cold) <= 150, f"large: peak RSS ≤ 150 MB: {_peak(cold):.0f} MB "
                                     f"(default cold)")
            warm = _find(runs, "ekstrio default warm")
            if warm:
                line(_peak(warm) <= 150, f"large: peak RSS ≤ 150 MB: {_peak(warm):.0f} MB "
                                         f"(default warm)")
            if warm:
                ratio = warm["wall_s"] / cold["wall_s"]
                line(ratio <= 0.4, f"large: warm ≤ 0.4 × cold: {warm['wall_s']:.1f} s / "
                                   f"{cold['wall_s']:.1f} s = {ratio:.2f} (warm bound "
                                   f"{large['warm_bound']['seconds']:.1f} s)")
            ok = cold["ratio"] <= 1.3 and cold["all_found"]
            line(ok, f"large: ≤ 1.3 × bound: {cold['wall_s']:.1f} s = {cold['ratio']:.2f} × "
                     f"{cold['bound_s']:.1f} s, {cold['found']}/{cold['expected']} found")
    out += _all_regions_verdicts(results, line)
    speed = token_speedups()
    if not speed:
        line(None, "`ekstrio token` ≥ 10× faster than `aws eks get-token` cached, ≥ 3× "
                   "without: token benchmark not in yet")
    for scenario, target in (("ekstrio token, cached", 10.0),
                             ("ekstrio token, cold (role creds cached)", 3.0),
                             ("ekstrio token, cold + portal call", 3.0)):
        if scenario in speed:
            line(speed[scenario] >= target,
                 f"{scenario} ≥ {target:g}× faster than `aws eks get-token` (SSO profile): "
                 f"{speed[scenario]:g}× (token section below)")
    return out


def _over(value: float, target: float) -> str:
    return "" if value <= target else f" (target {target:g}: {value / target:.1f}× over)"


def _all_regions_verdicts(results: dict[str, dict[str, Any]], line: Any) -> list[str]:
    """Issue 11's targets, on the orgs scanned over every EKS region (the default scan)."""
    for name in ("medium-all", "large-all"):
        res = results.get(name)
        if not res:
            continue
        cold = _find(res["runs"], "ekstrio default cold")
        warm = _find(res["runs"], "ekstrio default warm")
        for r in (cold, warm):
            if r:
                ms = r["cpu_ms_per_call"]
                line(ms <= 0.5, f"{name}: client CPU ≤ 0.5 ms per call ({r['name']}): "
                                f"{ms:.2f} ms{_over(ms, 0.5)}")
                line(r["missing"] == 0 and r["exit_code"] == 0,
                     f"{name}: 0 clusters lost ({r['name']}): {r['missing']} lost, "
                     f"{r['found']}/{r['expected']} found, exit {r['exit_code']}")
        if name == "medium-all" and cold:
            # The floor of a client that cannot know which account holds the big list (see
            # the bound's section), so that a miss reads against what is reachable.
            in_order = res["bound"].get("in_order_s") or 0.0
            floor = (f"; a client serving the portal in listing order needs ≥ {in_order:.2f} s"
                     f" = {in_order / cold['bound_s']:.2f} × the bound, this scan took "
                     f"{cold['wall_s'] / in_order:.2f} × that") if in_order else ""
            line(cold["ratio"] <= 1.25, f"{name}: cold ÷ lower bound ≤ 1.25: {cold['wall_s']:.1f}"
                                        f" s ÷ {cold['bound_s']:.1f} s = {cold['ratio']:.2f}"
                                        f"{_over(cold['ratio'], 1.25)}{floor}")
        refresh = _find(res["runs"], "ekstrio default refresh")
        if name == "medium-all" and refresh:
            line(None, f"{name}, for comparison (not the new user's cold scan): `--refresh` with "
                       f"the busiest-first hints of the earlier scans, every cold call again: "
                       f"{refresh['wall_s']:.1f} s ÷ {refresh['bound_s']:.1f} s = "
                       f"{refresh['ratio']:.2f}")
        if name == "medium-all" and warm:
            bound = res["warm_bound"]["seconds"]
            ratio = warm["wall_s"] / bound
            line(ratio <= 1.5, f"{name}: warm ÷ warm lower bound ≤ 1.5: {warm['wall_s']:.1f} s ÷ "
                               f"{bound:.1f} s = {ratio:.2f}{_over(ratio, 1.5)}")
        if name == "large-all" and cold and warm:
            ratio = warm["wall_s"] / cold["wall_s"]
            line(ratio <= 0.3, f"{name}: warm ÷ cold ≤ 0.3: {warm['wall_s']:.1f} s ÷ "
                               f"{cold['wall_s']:.1f} s = {ratio:.2f}{_over(ratio, 0.3)}")
            for r in (cold, warm):
                line(_peak(r) <= 150, f"{name}: peak RSS ≤ 150 MB ({r['name']}): "
                                      f"{_peak(r):.0f} MB{_over(_peak(r), 150)}")
    return []


def token_speedups() -> dict[str, float]:
    """Scenario -> speed-up, from the last column of docs/benchmarks-token.md's figures table."""
    if not TOKEN_DOC.exists():
        return {}
    found: dict[str, float] = {}
    for text in TOKEN_DOC.read_text().splitlines():
        cells = [c.strip() for c in text.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].startswith("ekstrio token") and cells[-1].endswith("×"):
            try:
                found[cells[0]] = float(cells[-1].rstrip("×"))
            except ValueError:
                continue
    return found


def render(results: dict[str, dict[str, Any]]) -> str:
    any_res = next(iter(results.values()))
    m = any_res["machine"]
    lines = [
        "# Benchmarks",
        "",
        "How fast `ekstrio scan` is next to the fastest scan AWS's quotas allow (the lower bound)",
        "and next to the ways people scan today. Every figure here comes from one command, run",
        "against ekstrio's local AWS organisation (the sim), which serves the SSO portal and EKS",
        "with real latency and real per-scope quotas. Generated by `bench/report.py` from",
        "`bench/results/*.json`; the analysis section is hand-written "
        "(`bench/benchmarks_notes.md`).",
        "",
        "## Reproduce",
        "",
        "In the test set-up's virtualenv (`pip install -e '.[test]'`), from the repository root:",
        "",
        "```sh",
        "python bench/scan_bench.py --size all      # medium + large, ~30-40 min",
        "python bench/scan_bench.py --size medium   # ~10 min",
        "python bench/scan_bench.py --quick         # smoke run, a few minutes",
        "python bench/profile_scan.py               # pyinstrument profile (pip",
        "                                                          # install pyinstrument first)",
        "```",
        "",
        "The benchmark lives in `bench/`, outside `tests/`, so CI's pytest run never collects it.",
        "",
        "## Machine",
        "",
        f"- {m['nproc']} CPUs: {m['cpu']}; Python {m['python']}; {m['platform']}",
        f"- run on {any_res['date']} with `{any_res['command']}`, ekstrio at commit "
        f"{m.get('commit', 'unknown')}",
        "- start-up CPU of `ekstrio scan` (imports only, no I/O): "
        f"{any_res['startup_cpu_s']:.2f} s",
        "- The machine is shared: other jobs ran during the benchmark, so each row records the",
        "  1-minute load average before → after it. With a load above 2 on 2 CPUs a CPU-heavy",
        "  client is slowed by waiting for a CPU, and wall times are upper estimates.",
        "",
        "## Set-up",
        "",
        "- The sim runs as its own process (`ekstrio sim serve --port 0`, seed 1), so its CPU is",
        "  not charged to the client; its ground truth comes from `--dump-org`.",
        "- Regions: the `-all` orgs have every EKS region of the aws partition (34), scanned",
        "  without `--regions`, exactly the scan a new user runs; the sim turns each opt-in region",
        "  off in about half the accounts. The `medium` and `large` orgs have the 17 regions AWS",
        "  enables by default (`--regions` with those 17), as in earlier runs, with the baselines.",
        "- Latency: `--latency-ms 40 --jitter-ms 20`. The sim adds latency + uniform(0, jitter),",
        "  so every call takes 40-60 ms, 50 ms on average (\"50 ms ± 10 ms\").",
        "- Quotas: portal 20 requests/s per SSO token, EKS 10 requests/s per account and region",
        "  (`--portal-rps 20 --eks-rps 10`); each bucket allows one second of burst.",
        "- Ratio to bound: a cold row's wall time ÷ the cold bound, a warm row's ÷ the warm bound",
        "  (rows measured before 2026-12-03 divided warm rows by the cold bound).",
        "- CPU ÷ wall: the client's CPU seconds ÷ its wall seconds. Near 1 (2 on these 2 CPUs) the",
        "  client's own CPU is the limit; well below 1 with a load above 2, the client was waiting",
        "  for a CPU other jobs held, which is CPU-bound too.",
        "- Each ekstrio run is the real CLI in a child process: `ekstrio scan --sso-session sim",
        "  --preset P --regions <17> --output json --quiet --no-save`, signed in by a token file",
        "  as `ekstrio login` leaves it. Cold: a fresh HOME (no role credentials, no account/role",
        "  lists cached). Warm: the same command again in that HOME (role credentials and the",
        "  account/role lists are cached, so the portal is not called). Refresh (medium-all):",
        "  then `--refresh` in that HOME (every cold call again, with the busiest-first hints",
        "  the earlier scans saved; measured against the cold bound). `at REV` rows",
        "  (`--compare-rev REV`): another commit's client, same sim, same run.",
        "- Baselines (`bench/baselines.py`, each its own process): "
        "sequential (plain sync httpx2, one",
        "  call at a time, retrying 429s); the old design (10 worker threads, any two requests at",
        "  least 100 ms apart); botocore `sso`/`eks` clients with "
        "`retries={\"mode\": \"standard\"}`",
        "  in a `ThreadPoolExecutor(10)` over accounts, one EKS client per account and region. All",
        "  pick roles in ekstrio's order and move on when EKS denies one.",
        "- Columns: HTTP calls and 429s are counted by the sim (`/_sim/stats`) for every run;",
        "  retries are ekstrio's own count (summary JSON) or, for baselines, HTTP calls minus the",
        "  calls the baseline made; CPU is user + system time of the child (`os.wait4`), start-up",
        "  included; peak RSS is the child's own high-water mark (`VmHWM`, written at exit by",
        "  `bench/hwm.py`; `ru_maxrss` from `wait4` also counts the parent's memory at exec);",
        "  † marks a peak re-measured that way after the run, with the table's `ru_maxrss` in",
        "  brackets, and \"≤\" a `ru_maxrss` not re-measured (on the large org the benchmark",
        "  process held ~140 MB, which every child's `ru_maxrss` includes); \"found\" compares",
        "  with the ground truth",
        "  (clusters in accounts where some role may call EKS; the others cannot be seen by",
        "  anyone). A `*` wall time is measured on the first N accounts and scaled to all.",
        "",
        "## The lower bound",
        "",
        "```",
        "bound = max(critical_path, portal_calls / portal_rps, busiest_scope_calls / eks_rps)",
        "critical_path = max over (account, region) of",
        "    ( ListAccounts pages up to the account's page + ListAccountRoles pages",
        "      + per role tried: GetRoleCredentials + ListClusters",
        "      + remaining ListClusters pages + 1 DescribeCluster if the region has clusters )",
        "    × mean latency",
        "portal_calls = ceil(accounts / 100)",
        "    + Σ accounts ( ceil(roles / 100) + GetRoleCredentials per role tried )",
        "busiest_scope_calls = max over (account, region) of",
        "    ( one ListClusters per role tried before the one EKS accepts",
        "      + ListClusters pages + one DescribeCluster per cluster )",
        "```",
        "",
        "Roles tried: the default preference "
        "(AdministratorAccess, \\*Admin\\*, PowerUser\\*,",
        "\\*EKS\\*, ReadOnly\\*, then any) up to and including the first role "
        "that may call EKS. In",
        "these orgs an account that has an EKS role always lists it first, so it costs one",
        "GetRoleCredentials; an account with no EKS role "
        "(BillingAccess/SupportUser only) costs one",
        "per role, and those fallback calls are counted, because a scan cannot know that EKS will",
        "refuse them all without asking. In a region an SCP closes to every role (the sim's",
        "`scpDeniedRegions`, like Control Tower's region deny) every role is tried, since such",
        "denies may exempt some: credentials once per account and one ListClusters per role there.",
        "A region that is not enabled costs one ListClusters cold and nothing warm (the list cache",
        "remembers it). The design note's formula has the first two terms; the",
        "third is added because in these orgs one account-region holds 100+ clusters, and its EKS",
        "quota, not the portal's, sets the medium org's bound. Burst allowances (one second per",
        "bucket) are ignored, as in the design note, so a scan could beat a rate term by ≤ 1 s.",
        "The bound code is `bench/lower_bound.py` (unit-tested in",
        "`tests/unit/test_bench_lower_bound.py`).",
        "",
    ]
    for name in SIZES:
        res = results.get(name)
        if not res:
            continue
        size = res["size"]
        summ = res["org_summary"]
        where = ("every EKS region of the partition (34, the default scan; opt-in regions off in "
                 "about half the accounts)" if size.get("all_regions") else
                 "the 17 default-enabled regions")
        lines += [
            f"## {name.capitalize()} org: {size['accounts']} accounts, {summ['clusters']} "
            f"clusters, {where}",
            "",
            f"Measured {res['date']} at commit {res['machine'].get('commit', 'unknown')} with "
            f"`{res['command']}`.",
            "",
            f"- {summ['accountRegionsWithClusters']} account-regions hold clusters; roles per "
            f"account: " + ", ".join(f"{k} roles × {v}" for k, v in
                                     res["roles_per_account"].items())
            + f"; {res['no_eks_accounts']} accounts have no role that may call EKS.",
            *_bound_lines(res),
            "",
            *_table(res["runs"]),
            "",
        ]
    lines += ["## Targets", "", *verdicts(results), ""]
    if NOTES.exists():
        lines += [NOTES.read_text().rstrip(), ""]
    lines += ["## `ekstrio token` (from the token benchmark)", ""]
    if TOKEN_DOC.exists():
        body = TOKEN_DOC.read_text().strip().splitlines()
        if body and body[0].startswith("# "):
            body = body[1:]  # its own title
        lines += [*(("#" + x) if x.startswith("## ") else x for x in body), ""]
    else:
        lines += ["_Pending: `bench/token_bench.py` writes `docs/benchmarks-token.md`; rerun",
                  "`python bench/report.py` once it exists to merge its figures here._", ""]
    return "\n".join(lines)


SIZES = ("medium-all", "large-all", "medium", "large")


def write_docs(results_dir: Path, target: Path) -> None:
    results = {}
    for name in SIZES:
        path = results_dir / f"{name}.json"
        if path.exists():
            results[name] = json.loads(path.read_text())
    if not results:
        raise SystemExit(f"no results in {results_dir}; run bench/scan_bench.py first")
    target.write_text(render(results))


def main() -> int:
    write_docs(HERE / "results", REPO / "docs" / "benchmarks.md")
    print(f"wrote {REPO / 'docs' / 'benchmarks.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
