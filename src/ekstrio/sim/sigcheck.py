"""SigV4 verification: the sim recomputes every signature with botocore and the secret it issued.

Two forms:

* :func:`verify_header` — an ``Authorization: AWS4-HMAC-SHA256 ...`` header (EKS, STS calls).
* :func:`verify_presigned` — a presigned STS ``GetCallerIdentity`` URL, as inside an EKS bearer
  token (``k8s-aws-v1.`` + base64url(URL)), with the checks aws-iam-authenticator applies.

Both return an :class:`Identity` or a :class:`SigFailure` whose ``kind`` each API maps to its own
error shape. The canonical request is rebuilt from the request *as sent* (raw path and raw query),
so a client that encodes differently from what it signed is caught, as AWS would catch it.
"""

from __future__ import annotations

import base64
import calendar
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ekstrio.sim.state import IssuedCredentials

#: AWS refuses a header-signed request whose X-Amz-Date is more than 5 minutes off.
MAX_SKEW = 300.0
#: aws-iam-authenticator: a presigned token is valid until X-Amz-Date + 15 min, whatever
#: X-Amz-Expires says, and X-Amz-Expires itself must be within 0..900.
PRESIGN_VALIDITY = 900.0
MAX_TOKEN_BYTES = 4096
TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - a prefix, not a secret
_ALLOWED_PRESIGN_PARAMS = frozenset({
    "action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
    "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders",
})

Lookup = Callable[[str], IssuedCredentials | None]


@dataclass(frozen=True)
class Identity:
    credentials: IssuedCredentials
    region: str
    service: str


@dataclass(frozen=True)
class SigFailure:
    # missing | incomplete | unrecognized | expired | signature | skew | scope
    kind: str
    message: str


def parse_amz_date(value: str) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        return None


def _parse_authorization(value: str) -> dict[str, str] | None:
    algo, _, rest = value.partition(" ")
    if algo != "AWS4-HMAC-SHA256":
        return None
    parts: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            return None
        parts[key] = val
    if not {"Credential", "SignedHeaders", "Signature"} <= parts.keys():
        return None
    return parts


def _check_credentials(akid: str, token: str | None, lookup: Lookup,
                       now: float) -> IssuedCredentials | SigFailure:
    creds = lookup(akid)
    if creds is None or token != creds.session_token:
        return SigFailure("unrecognized", "The security token included in the request is invalid.")
    if creds.expires_at <= now:
        return SigFailure("expired", "The security token included in the request is expired")
    return creds


def verify_header(*, method: str, host: str, raw_path: str, raw_query: str,
                  headers: Mapping[str, str], body: bytes, service: str, lookup: Lookup,
                  now: float) -> Identity | SigFailure:
    """Verify a header-signed SigV4 request (``headers`` has lower-case names)."""
    auth = headers.get("authorization")
    if not auth:
        return SigFailure("missing", "Missing Authentication Token")
    parts = _parse_authorization(auth)
    if parts is None:
        return SigFailure("incomplete", "Authorization header requires 'Credential', "
                                        "'Signature' and 'SignedHeaders' parameters.")
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return SigFailure("incomplete", "Credential should have 5 parts: "
                                        "AKID/date/region/service/aws4_request.")
    akid, scope_date, region, scope_service, _ = scope
    if scope_service != service:
        return SigFailure("scope", f"Credential should be scoped to correct service: '{service}'.")
    found = _check_credentials(akid, headers.get("x-amz-security-token"), lookup, now)
    if isinstance(found, SigFailure):
        return found
    amz_date = headers.get("x-amz-date", "")
    stamp = parse_amz_date(amz_date)
    if stamp is None:
        return SigFailure("incomplete", "Authorization header requires existence of either a "
                                        "'X-Amz-Date' or a 'Date' header.")
    if abs(stamp - now) > MAX_SKEW:
        now_text = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        return SigFailure("skew", f"Signature expired: {amz_date} is now earlier than "
                                  f"{now_text} (5 min.)" if stamp < now else
                                  f"Signature not yet current: {amz_date} is still later than "
                                  f"{now_text} (5 min.)")
    if scope_date != amz_date[:8]:
        return SigFailure("signature", "Date in Credential scope does not match YYYYMMDD from "
                                       "ISO-8601 version of date from HTTP.")
    signed = parts["SignedHeaders"].split(";")
    if "host" not in signed:
        return SigFailure("signature", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    sign_headers = {}
    for name in signed:
        if name not in headers and name != "host":
            return SigFailure("signature", f"Signed header {name!r} is missing from the request.")
        sign_headers[name] = headers.get(name, host)
    url = f"http://{headers.get('host', host)}{raw_path}" + (f"?{raw_query}" if raw_query else "")
    req = AWSRequest(method=method, url=url, headers=sign_headers, data=body)
    req.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(akid, found.secret_access_key, found.session_token),
                       service, region)
    canonical = signer.canonical_request(req)
    expected = signer.signature(signer.string_to_sign(req, canonical), req)
    if not hmac.compare_digest(expected, parts["Signature"]):
        return SigFailure("signature", "The request signature we calculated does not match the "
                                       "signature you provided. Check your AWS Secret Access Key "
                                       "and signing method. Consult the service documentation "
                                       "for details.")
    return Identity(found, region, service)


