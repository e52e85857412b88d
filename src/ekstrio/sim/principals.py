"""Who a permission-set role is to IAM, STS, EKS access entries and aws-auth: names and ARNs.

IAM Identity Center creates one IAM role per permission set and account, named
``AWSReservedSSO_<PermissionSet>_<16 hex>`` under the path ``/aws-reserved/sso.amazonaws.com/``
(plus ``<region>/`` for instances outside us-east-1). STS reports a session of it as
``arn:aws:sts::ACCT:assumed-role/AWSReservedSSO_<PermissionSet>_<hex>/<session>``: the path is
gone. EKS access entries name the role by its IAM ARN *with* the path (EKS resolves it to the
role's unique id); aws-auth ``mapRoles`` entries are compared by aws-iam-authenticator with the
session ARN canonicalised to ``arn:aws:iam::ACCT:role/<name>`` (no path), lower-cased, so a
``rolearn`` with the path never matches. Sources are in docs/sim.md.
"""

from __future__ import annotations

import hashlib

SSO_PATH = "aws-reserved/sso.amazonaws.com/"


def sso_role_name(seed: int, account_id: str, permission_set: str) -> str:
    """The IAM role name IAM Identity Center gives a permission set in an account."""
    suffix = hashlib.sha256(f"{seed}/{account_id}/{permission_set}".encode()).hexdigest()[:16]
    return f"AWSReservedSSO_{permission_set}_{suffix}"


def sso_role_path(sso_region: str) -> str:
    # Instances in us-east-1 have no region segment; others do (see docs/sim.md).
    return SSO_PATH if sso_region == "us-east-1" else f"{SSO_PATH}{sso_region}/"


def iam_role_arn(partition: str, account_id: str, role_name: str, path: str = "") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{path}{role_name}"


def assumed_role_arn(partition: str, account_id: str, role_name: str, session: str) -> str:
    return f"arn:{partition}:sts::{account_id}:assumed-role/{role_name}/{session}"


def role_id(account_id: str, role_name: str) -> str:
    """The role's unique id (``AROA`` + 17 characters), stable for a name."""
    digest = hashlib.sha1(f"{account_id}/{role_name}".encode()).hexdigest()  # noqa: S324 - an id
    return "AROA" + digest[:17].upper()


def canonical_arn(assumed_arn: str) -> str:
    """aws-iam-authenticator's Canonicalize: an assumed-role session ARN → the role ARN (no
    path, as the session ARN has none); other ARNs unchanged."""
    parts = assumed_arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        name = parts[5].split("/")[1]
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{name}"
    return assumed_arn


def render_username(template: str, *, account_id: str, session: str,
                    access_key_id: str) -> str:
    """aws-iam-authenticator's username templates (EKS applies the same to access entries):
    ``{{SessionName}}`` has ``@`` replaced by ``-``, ``{{SessionNameRaw}}`` does not."""
    return (template.replace("{{AccountID}}", account_id)
            .replace("{{SessionName}}", session.replace("@", "-"))
            .replace("{{SessionNameRaw}}", session)
            .replace("{{AccessKeyID}}", access_key_id))
