"""Checks for values that come from AWS answers: names are data, never syntax.

Everything an answer carries ends up somewhere that gives characters meaning: an INI line of
``~/.aws/config`` (a newline in a role name once wrote a ``[default]`` section with
``credential_process = /bin/sh -c …``, which botocore then ran), a YAML kubeconfig, a file name,
a terminal (ANSI escapes). Real AWS cannot send such names, but an intercepted or misconfigured
endpoint (``AWS_ENDPOINT_URL``, a proxy) can. So each value is checked against the character set
AWS documents for it where it enters ekstrio; a value that fails is refused with
:class:`BadValue` (naming the field, never echoing the value raw) and the caller turns that into
an error record. Nothing is "cleaned" into some other name.

The rules, from botocore's service models (``data/{sso,sso-admin,iam,eks,organizations}``):

- account id: ``\\d{12}`` (organizations ``AccountId``, iam ``accountIdType``), ASCII digits.
- role name: the portal's ``RoleNameType`` has no pattern; its roles are IAM Identity Center
  permission sets (sso-admin ``PermissionSetName``: ``[\\w+=,.@-]+``, 1-32) provisioned as IAM
  roles (iam ``roleNameType``: ``[\\w+=,.@-]+``, 1-64). ``\\w`` is Java's ASCII ``[A-Za-z0-9_]``.
- account name: organizations ``AccountName`` is 1-128 characters of any kind
  (``[\\s\\S]*``), so the check is: no control, format, separator-line or unassigned characters
  (Unicode categories C* and Zl/Zp), 1-128.
- cluster name: eks ``ClusterName``: ``^[0-9A-Za-z][A-Za-z0-9\\-_]*``, 1-100.
- tags: eks ``TagKey`` 1-128, ``TagValue`` 0-256, any characters: printable only; at most 50.
- email: sso ``EmailAddressType`` 1-254; organizations ``Email`` ``[^\\s@]+@[^\\s@]+\\.[^\\s@]+``.
- cluster endpoint: ``https://`` and a host (optional port, optional path of plain segments),
  no user info, query or fragment (EKS answers ``https://<id>.<suffix>.<region>.eks.amazonaws.com``).
- cluster ARN: ``arn:<partition>:eks:<region>:<account id>:cluster/<cluster name>``.
- certificate authority data: base64 (kubeconfig ``certificate-authority-data``).
- anything else shown (status, versions, modes): printable, at most 256 characters.

Pure and stdlib only, so the lean ``ekstrio token`` path could import it too.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

__all__ = [
    "BadValue",
    "account_id",
    "account_name",
    "ca_data",
    "cluster_arn",
    "cluster_name",
    "email",
    "epoch_milliseconds",
    "epoch_seconds",
    "https_endpoint",
    "region",
    "role_name",
    "tags",
    "terminal_safe",
    "text",
]


class BadValue(ValueError):
    """A value from an answer is not what AWS documents for ``field``."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field} {rule}")
        self.field = field


_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_ROLE_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")
_CLUSTER_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
_PARTITION = r"aws(-[a-z]+)*"
_CLUSTER_ARN = re.compile(
    rf"arn:(?P<partition>{_PARTITION}):eks:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{{12}})"
    r":cluster/(?P<name>.*)", re.DOTALL)
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,62})?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62})?)*")
_PATH = re.compile(r"(/[A-Za-z0-9._~%-]*)*")
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

MAX_TEXT = 256
MAX_TAGS = 50


def _printable(value: str) -> bool:
    if value.isascii():
        # The same rule at C speed: in ASCII the only unprintable category is Cc, which is
        # exactly what isprintable() refuses. A scan checks a dozen texts per cluster.
        return value.isprintable()
    return all(unicodedata.category(ch) not in _UNPRINTABLE for ch in value)


def _string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise BadValue(field, "is not a string")
    return value


def _matching(pattern: re.Pattern[str], value: object, field: str, rule: str) -> str:
    text_value = _string(value, field)
    if pattern.fullmatch(text_value) is None:
        raise BadValue(field, f"is not {rule}")
    return text_value


def account_id(value: object, field: str = "accountId") -> str:
    return _matching(_ACCOUNT_ID, value, field, "a 12-digit AWS account id")


def role_name(value: object, field: str = "roleName") -> str:
    return _matching(_ROLE_NAME, value, field,
                     "an IAM role name (1-64 of A-Z a-z 0-9 _ + = , . @ -)")


def cluster_name(value: object, field: str = "cluster name") -> str:
    return _matching(_CLUSTER_NAME, value, field,
                     "an EKS cluster name (1-100 of A-Z a-z 0-9 - _, starting alphanumeric)")


