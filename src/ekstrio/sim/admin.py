"""Admin routes under ``/_sim/`` for tests and demos (never faulted, never throttled).

* ``POST /_sim/token`` ``{"expires_in": s?}`` → a portal access token, as if the user signed in
* ``POST /_sim/verify-eks-token`` ``{"token", "cluster_name"}`` → the caller (200) or why not (401)
* ``POST /_sim/approve`` / ``POST /_sim/deny`` ``{"user_code"}`` → device code decided (404 if
  unknown)
* ``GET /_sim/org`` → the organisation dump; ``GET /_sim/stats`` → counters and CPU seconds
* ``GET /_sim/health`` → ``{"ok": true}``
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from ekstrio.sim import oidc, sigcheck
from ekstrio.sim.messages import Request, Response, json_response
from ekstrio.sim.state import SimState
from ekstrio.sim.sts import caller


def _regional_sts_hosts(state: SimState) -> frozenset[str]:
    suffix = state.org.dns_suffix
    hosts = {f"sts.{r}.{suffix}" for r in state.org.regions}
    hosts.add(f"sts.{state.org.sso_region}.{suffix}")
    if state.org.partition == "aws":
        hosts.add("sts.amazonaws.com")  # the global endpoint exists only in the aws partition
    return frozenset(hosts)


def verify_eks_token(state: SimState, token: str, cluster_name: str) -> dict[str, Any]:
    decoded = sigcheck.decode_eks_token(token)
    if isinstance(decoded, sigcheck.SigFailure):
        return {"ok": False, "kind": decoded.kind, "error": decoded.message}
    local = urlsplit(state.endpoint).netloc.lower()
    result = sigcheck.verify_presigned(
        decoded, cluster_name=cluster_name, lookup=state.credentials.get, now=state.clock(),
        sts_hosts=_regional_sts_hosts(state), local_hosts=frozenset({local}))
    if isinstance(result, sigcheck.SigFailure):
        return {"ok": False, "kind": result.kind, "error": result.message}
    who = caller(state, result.credentials)
    return {"ok": True, "account_id": who.account_id, "role_name": who.role_name,
            "arn": who.arn, "user_id": who.user_id, "region": result.region,
            "access_key_id": result.credentials.access_key_id}


class CpuMeter:
    """CPU seconds of the thread that runs the sim's trio loop (= the server's own CPU)."""

    def __init__(self) -> None:
        self.start_thread = time.thread_time()
        self.start_process = time.process_time()

    def as_dict(self) -> dict[str, float]:
        return {"cpu_seconds": time.thread_time() - self.start_thread,
                "process_cpu_seconds": time.process_time() - self.start_process}


def handle(state: SimState, req: Request, cpu: CpuMeter) -> Response:
    route = req.path[len("/_sim/"):]
    if req.method == "GET":
        if route == "org":
            return json_response(200, state.org.dump(), api="admin")
        if route == "stats":
            return json_response(200, {**state.stats.as_dict(), **cpu.as_dict(),
                                       "issued_credentials": len(state.credentials),
                                       "issued_tokens": len(state.tokens)}, api="admin")
        if route == "health":
            return json_response(200, {"ok": True}, api="admin")
    elif req.method == "POST":
        body = req.json() or {}
        if route == "token":
            expires_in = body.get("expires_in")
            if expires_in is not None and not isinstance(expires_in, int):
                return json_response(400, {"error": "expires_in must be an integer"},
                                     api="admin")
            token, ttl, _ = state.issue_token(client_id=None, refreshable=False,
                                              expires_in=expires_in)
            return json_response(200, {"accessToken": token, "expiresIn": ttl,
                                       "expiresAt": state.clock() + ttl}, api="admin")
        if route == "verify-eks-token":
            eks_token, name = body.get("token"), body.get("cluster_name")
            if not isinstance(eks_token, str) or not isinstance(name, str):
                return json_response(400, {"error": "token and cluster_name are required"},
                                     api="admin")
            result = verify_eks_token(state, eks_token, name)
            return json_response(200 if result["ok"] else 401, result, api="admin")
        if route in ("approve", "deny"):
            user_code = body.get("user_code")
            ok = isinstance(user_code, str) and oidc.approve(state, user_code, deny=route == "deny")
            return json_response(200 if ok else 404, {"ok": ok}, api="admin")
    return json_response(404, {"error": f"no admin route {req.method} {req.path}"}, api="admin")
