"""``ekstrio access``: check the contexts of an existing kubeconfig live.

For each context, get the token kubectl would send (an ``ekstrio token`` exec plugin in
process; any other exec plugin run as kubectl runs it, with ``KUBERNETES_EXEC_INFO``; a static
token as it is), then ask the API server (:func:`ekstrio.kube_live.check_live`). Contexts are
checked concurrently, a few at a time; every failure is a result, never an exception.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import trio

from ekstrio.access_live import LiveOutcome, LiveResult, checks_for
from ekstrio.errors import EkstrioError
from ekstrio.kube_contexts import ContextTarget, ExecAuth
from ekstrio.kube_live import DEFAULT_BOUND, check_live

__all__ = ["ContextResult", "check_contexts"]

IN_FLIGHT = 8
# An exec plugin that takes longer than this to print a token is reported, not waited for.
EXEC_TIMEOUT = 60.0
_EXEC_OUTPUT_CAP = 64 * 1024


@dataclass(frozen=True, slots=True)
class ContextResult:
    context: str
    server: str
    result: LiveResult

    def to_json(self) -> dict[str, object]:
        return {"context": self.context, "server": self.server, **self.result.to_json()}


class _NoToken(Exception):
    pass


async def _exec_token(auth: ExecAuth, env: Mapping[str, str]) -> str:
    if auth.is_ekstrio_token:
        from ekstrio import token_fast
        from ekstrio.exec_plugin import parse_args

        def produce() -> str:
            args = parse_args(auth.args[1:])
            return token_fast.produce(args, {**env, **dict(auth.env)}, datetime.now(UTC))[0]

        try:
            return await trio.to_thread.run_sync(produce)
        except EkstrioError as exc:
            raise _NoToken(str(exc).splitlines()[0]) from exc
    info = {"kind": "ExecCredential", "apiVersion": auth.api_version,
            "spec": {"interactive": False}}
    with trio.move_on_after(EXEC_TIMEOUT) as scope:
        try:
            done = await trio.run_process(
                [auth.command, *auth.args], capture_stdout=True, capture_stderr=True,
                check=False, stdin=b"",
                env={**env, **dict(auth.env), "KUBERNETES_EXEC_INFO": json.dumps(info)})
        except OSError as exc:
            raise _NoToken(f"cannot run {auth.command}: {exc.strerror}") from exc
    if scope.cancelled_caught:
        raise _NoToken(f"{auth.command} printed no token within {EXEC_TIMEOUT:g} s")
    if done.returncode != 0:
        first = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        raise _NoToken(f"{auth.command} failed: {first[0] if first else done.returncode}")
    try:
        doc = json.loads(done.stdout[:_EXEC_OUTPUT_CAP])
        token = doc["status"]["token"]
    except (ValueError, KeyError, TypeError) as exc:
        raise _NoToken(f"{auth.command} printed no ExecCredential token") from exc
    if not isinstance(token, str) or not token:
        raise _NoToken(f"{auth.command} printed an empty token")
    return token


async def _one(target: ContextTarget, env: Mapping[str, str], bound: float,
               namespaces: Sequence[str]) -> LiveResult:
    if target.problem:
        return LiveResult(LiveOutcome.ERROR, detail=target.problem)
    try:
        if target.exec is not None:
            token = await _exec_token(target.exec, env)
        else:
            token = target.token or ""
    except _NoToken as exc:
        return LiveResult(LiveOutcome.ERROR, detail=f"no token: {exc}")
    return await check_live(target.server, target.ca_data, token, bound=bound,
                            checks=checks_for(namespaces))


Owner = tuple[str, str, str, str]


async def check_contexts(
    targets: Sequence[ContextTarget], *, env: Mapping[str, str] | None = None,
    bound: float = DEFAULT_BOUND, namespaces: Mapping[Owner, Sequence[str]] | None = None,
) -> list[ContextResult]:
    """Every target's live result, in the targets' order. ``namespaces``: per context owner,
    the namespaces its access policies name (from the last `scan --access`), checked too."""
    env = dict(os.environ) if env is None else env
    results: dict[int, LiveResult] = {}
    slots = trio.CapacityLimiter(IN_FLIGHT)

    async def run(index: int, target: ContextTarget) -> None:
        async with slots:
            extra = (namespaces or {}).get(target.owner, ()) if target.owner else ()
            results[index] = await _one(target, env, bound, extra)

    async with trio.open_nursery() as nursery:
        for index, target in enumerate(targets):
            nursery.start_soon(run, index, target)
    return [ContextResult(t.name, t.server, results[i]) for i, t in enumerate(targets)]
