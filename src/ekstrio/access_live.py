"""Pure: the live check's requests and answers ("what the cluster says").

With the token kubectl would send, ask the API server who we are
(``SelfSubjectReview``, ``authentication.k8s.io/v1``; ``v1beta1`` on servers older than 1.28) and
whether we may do a few things (``SelfSubjectAccessReview``, ``authorization.k8s.io/v1``): list
namespaces, get pods in ``default``, and get pods in each namespace the EKS API named. The I/O is
in :mod:`ekstrio.kube_live`.

Everything the server answers is untrusted: bodies are capped (:data:`BODY_CAP`), JSON is read
defensively, and only ``https`` endpoints from the inventory are ever contacted.
"""

from __future__ import annotations

import base64
import binascii
import json
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "BODY_CAP",
    "Check",
    "LiveOutcome",
    "LiveResult",
    "access_review_body",
    "api_url",
    "checks_for",
    "parse_access_review",
    "parse_self_subject_review",
    "self_subject_review_body",
    "ssl_context_for",
]

BODY_CAP = 64 * 1024
SELF_SUBJECT_REVIEW_PATHS = (
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews",
)
ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


class LiveOutcome(StrEnum):
    OK = "ok"                    # signed in; `rights` says what it may do
    UNAUTHORIZED = "unauthorized"  # 401: the cluster does not map this role (kubectl: Unauthorized)
    FORBIDDEN = "forbidden"      # signed in, and every check was denied
    UNREACHABLE = "unreachable"  # no answer within the bound (private endpoint, firewall)
    TLS_ERROR = "tls-error"      # the server's certificate does not chain to the cluster's CA
    ERROR = "error"              # anything else (an unexpected status, a garbled answer)

    @property
    def gets_in(self) -> bool:
        return self is LiveOutcome.OK


@dataclass(frozen=True, slots=True)
class Check:
    """One SelfSubjectAccessReview: may I ``verb`` ``resource`` (in ``namespace``)?"""

    verb: str
    resource: str
    namespace: str | None = None

    @property
    def name(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {self.resource}{where}"


BASE_CHECKS = (Check("list", "namespaces"), Check("get", "pods", "default"))


def checks_for(namespaces: Iterable[str] = ()) -> tuple[Check, ...]:
    """The base checks plus ``get pods`` in each namespace an access policy names."""
    extra = [Check("get", "pods", ns) for ns in dict.fromkeys(namespaces) if ns != "default"]
    return (*BASE_CHECKS, *extra)


@dataclass(frozen=True, slots=True)
class LiveResult:
    outcome: LiveOutcome
    username: str | None = None
    groups: tuple[str, ...] = ()
    rights: tuple[tuple[str, bool], ...] = ()
    detail: str = ""

    @property
    def label(self) -> str:
        if self.outcome is LiveOutcome.OK:
            allowed = [name for name, ok in self.rights if ok]
            return f"ok({', '.join(allowed)})" if allowed else "ok"
        return self.outcome.value

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome.value, "username": self.username,
                "groups": list(self.groups),
                "rights": dict(self.rights),
                "detail": self.detail or None, "label": self.label}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> LiveResult:
        rights = doc.get("rights") or {}
        return cls(LiveOutcome(doc["outcome"]), doc.get("username"),
                   tuple(doc.get("groups") or ()),
                   tuple((str(k), bool(v)) for k, v in rights.items()),
                   str(doc.get("detail") or ""))


# -- requests ---------------------------------------------------------------------------------


def api_url(endpoint: str, path: str) -> str:
    """``endpoint`` (https, maybe with a path prefix) + an API path. Raises ValueError for
    anything but an https URL with a host: the endpoint comes from an AWS answer."""
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise ValueError("the cluster endpoint is not a plain https URL")
    return f"https://{parts.netloc}{parts.path.rstrip('/')}{path}"


def self_subject_review_body(path: str) -> bytes:
    version = path.split("/")[3]
    return json.dumps({"apiVersion": f"authentication.k8s.io/{version}",
                       "kind": "SelfSubjectReview"}).encode()


def access_review_body(check: Check) -> bytes:
    attributes: dict[str, str] = {"verb": check.verb, "resource": check.resource}
    if check.namespace:
        attributes["namespace"] = check.namespace
    return json.dumps({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                       "spec": {"resourceAttributes": attributes}}).encode()


def ssl_context_for(ca_data: str) -> ssl.SSLContext:
    """A context that trusts only the cluster's CA (``certificateAuthority.data``: base64 PEM),
    never the system store. Raises ValueError when the data is not a certificate."""
    try:
        pem = base64.b64decode(ca_data, validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError("the cluster's CA data is not base64 PEM") from exc
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verify + check_hostname on
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(cadata=pem)
    except (ssl.SSLError, ValueError) as exc:
        raise ValueError("the cluster's CA data is not a certificate") from exc
    return context


# -- answers ----------------------------------------------------------------------------------


def _object(body: bytes) -> Mapping[str, Any]:
    if len(body) > BODY_CAP:
        raise ValueError("the answer is too large")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("the answer is not JSON") from exc
    if not isinstance(doc, dict):
        raise ValueError("the answer is not a JSON object")  # noqa: TRY004 - bad data, not a bad call
    return doc


def parse_self_subject_review(body: bytes) -> tuple[str | None, tuple[str, ...]]:
    """(username, groups) from a SelfSubjectReview answer."""
    status = _object(body).get("status")
    info = status.get("userInfo") if isinstance(status, Mapping) else None
    if not isinstance(info, Mapping):
        raise ValueError("no status.userInfo in the answer")  # noqa: TRY004 - bad data
    username = info.get("username")
    groups = info.get("groups")
    return (username if isinstance(username, str) else None,
            tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else ())


def parse_access_review(body: bytes) -> bool:
    status = _object(body).get("status")
    allowed = status.get("allowed") if isinstance(status, Mapping) else None
    if not isinstance(allowed, bool):
        raise ValueError("no status.allowed in the answer")  # noqa: TRY004 - bad data
    return allowed
