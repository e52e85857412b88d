"""The ASGI application: one port, four AWS APIs plus ``/_sim/`` admin routes.

Routing is by method and path, as the real services' endpoints differ only by host. Per request:
read the body, build a :class:`Request`, then (for portal and EKS data calls) draw a fault, sleep
the configured latency (a trio sleep, no CPU), authenticate, take a quota token, and answer.
Kept deliberately small: per-request CPU is what limits benchmarks on two cores.
"""

from __future__ import annotations

import random
from typing import Any

import trio

from ekstrio.sim import admin, eks, eks_access, oidc, portal, sts
from ekstrio.sim.faults import RESET, FaultPlan, server_fault
from ekstrio.sim.messages import Receive, Request, Response, Send, read_body, rest_json_error
from ekstrio.sim.state import SimState

_OIDC_POST = {
    "/client/register": oidc.register_client,
    "/device_authorization": oidc.start_device_authorization,
    "/token": oidc.create_token,
}
_PORTAL_GET = {
    "/assignment/accounts": portal.list_accounts,
    "/assignment/roles": portal.list_account_roles,
    "/federation/credentials": portal.get_role_credentials,
}


class SimApp:
    """ASGI callable; all state lives in :class:`SimState` (touched only by this trio loop)."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.cpu = admin.CpuMeter()
        opts = state.options
        self.faults = FaultPlan(opts.fault_rate, opts.hang_rate, opts.reset_rate)
        # Seeded so a run with the same options misbehaves the same way (given the same order).
        self.rng = random.Random(opts.seed ^ 0x5EED)
        self.latency = opts.latency_ms / 1000.0
        self.jitter = opts.jitter_ms / 1000.0

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        if body is None:
            return
        # hypercorn hands header names over lower-cased; keep the last value of each.
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        raw_path = scope.get("raw_path") or scope["path"].encode()
        req = Request.build(scope["method"], scope["path"], raw_path.decode("latin-1"),
                            scope["query_string"].decode("latin-1"), headers, body)
        stats = self.state.stats
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            response = await self.respond(req)
        finally:
            stats.in_flight -= 1
        stats.requests += 1
        stats.by_api[response.api] = stats.by_api.get(response.api, 0) + 1
        if not response.reset:
            stats.by_status[response.status] = stats.by_status.get(response.status, 0) + 1
        if response.reset:
            # ASGI cannot reset a socket. Send only an interim "100 Continue" and return:
            # hypercorn then closes the connection with no final response, which every client
            # sees as a dropped connection (httpx2 RemoteProtocolError, botocore
            # ConnectionClosedError). A truncated body would not do: botocore reads with
            # enforce_content_length=False and would take an empty body for an answer.
            await send({"type": "http.response.start", "status": 100, "headers": []})
            return
        await send({"type": "http.response.start", "status": response.status,
                    "headers": [*response.headers,
                                (b"content-length", str(len(response.body)).encode())]})
        await send({"type": "http.response.body", "body": response.body})

    async def respond(self, req: Request) -> Response:
        if req.path.startswith("/_sim/"):
            return admin.handle(self.state, req, self.cpu)
        api = _api_of(req)
        if api in ("portal", "eks"):
            fault = self.faults.draw(self.rng)
            if fault == "hang":
                self.state.stats.hangs += 1
                await trio.sleep_forever()
            if fault is not None:
                await self._sleep()
                if fault == "reset":
                    self.state.stats.resets += 1
                    return RESET
                self.state.stats.faults += 1
                return server_fault(api, self.rng)
        await self._sleep()
        return self.dispatch(req, api)

    async def _sleep(self) -> None:
        delay = self.latency + (self.rng.random() * self.jitter if self.jitter else 0.0)
        if delay > 0:
            await trio.sleep(delay)

    def dispatch(self, req: Request, api: str) -> Response:
        state = self.state
        path, method = req.path, req.method
        if api == "oidc":
            if method == "POST" and path in _OIDC_POST:
                return _OIDC_POST[path](state, req)
            if path == "/authorize" and method == "GET":
                return oidc.authorize(state, req)
            return oidc.device_page(state, req)
        if api == "portal":
            token = portal.authorized(state, req)
            if isinstance(token, Response):
                return token
            if method == "POST":
                return portal.logout(state, req, token)
            if not state.buckets.take(("portal", token), state.options.portal_rps,
                                      trio.current_time()):
                state.stats.throttled += 1
                return portal.throttled()
            return _PORTAL_GET[path](state, req)
        if api == "eks":
            auth = eks.authenticate(state, req)
            if isinstance(auth, Response):
                return auth
            creds, region = auth
            if not state.buckets.take(("eks", creds.account_id, region),
                                      state.options.eks_rps, trio.current_time()):
                state.stats.throttled += 1
                return eks.throttled()
            op = eks_access.route(req.raw_path)
            action = op.action if op else ("ListClusters" if path == "/clusters"
                                           else "DescribeCluster")
            refused = eks.scp_denied(state, creds, region, action)
            if refused:
                return refused
            if op is not None:
                return eks_access.handle(state, req, creds, region, op)
            if path == "/clusters":
                return eks.list_clusters(state, req, creds, region)
            return eks.describe_cluster(state, req, creds, region)
        if api == "sts":
            return sts.get_caller_identity(state, req)
        return rest_json_error(404, "UnknownOperationException",
                               f"No operation matches {method} {path}", api="other")


def _api_of(req: Request) -> str:
    path, method = req.path, req.method
    if method == "GET":
        if path in _PORTAL_GET:
            return "portal"
        if path == "/clusters" or (path.startswith("/clusters/") and "/" not in path[10:]
                                   and len(path) > 10) or eks_access.route(req.raw_path):
            return "eks"
        if path in ("/authorize", "/device"):
            return "oidc"
        if path == "/" and ("Action" in req.query):
            return "sts"
    elif method == "POST":
        if path in _OIDC_POST or path == "/device":
            return "oidc"
        if path == "/logout":
            return "portal"
        if path == "/":
            return "sts"
    return "other"


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