def region(value: object, field: str = "region") -> str:
    return _matching(_REGION, value, field, "an AWS region name")


def text(value: object, field: str, *, max_length: int = MAX_TEXT, min_length: int = 0) -> str:
    """Free text shown to the user: printable characters only, bounded length."""
    text_value = _string(value, field)
    if not min_length <= len(text_value) <= max_length:
        raise BadValue(field, f"is not {min_length}-{max_length} characters long")
    if not _printable(text_value):
        raise BadValue(field, "contains control or other unprintable characters")
    return text_value


def account_name(value: object, field: str = "accountName") -> str:
    return text(value, field, max_length=128, min_length=1)


def email(value: object, field: str = "emailAddress") -> str:
    text_value = text(value, field, max_length=254, min_length=1)
    if _EMAIL.fullmatch(text_value) is None:
        raise BadValue(field, "is not an email address")
    return text_value


def tags(value: object, field: str = "tags") -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise BadValue(field, "is not a map")
    if len(value) > MAX_TAGS:
        raise BadValue(field, f"has more than {MAX_TAGS} tags")
    checked: dict[str, str] = {}
    for key, tag_value in value.items():
        key_text = text(key, f"{field} key", max_length=128, min_length=1)
        checked[key_text] = text(tag_value, f"{field} value", max_length=256)
    return checked


def https_endpoint(value: object, field: str = "endpoint") -> str:
    """``https://host[:port]`` and nothing else."""
    text_value = text(value, field, max_length=2048, min_length=1)
    if any(ch.isspace() for ch in text_value):
        raise BadValue(field, "contains white space")
    try:
        parts = urlsplit(text_value)
        port = parts.port
    except ValueError:
        raise BadValue(field, "is not a URL") from None
    if parts.scheme != "https":
        raise BadValue(field, "is not an https:// URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise BadValue(field, "carries user information")
    host = parts.hostname or ""
    if _HOST.fullmatch(host) is None or len(host) > 253:
        raise BadValue(field, "has no valid host name")
    if parts.query or parts.fragment or "?" in text_value or "#" in text_value:
        raise BadValue(field, "has a query or fragment")
    if _PATH.fullmatch(parts.path) is None:
        # EKS sends none; a path prefix (kubectl honours one) of plain segments is allowed.
        raise BadValue(field, "has a path with other than A-Z a-z 0-9 . _ ~ % - /")
    del port  # read only so that a bad port is refused above
    return text_value


def cluster_arn(value: object, field: str = "arn", *, name: str,
                account: str | None = None) -> str:
    """An EKS cluster ARN of cluster ``name`` (in ``account`` when given)."""
    text_value = text(value, field, max_length=2048, min_length=1)
    match = _CLUSTER_ARN.fullmatch(text_value)
    if match is None or _REGION.fullmatch(match["region"]) is None:
        raise BadValue(field, "is not an EKS cluster ARN")
    if match["name"] != name or (account is not None and match["account"] != account):
        raise BadValue(field, "names another cluster or account")
    return text_value


def ca_data(value: object, field: str = "certificateAuthority.data") -> str:
    text_value = _string(value, field)
    # Line breaks are allowed, as base64 decoders (Go's, client-go's) skip them.
    joined = text_value.replace("\r", "").replace("\n", "")
    if len(text_value) > 65_536 or _BASE64.fullmatch(joined) is None:
        raise BadValue(field, "is not base64 data")
    return text_value


# datetime's range is years 1-9999; a timestamp outside it (or NaN, inf) raised OverflowError,
# ValueError or OSError deep in a parser. Bounded to what a credential or cluster can carry.
_EPOCH_MAX = datetime(9000, 1, 1, tzinfo=UTC).timestamp()


def epoch_seconds(value: object, field: str, *, per_second: int = 1) -> datetime:
    """An epoch time (``per_second=1000`` for milliseconds) as aware UTC."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadValue(field, "is not a number")
    seconds = value / per_second
    if not math.isfinite(seconds) or not 0 <= seconds <= _EPOCH_MAX:
        raise BadValue(field, "is not a time")
    return datetime.fromtimestamp(seconds, tz=UTC)


def epoch_milliseconds(value: object, field: str) -> datetime:
    return epoch_seconds(value, field, per_second=1000)


def terminal_safe(value: str) -> str:
    """``value`` for a terminal: control and other unprintable characters shown as escapes
    (``\\x1b``), so a name can never move the cursor, recolour or retitle the terminal.
    For display only; names are checked where they enter, this is the last line."""
    if _printable(value):
        return value
    return "".join(ch if unicodedata.category(ch) not in _UNPRINTABLE
                   else ascii(ch)[1:-1] for ch in value)
