"""STS GetCallerIdentity (query protocol, XML), and the caller identity both STS and EKS report.

Accepted as AWS does: POST ``/`` with a form body or GET ``/`` with a query, header-signed
(SigV4, service ``sts``) or presigned (``X-Amz-Signature`` in the query, as kube's authenticator
forwards an EKS token's URL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from ekstrio.sim import sigcheck
from ekstrio.sim.messages import STS_NS, Request, Response, request_id, sts_error
from ekstrio.sim.principals import assumed_role_arn, role_id, sso_role_name
from ekstrio.sim.state import IssuedCredentials, SimState


@dataclass(frozen=True)
class Caller:
    account_id: str
    role_name: str
    arn: str
    user_id: str


def caller(state: SimState, creds: IssuedCredentials) -> Caller:
    """Who STS says the credentials are: a session of the permission set's IAM role,
    ``assumed-role/AWSReservedSSO_<PermissionSet>_<hex>/<user>`` (``role_name`` stays the
    permission set's name, as the portal calls it)."""
    org = state.org
    session = org.user
    iam_name = sso_role_name(org.seed, creds.account_id, creds.role_name)
    arn = assumed_role_arn(org.partition, creds.account_id, iam_name, session)
    return Caller(creds.account_id, creds.role_name, arn,
                  f"{role_id(creds.account_id, iam_name)}:{session}")


_STS_ERRORS = {
    # kind: (status, code)
    "missing": (403, "MissingAuthenticationToken"),
    "incomplete": (400, "IncompleteSignature"),
    "unrecognized": (403, "InvalidClientTokenId"),
    "expired": (400, "ExpiredToken"),
    "signature": (403, "SignatureDoesNotMatch"),
    "skew": (403, "SignatureDoesNotMatch"),
    "scope": (403, "SignatureDoesNotMatch"),
}


def sig_error(failure: sigcheck.SigFailure, *, as_json: bool = False) -> Response:
    status, code = _STS_ERRORS[failure.kind]
    if as_json:
        rid = request_id()
        data = {"Error": {"Type": "Sender", "Code": code, "Message": failure.message},
                "RequestId": rid}
        return Response(status, json.dumps(data).encode(),
                        ((b"content-type", b"application/json"),
                         (b"x-amzn-requestid", rid.encode())), api="sts")
    return sts_error(status, code, failure.message)


def get_caller_identity(state: SimState, req: Request) -> Response:
    params = dict(req.query)
    if req.method == "POST" and req.body:
        for key, values in parse_qs(req.body.decode("utf-8", "replace"),
                                    keep_blank_values=True).items():
            params.setdefault(key, values)
    action = (params.get("Action") or [""])[0]
    if action != "GetCallerIdentity":
        return sts_error(400, "InvalidAction",
                         f"Could not find operation {action or '(none)'} for version 2011-06-15")
    host = req.headers.get("host", "")
    now = state.clock()
    if "X-Amz-Signature" in req.query:
        result: sigcheck.Identity | sigcheck.SigFailure = sigcheck.verify_presigned(
            f"http://{host}{req.raw_path}?{req.raw_query}",
            cluster_name=req.headers.get("x-k8s-aws-id", ""),
            lookup=state.credentials.get, now=now, sts_hosts=frozenset(),
            local_hosts=frozenset({host}), require_cluster_header=False)
    else:
        result = sigcheck.verify_header(
            method=req.method, host=host, raw_path=req.raw_path, raw_query=req.raw_query,
            headers=req.headers, body=req.body, service="sts",
            lookup=state.credentials.get, now=now)
    if isinstance(result, sigcheck.SigFailure):
        return sig_error(result, as_json=wants_json(req))
    who = caller(state, result.credentials)
    rid = request_id()
    if wants_json(req):
        # What aws-iam-authenticator asks for (Accept: application/json) and parses.
        data = {"GetCallerIdentityResponse": {
            "GetCallerIdentityResult": {"Account": who.account_id, "Arn": who.arn,
                                        "UserId": who.user_id},
            "ResponseMetadata": {"RequestId": rid}}}
        return Response(200, json.dumps(data, separators=(",", ":")).encode(),
                        ((b"content-type", b"application/json"),
                         (b"x-amzn-requestid", rid.encode())), api="sts")
    body = (
        f'<GetCallerIdentityResponse xmlns="{STS_NS}">\n'
        "  <GetCallerIdentityResult>\n"
        f"    <Arn>{escape(who.arn)}</Arn>\n"
        f"    <UserId>{escape(who.user_id)}</UserId>\n"
        f"    <Account>{who.account_id}</Account>\n"
        "  </GetCallerIdentityResult>\n"
        f"  <ResponseMetadata>\n    <RequestId>{rid}</RequestId>\n  </ResponseMetadata>\n"
        "</GetCallerIdentityResponse>\n"
    ).encode()
    return Response(200, body, ((b"content-type", b"text/xml"),
                                (b"x-amzn-requestid", rid.encode())), api="sts")


def wants_json(req: Request) -> bool:
    return "application/json" in req.headers.get("accept", "").lower()
