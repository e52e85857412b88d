"""The ``k8s-aws-v1.`` bearer token EKS accepts: a presigned STS GetCallerIdentity URL.

Protocol (see the protocol reference, section 5): a GET of
``https://sts.{region}.{dnsSuffix}/?Action=GetCallerIdentity&Version=2011-06-15`` presigned
as botocore's ``SigV4QueryAuth`` does (service ``sts``, the cluster's region, ``expires=60``)
with the ``x-k8s-aws-id`` header signed; the token is ``"k8s-aws-v1." + base64url(url)`` without
padding. EKS accepts it until X-Amz-Date + 15 minutes whatever X-Amz-Expires says, so the
ExecCredential expiry is signing time + 14 minutes, like aws-iam-authenticator's.

The STS host is computed here from the region (a few prefixes decide the partition) instead of
loading botocore's endpoint data: kubectl runs this before every request. The real token must
never carry ``AWS_ENDPOINT_URL_STS``, because EKS refuses hosts that are not STS; tests and demos
that verify tokens against the local emulator pass ``sts_url`` explicitly (``ekstrio token``
reads it from ``EKSTRIO_STS_ENDPOINT_FOR_TOKENS``).

The signing is written out with hmac/hashlib rather than calling botocore, whose import alone
costs about 100 ms of every cold ``ekstrio token``; the tests require the URL to be identical to
botocore's ``SigV4QueryAuth`` output for the same credentials and time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ekstrio.model import RoleCredentials

def _q(value: str, safe: str = "-_.~") -> str:
    from urllib.parse import quote

    return quote(value, safe=safe)


TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 (a format prefix, not a secret)
PRESIGN_SECONDS = 60
# EKS honours a token for 15 minutes after X-Amz-Date; expire one minute earlier so a token is
# never used at the very edge of its validity (the authenticator and the AWS CLI do the same).
TOKEN_LIFETIME = timedelta(minutes=14)
CLUSTER_ID_HEADER = "x-k8s-aws-id"
STS_QUERY = "Action=GetCallerIdentity&Version=2011-06-15"

# Region prefix → (partition, dnsSuffix). Checked against botocore's endpoints.json in the tests.
_PARTITIONS: tuple[tuple[str, str, str], ...] = (
    ("cn-", "aws-cn", "amazonaws.com.cn"),
    ("us-gov-", "aws-us-gov", "amazonaws.com"),
    ("us-iso-", "aws-iso", "c2s.ic.gov"),
    ("us-isob-", "aws-iso-b", "sc2s.sgov.gov"),
    ("eu-isoe-", "aws-iso-e", "cloud.adc-e.uk"),
    ("us-isof-", "aws-iso-f", "csp.hci.ic.gov"),
    ("eusc-", "aws-eusc", "amazonaws.eu"),
)


@dataclass(frozen=True, slots=True)
class EksToken:
    """A bearer token and the moment kubectl must stop using it (aware UTC)."""

    token: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"EksToken(expires_at={self.expires_at.isoformat()})"


def partition_of(region: str) -> tuple[str, str]:
    """``(partition, dnsSuffix)`` of ``region``; unknown prefixes are the ``aws`` partition."""
    # Longest prefix first, so "us-isob-" is not taken for "us-iso-".
    for prefix, partition, suffix in sorted(_PARTITIONS, key=lambda p: -len(p[0])):
        if region.startswith(prefix):
            return partition, suffix
    return "aws", "amazonaws.com"


def sts_url(region: str) -> str:
    """The regional STS endpoint of ``region`` (scheme + host, no trailing slash)."""
    if not region or "/" in region or ":" in region:
        raise ValueError(f"not an AWS region: {region!r}")
    return f"https://sts.{region}.{partition_of(region)[1]}"


def amz_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def presigned_url(
    creds: RoleCredentials, cluster_id: str, region: str, *, timestamp: str,
    endpoint_url: str | None = None,
) -> str:
    """The URL ``SigV4QueryAuth(creds, "sts", region, expires=60)`` produces, byte for byte.

    Written with hmac/hashlib because importing botocore costs kubectl ~100 ms on every cold
    token; the unit tests pin it to botocore's own output for the same credentials and time.
    ``timestamp`` is X-Amz-Date (``YYYYMMDDTHHMMSSZ``).
    """
    base = (endpoint_url or sts_url(region)).rstrip("/")
    scheme, _, rest = base.partition("://")
    netloc, slash, path = rest.partition("/")
    path = slash + path if slash else "/"
    host = netloc.lower()
    # botocore signs the host without a default port (RFC 7230 Host header rules).
    default_port = {"https": ":443", "http": ":80"}.get(scheme)
    if default_port and host.endswith(default_port):
        host = host[: -len(default_port)]
    scope = f"{timestamp[:8]}/{region}/sts/aws4_request"
    auth = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", f"{creds.access_key_id}/{scope}"),
            ("X-Amz-Date", timestamp), ("X-Amz-Expires", str(PRESIGN_SECONDS)),
            ("X-Amz-SignedHeaders", "host;x-k8s-aws-id")]
    if creds.session_token:
        auth.append(("X-Amz-Security-Token", creds.session_token))
    params = [("Action", "GetCallerIdentity"), ("Version", "2011-06-15"), *auth]
    canonical_query = "&".join(f"{_q(k)}={_q(v)}" for k, v in sorted(params))
    cluster_value = " ".join(cluster_id.split())  # SigV4 trims and folds header whitespace
    canonical = "\n".join(["GET", _q(path, safe="/-_.~"), canonical_query, f"host:{host}",
                           f"{CLUSTER_ID_HEADER}:{cluster_value}", "", "host;x-k8s-aws-id",
                           hashlib.sha256(b"").hexdigest()])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", timestamp, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(f"AWS4{creds.secret_access_key}".encode(), timestamp[:8])
    for part in (region, "sts", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    query = "&".join(f"{k}={_q(v)}" for k, v in params)
    return f"{scheme}://{netloc}{path}?{query}&X-Amz-Signature={signature}"


def presign(
    creds: RoleCredentials,
    cluster_id: str,
    region: str,
    *,
    endpoint_url: str | None = None,
    now: datetime | None = None,
) -> EksToken:
    """Sign a token for ``cluster_id`` (the cluster name, or an Outposts cluster's id).

    ``endpoint_url`` replaces the STS host (emulator only); the signing region is always
    ``region``. ``now`` pins the signing time (tests).
    """
    signed_at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    url = presigned_url(creds, cluster_id, region, timestamp=amz_date(signed_at),
                        endpoint_url=endpoint_url)
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    # EKS honours the token until X-Amz-Date + 15 min: the expiry counts from the signed time.
    return EksToken(TOKEN_PREFIX + encoded, signed_at + TOKEN_LIFETIME)


def decode_url(token: str) -> str:
    """The presigned URL inside a token (for tests and diagnostics)."""
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError("not a k8s-aws-v1 token")
    body = token[len(TOKEN_PREFIX):]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