def decode_eks_token(token: str) -> str | SigFailure:
    """The presigned URL inside a ``k8s-aws-v1.`` bearer token."""
    if len(token) > MAX_TOKEN_BYTES:
        return SigFailure("incomplete", "token is too large")
    if not token.startswith(TOKEN_PREFIX):
        return SigFailure("incomplete", f"token is missing expected {TOKEN_PREFIX!r} prefix")
    payload = token[len(TOKEN_PREFIX):]
    try:
        # Strict, like the authenticator's RawURLEncoding: no skipping of stray characters.
        raw = base64.b64decode(payload + "=" * (-len(payload) % 4), altchars=b"-_",
                               validate=True)
        return raw.decode()
    except (ValueError, UnicodeDecodeError):
        return SigFailure("incomplete", "token is not base64url")


def verify_presigned(url: str, *, cluster_name: str, lookup: Lookup, now: float,
                     sts_hosts: frozenset[str], local_hosts: frozenset[str],
                     require_cluster_header: bool = True) -> Identity | SigFailure:
    """aws-iam-authenticator's checks on a presigned GetCallerIdentity URL, then the signature.

    ``sts_hosts`` are the real STS hosts of the partition (https only); ``local_hosts`` are the
    sim's own ``host:port`` (http allowed), for tokens built with ``AWS_ENDPOINT_URL_STS``.
    """
    parts = urlsplit(url)
    host = parts.netloc.lower()
    if host in sts_hosts:
        if parts.scheme != "https":
            return SigFailure("incomplete", f"unexpected scheme {parts.scheme!r} in pre-signed URL")
    elif host in local_hosts:
        if parts.scheme not in ("http", "https"):
            return SigFailure("incomplete", f"unexpected scheme {parts.scheme!r} in pre-signed URL")
    else:
        return SigFailure("incomplete", f"unexpected hostname {host!r} in pre-signed URL")
    if parts.path != "/":
        return SigFailure("incomplete", "unexpected path in pre-signed URL")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query: dict[str, str] = {}
    for key, value in pairs:
        low = key.lower()
        if low not in _ALLOWED_PRESIGN_PARAMS:
            return SigFailure("incomplete", f"non-allowlisted query parameter {key!r}")
        if low in query:
            return SigFailure("incomplete", f"query parameter {key!r} appears more than once")
        query[low] = value
    if query.get("action") != "GetCallerIdentity":
        return SigFailure("incomplete", "unexpected action parameter in pre-signed URL")
    signed = query.get("x-amz-signedheaders", "").split(";")
    if require_cluster_header and "x-k8s-aws-id" not in signed:
        return SigFailure("incomplete", "client did not sign the x-k8s-aws-id header in the "
                                        "pre-signed URL")
    try:
        expires = int(query.get("x-amz-expires", ""))
    except ValueError:
        return SigFailure("incomplete", "X-Amz-Expires is not a number")
    if not 0 <= expires <= PRESIGN_VALIDITY:
        return SigFailure("incomplete", "X-Amz-Expires parameter in pre-signed URL is out of "
                                        "range 0..900")
    amz_date = query.get("x-amz-date", "")
    stamp = parse_amz_date(amz_date)
    if stamp is None:
        return SigFailure("incomplete", "X-Amz-Date is missing or malformed")
    if now > stamp + PRESIGN_VALIDITY:
        return SigFailure("expired", "X-Amz-Date parameter is expired (15 minute expiration)")
    if stamp > now + MAX_SKEW:
        return SigFailure("skew", "X-Amz-Date is in the future")
    scope = query.get("x-amz-credential", "").split("/")
    if len(scope) != 5 or scope[3] != "sts" or scope[4] != "aws4_request":
        return SigFailure("incomplete", "X-Amz-Credential is malformed")
    akid, _date, region = scope[0], scope[1], scope[2]
    found = _check_credentials(akid, query.get("x-amz-security-token"), lookup, now)
    if isinstance(found, SigFailure):
        return found
    values = {"host": parts.netloc, "x-k8s-aws-id": cluster_name}
    if any(name not in values for name in signed):
        return SigFailure("signature", "pre-signed URL signs a header the verifier cannot know")
    # Canonical query = the query as sent, minus the signature itself.
    unsigned_query = "&".join(p for p in parts.query.split("&")
                              if not p.startswith("X-Amz-Signature="))
    req = AWSRequest(method="GET", url=f"{parts.scheme}://{parts.netloc}/?{unsigned_query}",
                     headers={name: values[name] for name in signed})
    req.context["timestamp"] = amz_date
    signer = SigV4QueryAuth(Credentials(akid, found.secret_access_key, found.session_token),
                            "sts", region, expires=expires)
    canonical = signer.canonical_request(req)
    expected = signer.signature(signer.string_to_sign(req, canonical), req)
    if not hmac.compare_digest(expected, query.get("x-amz-signature", "")):
        return SigFailure("signature", "The request signature we calculated does not match the "
                                       "signature you provided.")
    return Identity(found, region, "sts")
