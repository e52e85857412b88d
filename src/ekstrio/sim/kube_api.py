"""The Kubernetes API of the sim's clusters (ASGI, behind the TLS listener of ``kube_site``).

Paths are ``/<account>/<region>/<cluster>/<kubernetes path>``. A bearer EKS token is verified
like the admin route does it (aws-iam-authenticator's checks, then the presigned signature,
``x-k8s-aws-id`` = the cluster name); the caller is then mapped to a user by ``kube_rbac``.
Answers as a kube-apiserver gives them: 401 ``Unauthorized`` Status for a bad token or an
unmapped role, 403 ``Forbidden`` Status naming the user for a denied request, 201 for the
self reviews. Served: ``/version``, discovery (``/api``, ``/api/v1``, ``/apis``, the two auth
groups), SelfSubjectReview, SelfSubjectAccessReview, and empty lists of namespaces and pods so
that ``kubectl get`` has something to show.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from ekstrio.sim import admin, kube_proto
from ekstrio.sim.access import NAMESPACES, Reach
from ekstrio.sim.kube_rbac import Caller, KubeUser, allowed, authenticate, path_allowed
from ekstrio.sim.messages import Receive, Send, read_body
from ekstrio.sim.principals import (
    assumed_role_arn,
    iam_role_arn,
    role_id,
    sso_role_name,
    sso_role_path,
)
from ekstrio.sim.state import SimState

Answer = tuple[int, dict[str, Any]]

_AUTHN, _AUTHZ = "authentication.k8s.io", "authorization.k8s.io"
_RESOURCES: dict[str, list[tuple[str, str, bool, list[str]]]] = {
    "v1": [("namespaces", "Namespace", False, ["ns"]), ("pods", "Pod", True, ["po"]),
           ("secrets", "Secret", True, [])],
    f"{_AUTHN}/v1": [("selfsubjectreviews", "SelfSubjectReview", False, []),
                     ("tokenreviews", "TokenReview", False, [])],
    f"{_AUTHZ}/v1": [("selfsubjectaccessreviews", "SelfSubjectAccessReview", False, []),
                     ("selfsubjectrulesreviews", "SelfSubjectRulesReview", True, []),
                     ("subjectaccessreviews", "SubjectAccessReview", False, [])],
}


def status(code: int, reason: str, message: str) -> Answer:
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "code": code}


def _unauthorized() -> Answer:
    return status(401, "Unauthorized", "Unauthorized")


def _forbidden(user: str, verb: str, resource: str, group: str, namespace: str | None) -> Answer:
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return status(403, "Forbidden", f'{resource} is forbidden: User "{user}" cannot {verb} '
                                    f'resource "{resource}" in API group "{group}" {where}')


def _resource_list(group_version: str) -> dict[str, Any]:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": [{"name": name, "singularName": kind.lower(), "namespaced": ns,
                           "kind": kind, "shortNames": short,
                           "verbs": ["create"] if "review" in name.lower()
                           else ["get", "list", "watch", "create", "delete"]}
                          for name, kind, ns, short in _RESOURCES[group_version]]}


def _discovery(path: str) -> dict[str, Any] | None:
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}]}
    if path == "/api/v1":
        return _resource_list("v1")
    if path == "/apis":
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
             "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}}
            for g in (_AUTHN, _AUTHZ)]}
    if path.startswith("/apis/") and path[6:] in _RESOURCES:
        return _resource_list(path[6:])
    return None


def _version(cluster: dict[str, Any]) -> dict[str, Any]:
    minor = cluster["version"].split(".")[1]
    return {"major": "1", "minor": minor, "gitVersion": f"v{cluster['version']}.0-eks-0000000",
            "gitCommit": "0" * 40, "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
            "goVersion": "go1.23.0", "compiler": "gc", "platform": "linux/amd64"}


def _self_review(user: KubeUser, version: str) -> Answer:
    return 201, {"kind": "SelfSubjectReview", "apiVersion": f"{_AUTHN}/{version}",
                 "metadata": {"creationTimestamp": None},
                 "status": {"userInfo": {"username": user.username, "uid": user.uid,
                                         "groups": list(user.groups), "extra": user.extra}}}


def _access_review(user: KubeUser, body: dict[str, Any]) -> Answer:
    spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
    attrs = spec.get("resourceAttributes") if isinstance(spec, dict) else None
    other = spec.get("nonResourceAttributes") if isinstance(spec, dict) else None
    if isinstance(attrs, dict):
        ok = allowed(user, verb=str(attrs.get("verb", "")), group=str(attrs.get("group", "")),
                     resource=str(attrs.get("resource", "")),
                     namespace=str(attrs["namespace"]) if attrs.get("namespace") else None)
    elif isinstance(other, dict):
        ok = path_allowed(user, verb=str(other.get("verb", "")), path=str(other.get("path", "")))
    else:
        return status(422, "Invalid", "SelfSubjectAccessReview.authorization.k8s.io is invalid: "
                                      "spec: resourceAttributes or nonResourceAttributes")
    reason = "EKS access or RBAC allows it" if ok else ""
    return 201, {"kind": "SelfSubjectAccessReview", "apiVersion": f"{_AUTHZ}/v1",
                 "metadata": {"creationTimestamp": None}, "spec": spec,
                 "status": {"allowed": ok, **({"reason": reason} if reason else {})}}


def _empty_list(kind: str) -> Answer:
    return 200, {"kind": f"{kind}List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
                 "items": [] if kind == "Pod" else [
                     {"metadata": {"name": n}, "status": {"phase": "Active"}}
                     for n in (*NAMESPACES, "kube-system")]}


class KubeApp:
    """ASGI callable for every served cluster; shares :class:`SimState` with the AWS app."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    def caller(self, token: str, cluster: str) -> Caller | None:
        found = admin.verify_eks_token(self.state, token, cluster)
        if not found["ok"]:
            return None
        org = self.state.org
        account, ps = str(found["account_id"]), str(found["role_name"])
        name = sso_role_name(org.seed, account, ps)
        return Caller(account, iam_role_arn(org.partition, account, name,
                                            sso_role_path(org.sso_region)),
                      assumed_role_arn(org.partition, account, name, org.user), org.user,
                      str(found["access_key_id"]), role_id(account, name))

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """(status, JSON document) for one request to a cluster endpoint."""
        parts = path.split("/", 4)
        if len(parts) < 4:
            return status(404, "NotFound", "the server could not find the requested resource")
        account, region, name = parts[1], parts[2], unquote(parts[3])
        access = self.state.org.access.get((account, region, name))
        if access is None or access.reach is not Reach.PUBLIC:
            return status(404, "NotFound", "the server could not find the requested resource")
        cluster = next(c for c in self.state.org.clusters_in(account, region)
                       if c["name"] == name)
        rest = "/" + (parts[4] if len(parts) > 4 else "")
        rest = rest.rstrip("/") or "/"
        auth = headers.get("authorization", "")
        if not auth:
            # Anonymous: EKS lets it read /version and health, nothing else.
            if method == "GET" and rest in ("/version", "/healthz", "/livez", "/readyz"):
                return 200, _version(cluster) if rest == "/version" else {}
            return status(403, "Forbidden", f'forbidden: User "system:anonymous" cannot '
                                            f'{method.lower()} path "{rest}"')
        scheme, _, token = auth.partition(" ")
        caller = self.caller(token.strip(), name) if scheme.lower() == "bearer" else None
        user = authenticate(access, caller) if caller is not None else None
        if user is None:
            return _unauthorized()
        return self.route(user, cluster, method, rest, body,
                          protobuf="protobuf" in headers.get("content-type", ""))

    def route(self, user: KubeUser, cluster: dict[str, Any], method: str, path: str,
              body: bytes, *, protobuf: bool = False) -> Answer:
        if method == "GET":
            if path == "/version":
                return 200, _version(cluster)
            doc = _discovery(path)
            if doc is not None:
                return 200, doc
            if path == "/api/v1/namespaces":
                if allowed(user, verb="list", group="", resource="namespaces", namespace=None):
                    return _empty_list("Namespace")
                return _forbidden(user.username, "list", "namespaces", "", None)
            bits = path.split("/")
            if len(bits) == 6 and bits[:4] == ["", "api", "v1", "namespaces"] \
                    and bits[5] == "pods":
                if allowed(user, verb="list", group="", resource="pods", namespace=bits[4]):
                    return _empty_list("Pod")
                return _forbidden(user.username, "list", "pods", "", bits[4])
        elif method == "POST":
            for version in ("v1", "v1beta1"):
                if path == f"/apis/{_AUTHN}/{version}/selfsubjectreviews":
                    return _self_review(user, version)
            if path == f"/apis/{_AUTHZ}/v1/selfsubjectaccessreviews":
                try:
                    data = kube_proto.access_review(body) if protobuf \
                        else json.loads(body or b"{}")
                except ValueError:
                    return status(400, "BadRequest", "the request body cannot be decoded")
                return _access_review(user, data if isinstance(data, dict) else {})
        return status(404, "NotFound", "the server could not find the requested resource")

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        if body is None:
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        code, doc = self.answer(scope["method"], raw, headers, body)
        self.state.stats.by_api["kube"] = self.state.stats.by_api.get("kube", 0) + 1
        out = json.dumps(doc, separators=(",", ":")).encode()
        await send({"type": "http.response.start", "status": code, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(out)).encode()),
            (b"cache-control", b"no-cache, private")]})
        await send({"type": "http.response.body", "body": out})
