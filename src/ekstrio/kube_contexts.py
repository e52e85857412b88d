"""Pure: the contexts of a kubeconfig, as ``ekstrio access`` checks them.

For each context: the server, the CA data (inline or read from ``certificate-authority``), and
how the user signs in, either an ``exec`` plugin (``ekstrio token …``, ``aws eks get-token …``, any
other) or a static ``token``. Client certificates and other kinds are reported as unsupported.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ContextTarget", "ExecAuth", "contexts_of"]


DEFAULT_EXEC_API = "client.authentication.k8s.io/v1beta1"


@dataclass(frozen=True, slots=True)
class ExecAuth:
    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    api_version: str = DEFAULT_EXEC_API

    @property
    def is_ekstrio_token(self) -> bool:
        return Path(self.command).name == "ekstrio" and self.args[:1] == ("token",)


@dataclass(frozen=True, slots=True)
class ContextTarget:
    name: str
    server: str
    ca_data: str | None = None
    exec: ExecAuth | None = None
    token: str | None = field(default=None, repr=False)
    problem: str = ""  # why it cannot be checked ("" when it can)
    # (account id, region, cluster, role) when ekstrio wrote this context, from its extension
    owner: tuple[str, str, str, str] | None = None


def _named(doc: Mapping[str, Any], section: str, body: str) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for item in doc.get(section) or []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str) \
                and isinstance(item.get(body), Mapping):
            out[item["name"]] = item[body]
    return out


def _ca(cluster: Mapping[str, Any], base: Path) -> tuple[str | None, str]:
    data = cluster.get("certificate-authority-data")
    if isinstance(data, str) and data:
        return data, ""
    path = cluster.get("certificate-authority")
    if isinstance(path, str) and path:
        file = Path(path) if Path(path).is_absolute() else base / path
        try:
            return base64.b64encode(file.read_bytes()).decode(), ""
        except OSError as exc:
            return None, f"cannot read certificate-authority {path}: {exc.strerror}"
    return None, "no certificate-authority-data (the system store is never used)"


def _exec(user: Mapping[str, Any]) -> ExecAuth | None:
    block = user.get("exec")
    if not isinstance(block, Mapping) or not isinstance(block.get("command"), str):
        return None
    args = tuple(str(a) for a in block.get("args") or [])
    env = tuple((str(e.get("name")), str(e.get("value"))) for e in block.get("env") or []
                if isinstance(e, Mapping))
    version = block.get("apiVersion")
    return ExecAuth(block["command"], args, env,
                    version if isinstance(version, str) else DEFAULT_EXEC_API)


def _owner(context: Mapping[str, Any]) -> tuple[str, str, str, str] | None:
    # The extension `ekstrio kubeconfig` puts on the entries it owns (kubeconfig.py).
    for ext in context.get("extensions") or []:
        data = ext.get("extension") if isinstance(ext, Mapping) else None
        if isinstance(ext, Mapping) and ext.get("name") == "ekstrio" \
                and isinstance(data, Mapping) and data.get("managed-by") == "ekstrio":
            return (str(data.get("account-id")), str(data.get("region")),
                    str(data.get("cluster")), str(data.get("role")))
    return None


def contexts_of(doc: Any, *, base: Path, only: Sequence[str] = ()) -> list[ContextTarget]:
    """The contexts of a parsed kubeconfig (``only``: these names, in that order)."""
    if not isinstance(doc, Mapping):
        return []
    clusters = _named(doc, "clusters", "cluster")
    users = _named(doc, "users", "user")
    contexts = _named(doc, "contexts", "context")
    names = list(only) if only else sorted(contexts)
    out: list[ContextTarget] = []
    for name in names:
        context = contexts.get(name)
        if context is None:
            out.append(ContextTarget(name, "", problem="no such context"))
            continue
        cluster = clusters.get(str(context.get("cluster")))
        user = users.get(str(context.get("user")), {})
        if cluster is None or not isinstance(cluster.get("server"), str):
            out.append(ContextTarget(name, "", problem="its cluster has no server"))
            continue
        ca, problem = _ca(cluster, base)
        auth = _exec(user)
        token = user.get("token") if isinstance(user.get("token"), str) else None
        if auth is None and token is None and not problem:
            problem = "its user has neither an exec plugin nor a token"
        out.append(ContextTarget(name, cluster["server"], ca, auth, token, problem,
                                 _owner(context)))
    return out
