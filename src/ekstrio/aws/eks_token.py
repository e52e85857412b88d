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

The signing is :mod:`ekstrio.aws.sigv4`, the same pure, standard-library signer the scan uses,
rather than botocore, whose import alone costs about 100 ms of every cold ``ekstrio token``; the
tests require the URL to be identical to botocore's ``SigV4QueryAuth`` output for the same
credentials and time.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ekstrio.aws.sigv4 import SigningIdentity
from ekstrio.aws.sigv4 import presigned_url as sigv4_presigned_url

if TYPE_CHECKING:
    from ekstrio.model import RoleCredentials


# Tests and demos only: the STS URL to presign instead of the real host (see the docstring).
STS_OVERRIDE_ENV = "EKSTRIO_STS_ENDPOINT_FOR_TOKENS"
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


def partition_and_suffix(region: str) -> tuple[str, str]:
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
    return f"https://sts.{region}.{partition_and_suffix(region)[1]}"


def amz_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def presigned_url(
    creds: RoleCredentials, cluster_id: str, region: str, *, timestamp: str,
    endpoint_url: str | None = None,
) -> str:
    """The URL ``SigV4QueryAuth(creds, "sts", region, expires=60)`` produces, byte for byte.

    Signed by :mod:`ekstrio.aws.sigv4`, the scan's signer, which imports only the standard
    library (botocore's import alone would cost kubectl ~100 ms on every cold token); the unit
    tests pin it to botocore's own output for the same credentials and time. ``timestamp`` is
    X-Amz-Date (``YYYYMMDDTHHMMSSZ``).
    """
    base = (endpoint_url or sts_url(region)).rstrip("/")
    identity = SigningIdentity(creds.access_key_id, creds.secret_access_key,
                               creds.session_token or None, region, "sts")
    return sigv4_presigned_url(identity, "GET", f"{base}/?{STS_QUERY}",
                               ((CLUSTER_ID_HEADER, cluster_id),), timestamp=timestamp,
                               expires=PRESIGN_SECONDS)


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
