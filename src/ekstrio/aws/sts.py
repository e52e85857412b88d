"""STS GetCallerIdentity with a role's credentials: which IAM role a portal role really is.

The portal names a role by its permission set (``AdministratorAccess``); EKS access entries and
aws-auth name the IAM role behind it (``AWSReservedSSO_AdministratorAccess_0123456789abcdef``).
GetCallerIdentity answers the assumed-role ARN,
``arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice``,
which carries the role's name but not its path (see docs/access.md).

Protocol (botocore's ``sts`` 2011-06-15 model, ``protocol: query``): ``POST /`` with the form body
``Action=GetCallerIdentity&Version=2011-06-15``, SigV4-signed for service ``sts``; the result is
wrapped in ``GetCallerIdentityResult`` and has ``Account``, ``Arn`` and ``UserId``. STS answers
XML by default; with ``Accept: application/json`` it answers
``{"GetCallerIdentityResponse": {"GetCallerIdentityResult": {...}}}`` (aws-iam-authenticator asks
for that form). Both are read; the XML through :func:`ekstrio.aws.wire.read_xml` (size-capped,
DOCTYPE refused).

Rate-limit scope: ``("sts", account_id, region)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ekstrio.aws.wire import XML_CAP, WireRequest, read_xml
from ekstrio.errors import AwsError
from ekstrio.model import RoleCredentials

if TYPE_CHECKING:
    from ekstrio.aws.endpoints import Endpoint
    from ekstrio.aws.transport import Transport

__all__ = [
    "SERVICE",
    "CallerIdentity",
    "caller_scope",
    "get_caller_identity",
    "get_caller_identity_request",
    "parse_caller_identity",
]

SERVICE = "sts"
_FORM = b"Action=GetCallerIdentity&Version=2011-06-15"


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    """GetCallerIdentity's answer. ``arn`` is the assumed-role (session) ARN for a role."""

    account: str
    arn: str
    user_id: str

    @property
    def partition(self) -> str:
        parts = self.arn.split(":", 5)
        return parts[1] if len(parts) == 6 else "aws"

    @property
    def role_name(self) -> str | None:
        """The IAM role's name for an assumed-role ARN (None for users and others)."""
        parts = self.arn.split(":", 5)
        if len(parts) != 6:
            return None
        resource = parts[5]
        if not resource.startswith("assumed-role/"):
            return None
        pieces = resource.split("/")
        # assumed-role/<role name>/<session name>: the name never has a path here.
        return pieces[1] if len(pieces) >= 3 and pieces[1] else None


def caller_scope(account_id: str, region: str) -> tuple[str, str, str]:
    return ("sts", account_id, region)


def get_caller_identity_request() -> WireRequest:
    return WireRequest(
        "POST",
        "/",
        headers=(
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("Accept", "application/json"),
        ),
        body=_FORM,
    )


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidResponse", message, service=SERVICE)


def _fields(result: Mapping[str, Any]) -> CallerIdentity:
    values = {key: result.get(key) for key in ("Account", "Arn", "UserId")}
    if not all(isinstance(v, str) and v for v in values.values()):
        raise _invalid("GetCallerIdentity: Account, Arn or UserId is missing")
    account, arn, user_id = (str(values[k]) for k in ("Account", "Arn", "UserId"))
    if not (account.isdigit() and len(account) == 12 and arn.startswith("arn:")):
        raise _invalid("GetCallerIdentity: the account or ARN is malformed")
    return CallerIdentity(account=account, arn=arn, user_id=user_id)


def parse_caller_identity(body: bytes) -> CallerIdentity:
    """GetCallerIdentity's body (JSON or XML) → :class:`CallerIdentity`."""
    if len(body) > XML_CAP:
        raise _invalid("GetCallerIdentity: the answer is too large")
    text = body.lstrip()
    if text.startswith(b"{"):
        try:
            doc = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise _invalid("GetCallerIdentity: the JSON answer is malformed") from None
        response = doc.get("GetCallerIdentityResponse") if isinstance(doc, dict) else None
        result = response.get("GetCallerIdentityResult") if isinstance(response, dict) else None
        if not isinstance(result, dict):
            raise _invalid("GetCallerIdentity: no GetCallerIdentityResult in the answer")
        return _fields(result)
    root = read_xml(body)
    if root is None or root.tag != "GetCallerIdentityResponse":
        raise _invalid("GetCallerIdentity: the answer is not a GetCallerIdentityResponse")
    node = root.find("GetCallerIdentityResult")
    if node is None:
        raise _invalid("GetCallerIdentity: no GetCallerIdentityResult in the answer")
    return _fields({child.tag: (child.text or "").strip() for child in node})


def _decode(body: bytes) -> dict[str, Any]:
    who = parse_caller_identity(body)
    return {"Account": who.account, "Arn": who.arn, "UserId": who.user_id}


async def get_caller_identity(
    t: Transport,
    endpoint: Endpoint,
    creds: RoleCredentials,
    *,
    account_id: str,
) -> CallerIdentity:
    """GetCallerIdentity with ``creds`` at ``endpoint`` (a regional STS endpoint)."""
    from ekstrio.aws.sigv4_auth import SigV4Auth  # the signer only when a call is made

    doc = await t.call(
        endpoint,
        get_caller_identity_request(),
        service=SERVICE,
        scope=caller_scope(account_id, endpoint.signing_region),
        auth=SigV4Auth(creds, SERVICE, endpoint.signing_region),
        decode=_decode,
    )
    return _fields(doc)
