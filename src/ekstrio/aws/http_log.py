"""``--debug``: one log line per HTTP attempt, naming the call without any secret in it.

``GET eks.eu-west-1.amazonaws.com eks ListClusters status=200 attempt=1 wait=0.012s
latency=0.084s request-id=…``: method, host, service, operation, the status (and AWS's error
code), which attempt, the time spent waiting for pacing before sending, the answer's latency
and AWS's request id, as much as ``aws --debug`` tells about a 403 or a throttle.

Never a header, a body, a query string or a path parameter's value beyond the operation: the
bearer token, the client secret, role credentials and presigned URLs live there. The operation
is named from the method and the path's shape (REST APIs) or ``X-Amz-Target`` (JSON APIs).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from ekstrio.aws.wire import WireRequest

http_log = logging.getLogger("ekstrio.http")

# (method, path pattern) -> operation, for the REST APIs ekstrio calls.
_OPERATIONS: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern), name) for method, pattern, name in (
        ("GET", r"^/assignment/accounts$", "ListAccounts"),
        ("GET", r"^/assignment/roles$", "ListAccountRoles"),
        ("GET", r"^/federation/credentials$", "GetRoleCredentials"),
        ("POST", r"^/logout$", "Logout"),
        ("POST", r"^/client/register$", "RegisterClient"),
        ("POST", r"^/device_authorization$", "StartDeviceAuthorization"),
        ("POST", r"^/token$", "CreateToken"),
        ("GET", r"^/clusters$", "ListClusters"),
        ("GET", r"^/clusters/[^/]+$", "DescribeCluster"),
        ("GET", r"^/clusters/[^/]+/access-entries$", "ListAccessEntries"),
        ("GET", r"^/clusters/[^/]+/access-entries/[^/]+$", "DescribeAccessEntry"),
        ("GET", r"^/clusters/[^/]+/access-entries/[^/]+/access-policies$",
         "ListAssociatedAccessPolicies"),
    )
)


def operation(request: WireRequest) -> str:
    """The API operation of ``request``, or its method and path's first segment."""
    for name, value in request.headers:
        if name.lower() == "x-amz-target":
            return value.rsplit(".", 1)[-1]
    path = request.path.split("?", 1)[0]
    for method, pattern, found in _OPERATIONS:
        if method == request.method and pattern.match(path):
            return found
    return f"{request.method} /{path.strip('/').split('/', 1)[0]}"


def log_attempt(
    request: WireRequest, url: str, *, service: str, outcome: str, number: int,
    wait: float, latency: float, request_id: str | None,
) -> None:
    """One DEBUG line for one attempt (call only when ``http_log`` is enabled for DEBUG)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"  # never the userinfo of a proxy-style URL
    if parts.port:
        host = f"{host}:{parts.port}"
    http_log.debug("%s %s %s %s %s attempt=%d wait=%.3fs latency=%.3fs request-id=%s",
                   request.method, host, service, operation(request), outcome, number,
                   wait, latency, request_id or "-")
