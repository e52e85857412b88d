"""aws/sts: GetCallerIdentity as botocore serialises it, signed for sts, read from XML or JSON
safely (size cap, no DOCTYPE), and its errors typed (respx)."""

from __future__ import annotations

import httpx2
import pytest
import respx
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.serialize import create_serializer
from wire_fakes import CREDS, REGION, assert_signed, make_transport, respx_client

from ekstrio.aws import sts
from ekstrio.aws.endpoints import resolve
from ekstrio.aws.sts import CallerIdentity
from ekstrio.aws.transport import CallPolicy, Transport
from ekstrio.errors import AccessDeniedError, AwsError

ENDPOINT = resolve("sts", REGION, env={})
BASE = "https://sts.eu-west-1.amazonaws.com"
ARN = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice"
XML = f"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>{ARN}</Arn>
    <UserId>AROAEXAMPLE:alice</UserId>
    <Account>111122223333</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>""".encode()
WHO = CallerIdentity("111122223333", ARN, "AROAEXAMPLE:alice")

pytestmark = pytest.mark.usefixtures("live_retries")


def test_request_matches_botocore_serialisation() -> None:
    model = ServiceModel(Loader().load_service_model("sts", "service-2"), "sts")
    theirs = create_serializer("query").serialize_to_request(
        {}, model.operation_model("GetCallerIdentity"))
    ours = sts.get_caller_identity_request()
    assert (ours.method, ours.path) == (theirs["method"], theirs["url_path"])
    # botocore hands the form to its HTTP layer as a dict, which urlencodes it in order.
    assert theirs["body"] == {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
    assert ours.body == b"Action=GetCallerIdentity&Version=2011-06-15"


async def test_call_is_signed_for_sts_and_reads_xml(router: respx.MockRouter,
                                                    transport: Transport) -> None:
    route = router.post("/").respond(200, content=XML, headers={"content-type": "text/xml"})
    who = await sts.get_caller_identity(transport, ENDPOINT, CREDS, account_id="111122223333")
    assert who == WHO
    assert (who.role_name, who.partition) == ("AWSReservedSSO_Admin_0123456789abcdef", "aws")
    sent = route.calls.last.request
    assert sent.content == b"Action=GetCallerIdentity&Version=2011-06-15"
    assert sent.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert_signed(sent, "sts")


def test_reads_the_json_form() -> None:
    body = ('{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account":"111122223333",'
            f'"Arn":"{ARN}","UserId":"AROAEXAMPLE:alice"}},'
            '"ResponseMetadata":{"RequestId":"x"}}}').encode()
    assert sts.parse_caller_identity(body) == WHO


@pytest.mark.parametrize("body", [
    b"", b"not xml", b"{}", b'{"GetCallerIdentityResponse": 1}', b"<Other/>",
    b"<GetCallerIdentityResponse/>",
    XML.replace(b"111122223333</Account>", b"12</Account>"),
    XML.replace(b"<Arn>", b"<Arn>x").replace(b"arn:aws", b"x"),
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]>' + XML,
    XML + b" " * (64 * 1024),
])
def test_junk_is_an_invalid_response(body: bytes) -> None:
    with pytest.raises(AwsError, match="InvalidResponse"):
        sts.parse_caller_identity(body)


def test_role_name_of_other_principals() -> None:
    assert CallerIdentity("1", "arn:aws:iam::1:user/bob", "x").role_name is None
    assert CallerIdentity("1", "arn:aws-cn:sts::1:assumed-role/r/s", "x").role_name == "r"
    assert CallerIdentity("1", "arn:aws-cn:sts::1:assumed-role/r/s", "x").partition == "aws-cn"
    assert CallerIdentity("1", "garbage", "x").role_name is None


async def test_xml_error_keeps_its_code(router: respx.MockRouter, transport: Transport) -> None:
    router.post("/").respond(403, content=b"""<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>
  <Message>The security token included in the request is invalid.</Message></Error>
  <RequestId>r</RequestId></ErrorResponse>""")
    with pytest.raises(AccessDeniedError) as info:
        await sts.get_caller_identity(transport, ENDPOINT, CREDS, account_id="111122223333")
    assert info.value.code == "InvalidClientTokenId"
    assert "security token included" in info.value.message


async def test_json_error_keeps_its_code(router: respx.MockRouter, transport: Transport) -> None:
    router.post("/").respond(400, json={"Error": {"Code": "ExpiredToken", "Message": "expired",
                                                  "Type": "Sender"}, "RequestId": "r"})
    with pytest.raises(AccessDeniedError) as info:
        await sts.get_caller_identity(transport, ENDPOINT, CREDS, account_id="111122223333")
    assert (info.value.code, info.value.message) == ("ExpiredToken", "expired")


async def test_transport_retries_a_5xx_then_reads(router: respx.MockRouter) -> None:
    router.post("/").mock(side_effect=[httpx2.Response(503), httpx2.Response(200, content=XML)])
    async with respx_client() as client:
        t = make_transport(client, policy=CallPolicy(attempts=3, backoff_initial=0.0,
                                                     backoff_max=0.0, backoff_jitter=0.0))
        assert await sts.get_caller_identity(t, ENDPOINT, CREDS, account_id="1") == WHO
        assert (t.stats.calls, t.stats.retries) == (2, 1)
