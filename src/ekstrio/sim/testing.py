"""Run a sim for tests, demos and benchmarks: in a background thread, or as a subprocess.

``run_sim_in_thread(options)`` gives a :class:`SimHandle` whose methods are small blocking HTTP
calls to the ``/_sim/`` admin routes, so both sync code (botocore clients) and trio tests can use
it. ``run_sim_process(*args)`` starts ``ekstrio sim serve --port 0`` and reads its JSON line.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import trio

from ekstrio.sim.options import SimOptions
from ekstrio.sim.server import SimInfo, serve_sim

# No proxy, ever: the sim is on loopback and tests must not leak elsewhere.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def admin_call(endpoint: str, route: str, body: dict[str, Any] | None = None, *,
               ca_bundle: str | None = None) -> tuple[int, Any]:
    """(status, JSON) of one admin call; POST when ``body`` is given, else GET. An https
    ``endpoint`` (``--tls``) is verified against ``ca_bundle``, the sim's CA file."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{endpoint}/_sim/{route}", data=data,  # noqa: S310 - loopback
                                 headers={"content-type": "application/json"})
    opener = _OPENER
    if ca_bundle:
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca_bundle)))
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@dataclass
class SimHandle:
    """A running sim: where it is, the ground truth, and admin helpers."""

    endpoint: str
    start_url: str
    sso_region: str
    env: dict[str, str]
    org: dict[str, Any] = field(repr=False)
    info: dict[str, Any] = field(repr=False)
    ca_bundle: str | None = None  # with --tls: the CA file that verifies ``endpoint``

    @classmethod
    def from_info(cls, info: dict[str, Any], org: dict[str, Any] | None = None) -> SimHandle:
        endpoint, ca_bundle = info["endpoint"], info.get("ca_bundle")
        if org is None:
            _, org = admin_call(endpoint, "org", ca_bundle=ca_bundle)
        return cls(endpoint, info["start_url"], info["sso_region"], dict(info["env"]),
                   org or {}, info, ca_bundle)

    def admin(self, route: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, JSON) of one ``/_sim/`` call to this sim."""
        return admin_call(self.endpoint, route, body, ca_bundle=self.ca_bundle)

    def issue_token(self, expires_in: int | None = None) -> str:
        """A portal access token, as if the user had signed in (``expires_in`` seconds)."""
        body: dict[str, Any] = {} if expires_in is None else {"expires_in": expires_in}
        status, data = self.admin("token", body)
        if status != 200:
            raise RuntimeError(f"sim refused to issue a token: {data}")
        return str(data["accessToken"])

    def verify_eks_token(self, token: str, cluster_name: str) -> dict[str, Any]:
        """``{"ok": True, "account_id", "arn", "role_name", ...}`` or ``{"ok": False, "error"}``."""
        _, data = self.admin("verify-eks-token", {"token": token, "cluster_name": cluster_name})
        return dict(data)

    def stats(self) -> dict[str, Any]:
        return dict(self.admin("stats")[1])

    def approve(self, user_code: str) -> bool:
        return self.admin("approve", {"user_code": user_code})[0] == 200

    def deny(self, user_code: str) -> bool:
        return self.admin("deny", {"user_code": user_code})[0] == 200

    # --- ground-truth helpers over the dump ----------------------------------------------------
    def account(self, account_id: str) -> dict[str, Any]:
        return next(a for a in self.org["accounts"] if a["accountId"] == account_id)

    def cluster_names(self, account_id: str, region: str) -> list[str]:
        return [c["name"] for c in self.account(account_id)["clusters"].get(region, [])]

    def eks_role(self, account_id: str) -> str | None:
        """A role of the account that may call EKS, or None."""
        for role in self.account(account_id)["roles"]:
            if role["eksAccess"]:
                return str(role["roleName"])
        return None


@contextlib.contextmanager
def run_sim_in_thread(options: SimOptions | None = None, **overrides: Any) -> Iterator[SimHandle]:
    """Run a sim on its own trio loop in a daemon thread; stop it on exit."""
    opts = replace(options or SimOptions(), **overrides)
    started: queue.Queue[SimInfo | BaseException] = queue.Queue()
    control: dict[str, Any] = {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            control["scope"] = nursery.cancel_scope
            control["token"] = trio.lowlevel.current_trio_token()
            info = await nursery.start(serve_sim, opts)
            started.put(info)

    def runner() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # handed to the caller's thread, which re-raises it
            started.put(exc)

    thread = threading.Thread(target=runner, name="ekstrio-sim", daemon=True)
    thread.start()
    item = started.get(timeout=60)
    if isinstance(item, BaseException):
        thread.join(5)
        if isinstance(item, BaseExceptionGroup) and len(item.exceptions) == 1:
            raise item.exceptions[0]
        raise item
    try:
        yield SimHandle.from_info(item.as_json(), item.org.dump())
    finally:
        with contextlib.suppress(trio.RunFinishedError):
            trio.from_thread.run_sync(control["scope"].cancel, trio_token=control["token"])
        thread.join(10)


@contextlib.contextmanager
def run_sim_process(*args: str, env: dict[str, str] | None = None,
                    startup_timeout: float = 30.0) -> Iterator[tuple[subprocess.Popen[str],
                                                                     SimHandle]]:
    """Start ``python -m ekstrio sim serve --port 0 ARGS``; yield (process, handle); SIGTERM it."""
    cmd = [sys.executable, "-m", "ekstrio", "sim", "serve", "--port", "0", *args]
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env if env is not None else dict(os.environ))
    stdout, stderr = proc.stdout, proc.stderr
    if stdout is None or stderr is None:  # pragma: no cover - both are PIPEs
        raise RuntimeError("subprocess pipes missing")
    try:
        lines: queue.Queue[str] = queue.Queue()
        # A thread, so that a sim that never prints cannot block the caller past the timeout.
        reader = threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True)
        reader.start()
        try:
            first = lines.get(timeout=startup_timeout)
        except queue.Empty:
            raise RuntimeError("ekstrio sim serve printed nothing") from None
        if not first:
            proc.wait(10)
            raise RuntimeError(f"ekstrio sim serve exited {proc.returncode}: {stderr.read()}")
        yield proc, SimHandle.from_info(json.loads(first))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
