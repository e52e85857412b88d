"""The k8s-aws-v1 token: shape the EKS authenticator accepts, and a signature recomputed here."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import botocore
import pytest

from ekstrio.aws import eks_token
from ekstrio.model import RoleCredentials

CREDS = RoleCredentials("ASIAEXAMPLEKEY", "secret/key+with=chars", "session-token",
                        datetime.now(UTC) + timedelta(hours=1))
ALLOWED = {"Action", "Version", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
           "X-Amz-Expires", "X-Amz-Security-Token", "X-Amz-Signature", "X-Amz-SignedHeaders"}


def _query(token: str) -> tuple[str, dict[str, str]]:
    url = eks_token.decode_url(token)
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    assert len(pairs) == len({k for k, _ in pairs}), "no parameter may appear twice"
    return url, dict(pairs)


def _recompute_signature(url: str, cluster: str, secret: str, region: str) -> str:
    """SigV4 query signing written out from the spec, independent of botocore."""
    parts = urlsplit(url)
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
              if k != "X-Amz-Signature"]
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                               for k, v in sorted(params))
    canonical = "\n".join(["GET", "/", canonical_query, f"host:{parts.netloc}",
                           f"x-k8s-aws-id:{cluster}", "", "host;x-k8s-aws-id",
                           hashlib.sha256(b"").hexdigest()])
    q = dict(params)
    date = q["X-Amz-Date"]
    scope = f"{date[:8]}/{region}/sts/aws4_request"
    assert q["X-Amz-Credential"] == f"{CREDS.access_key_id}/{scope}"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (date[:8], region, "sts", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_token_is_a_presigned_get_caller_identity_for_the_regional_sts_host() -> None:
    signed = eks_token.presign(CREDS, "web", "eu-west-1")
    assert signed.token.startswith("k8s-aws-v1.")
    assert "=" not in signed.token
    url, q = _query(signed.token)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "sts.eu-west-1.amazonaws.com", "/")
    assert set(q) == ALLOWED
    assert q["Action"] == "GetCallerIdentity"
    assert q["Version"] == "2011-06-15"
    assert q["X-Amz-Expires"] == "60"
    assert q["X-Amz-SignedHeaders"] == "host;x-k8s-aws-id"
    assert q["X-Amz-Security-Token"] == "session-token"
    assert len(signed.token) <= 4096


def test_signature_binds_the_cluster_name() -> None:
    signed = eks_token.presign(CREDS, "web", "us-west-2")
    url, q = _query(signed.token)
    assert q["X-Amz-Signature"] == _recompute_signature(url, "web", CREDS.secret_access_key,
                                                        "us-west-2")
    assert q["X-Amz-Signature"] != _recompute_signature(url, "api", CREDS.secret_access_key,
                                                        "us-west-2")


def test_expiry_is_fourteen_minutes_after_the_signed_date() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    signed = eks_token.presign(CREDS, "web", "eu-west-1")
    _, q = _query(signed.token)
    signed_at = datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert signed.expires_at == signed_at + timedelta(minutes=14)
    assert before <= signed_at <= datetime.now(UTC)


def test_china_and_govcloud_hosts() -> None:
    assert eks_token.sts_url("cn-north-1") == "https://sts.cn-north-1.amazonaws.com.cn"
    assert eks_token.sts_url("us-gov-west-1") == "https://sts.us-gov-west-1.amazonaws.com"
    url, q = _query(eks_token.presign(CREDS, "c", "cn-northwest-1").token)
    assert urlsplit(url).netloc == "sts.cn-northwest-1.amazonaws.com.cn"
    assert "/cn-northwest-1/sts/" in q["X-Amz-Credential"]


def test_partition_table_matches_botocore_endpoint_data() -> None:
    data = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_text())
    checked = 0
    for partition in data["partitions"]:
        for region in partition["regions"]:
            assert eks_token.partition_and_suffix(region) == (partition["partition"],
                                                      partition["dnsSuffix"]), region
            checked += 1
    assert checked > 30


def test_endpoint_override_changes_host_not_signing_region() -> None:
    signed = eks_token.presign(CREDS, "web", "eu-west-1", endpoint_url="http://127.0.0.1:9/")
    url, q = _query(signed.token)
    assert url.startswith("http://127.0.0.1:9/?Action=GetCallerIdentity")
    assert "/eu-west-1/sts/aws4_request" in q["X-Amz-Credential"]


def test_repr_hides_the_token() -> None:
    signed = eks_token.presign(CREDS, "web", "eu-west-1")
    assert signed.token not in repr(signed)
    assert "k8s-aws-v1" not in repr(signed)


@pytest.mark.parametrize("region", ["", "eu-west-1/evil", "http://x"])
def test_rejects_non_regions(region: str) -> None:
    with pytest.raises(ValueError, match="not an AWS region"):
        eks_token.sts_url(region)


def test_decode_rejects_other_tokens() -> None:
    with pytest.raises(ValueError, match="k8s-aws-v1"):
        eks_token.decode_url("Bearer abc")


def _botocore_url(creds: RoleCredentials, cluster: str, region: str, base: str,
                  when: datetime, monkeypatch: pytest.MonkeyPatch) -> str:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from botocore_clock import botocore_signing_time

    request = AWSRequest(method="GET", url=f"{base}/?Action=GetCallerIdentity&Version=2011-06-15",
                         headers={"x-k8s-aws-id": cluster})
    with botocore_signing_time(when):
        botocore.auth.SigV4QueryAuth(
            Credentials(creds.access_key_id, creds.secret_access_key,
                        creds.session_token or None),
            "sts", region, expires=60).add_auth(request)
    return str(request.url)


@pytest.mark.parametrize(("region", "cluster", "endpoint", "token"), [
    ("eu-west-1", "web", None, "session-token"),
    ("cn-north-1", "cluster with  spaces ", None, "tok/with+chars=="),
    ("us-gov-west-1", "op-0123456789abcdef0", None, ""),
    ("ap-southeast-2", "web", "http://127.0.0.1:8080", "t"),
    ("eu-west-1", "web", "https://sts.eu-west-1.amazonaws.com:443", "t"),
])
def test_url_is_byte_identical_to_botocore_sigv4_query_auth(
        region: str, cluster: str, endpoint: str | None, token: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    creds = RoleCredentials("ASIAEXAMPLEKEY", "secret/key+with=chars", token,
                            datetime.now(UTC) + timedelta(hours=1))
    when = datetime(2026, 11, 28, 16, 5, 9, tzinfo=UTC)
    base = (endpoint or eks_token.sts_url(region)).rstrip("/")
    ours = eks_token.decode_url(eks_token.presign(creds, cluster, region, endpoint_url=endpoint,
                                                  now=when).token)
    assert ours == _botocore_url(creds, cluster, region, base, when, monkeypatch)


def test_token_fast_names_the_same_sts_override_variable() -> None:
    # token_fast spells the name out (importing eks_token would slow its cached path).
    from ekstrio import token_fast

    assert token_fast.STS_OVERRIDE_ENV == eks_token.STS_OVERRIDE_ENV
