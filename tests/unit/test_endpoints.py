"""aws/endpoints: hosts per partition, EKS regions, and the SDK's override order."""

from __future__ import annotations

import pytest
from botocore.loaders import Loader
from botocore.regions import EndpointResolver

from ekstrio.aws import endpoints
from ekstrio.aws.endpoints import Endpoint, resolve
from ekstrio.errors import ConfigError, UsageError


@pytest.mark.parametrize(
    ("service", "region", "url", "partition"),
    [
        ("sso-oidc", "us-east-1", "https://oidc.us-east-1.amazonaws.com", "aws"),
        ("sso-oidc", "cn-north-1", "https://oidc.cn-north-1.amazonaws.com.cn", "aws-cn"),
        ("sso-oidc", "us-gov-west-1", "https://oidc.us-gov-west-1.amazonaws.com", "aws-us-gov"),
        ("sso", "eu-west-1", "https://portal.sso.eu-west-1.amazonaws.com", "aws"),
        ("sso", "cn-northwest-1", "https://portal.sso.cn-northwest-1.amazonaws.com.cn", "aws-cn"),
        ("sso", "us-gov-east-1", "https://portal.sso.us-gov-east-1.amazonaws.com", "aws-us-gov"),
        ("eks", "ap-southeast-7", "https://eks.ap-southeast-7.amazonaws.com", "aws"),
        ("eks", "cn-north-1", "https://eks.cn-north-1.amazonaws.com.cn", "aws-cn"),
        ("eks", "us-gov-west-1", "https://eks.us-gov-west-1.amazonaws.com", "aws-us-gov"),
        ("sts", "eu-central-1", "https://sts.eu-central-1.amazonaws.com", "aws"),
        ("sts", "cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn", "aws-cn"),
        ("eks", "eusc-de-east-1", "https://eks.eusc-de-east-1.amazonaws.eu", "aws-eusc"),
    ],
)
def test_default_hosts(service: str, region: str, url: str, partition: str) -> None:
    assert resolve(service, region, env={}) == Endpoint(url, region, partition)


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
@pytest.mark.parametrize(("service", "prefix"),
                         [("eks", "eks"), ("sso", "portal.sso"), ("sso-oidc", "oidc")])
def test_hosts_agree_with_botocores_own_resolver(partition: str, service: str,
                                                 prefix: str) -> None:
    resolver = EndpointResolver(Loader().load_data("endpoints"))
    regions = resolver.get_available_endpoints(prefix, partition)
    assert regions, f"botocore lists no {prefix} regions in {partition}"
    for region in regions:
        expected = resolver.construct_endpoint(prefix, region)["hostname"]
        assert resolve(service, region, env={}).url == f"https://{expected}"


def test_eks_regions_per_partition() -> None:
    aws = endpoints.eks_regions("aws")
    # botocore's data grows: 33 EKS regions at the declared floor (botocore 1.39), 34 in 1.40.
    assert len(aws) >= 33
    assert aws == tuple(sorted(aws))
    assert {"us-east-1", "eu-west-1", "ap-east-2", "mx-central-1"} <= set(aws)
    assert not [r for r in aws if "fips" in r]
    assert endpoints.eks_regions("aws-cn") == ("cn-north-1", "cn-northwest-1")
    assert endpoints.eks_regions("aws-us-gov") == ("us-gov-east-1", "us-gov-west-1")
    assert endpoints.eks_regions() == aws


def test_eks_regions_match_botocore_available_regions() -> None:
    resolver = EndpointResolver(Loader().load_data("endpoints"))
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        assert endpoints.eks_regions(partition) == tuple(
            sorted(resolver.get_available_endpoints("eks", partition)))


def test_partitions_and_dns_suffixes() -> None:
    assert {"aws", "aws-cn", "aws-us-gov"} <= set(endpoints.partitions())
    assert endpoints.partition_of("us-gov-east-1") == "aws-us-gov"
    assert endpoints.partition_of("cn-northwest-1") == "aws-cn"
    assert endpoints.partition_of("af-south-1") == "aws"
    assert endpoints.dns_suffix("aws") == "amazonaws.com"
    assert endpoints.dns_suffix("aws-cn") == "amazonaws.com.cn"
    assert endpoints.dns_suffix("aws-us-gov") == "amazonaws.com"


@pytest.mark.parametrize("region", ["us-est-1", "mars-north-1", "", "US-EAST-1"])
def test_unknown_region_is_a_usage_error_naming_it(region: str) -> None:
    with pytest.raises(UsageError, match=f"unknown AWS region '{region}'"):
        resolve("eks", region, env={})


def test_unknown_partition_and_service() -> None:
    with pytest.raises(UsageError, match="aws-mars"):
        endpoints.eks_regions("aws-mars")
    with pytest.raises(UsageError, match="ec2"):
        resolve("ec2", "us-east-1", env={})


SERVICES = {"AWS_ENDPOINT_URL_EKS": "eks", "AWS_ENDPOINT_URL_SSO": "sso",
            "AWS_ENDPOINT_URL_SSO_OIDC": "sso-oidc", "AWS_ENDPOINT_URL_STS": "sts"}


@pytest.mark.parametrize(("variable", "service"), sorted(SERVICES.items()))
def test_service_variable_overrides_only_its_service(variable: str, service: str) -> None:
    env = {variable: "http://127.0.0.1:4566/"}
    assert resolve(service, "eu-west-1", env=env) == Endpoint(
        "http://127.0.0.1:4566", "eu-west-1", "aws")
    for other in set(SERVICES.values()) - {service}:
        assert resolve(other, "eu-west-1", env=env).url.startswith("https://")


def test_override_order() -> None:
    services = {"eks": {"endpoint_url": "http://services:3"}}
    env_all = {"AWS_ENDPOINT_URL_EKS": "http://service-env:1", "AWS_ENDPOINT_URL": "http://env:2"}

    def url(env: dict[str, str], **kw: object) -> str:
        return resolve("eks", "us-west-2", env=env, **kw).url  # type: ignore[arg-type]

    cfg = {"config_endpoint_url": "http://profile:4", "config_services": services}
    assert url(env_all, **cfg) == "http://service-env:1"
    assert url({"AWS_ENDPOINT_URL": "http://env:2"}, **cfg) == "http://env:2"
    assert url({}, **cfg) == "http://services:3"
    assert url({}, config_endpoint_url="http://profile:4") == "http://profile:4"
    # Blank values do not count as set.
    assert url({"AWS_ENDPOINT_URL_EKS": " ", "AWS_ENDPOINT_URL": ""}, **cfg) == "http://services:3"


@pytest.mark.parametrize("value", ["true", "TRUE", "True"])
def test_ignore_configured_endpoint_urls(value: str) -> None:
    env = {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": value,
           "AWS_ENDPOINT_URL_EKS": "http://127.0.0.1:1", "AWS_ENDPOINT_URL": "http://127.0.0.1:2"}
    endpoint = resolve("eks", "us-east-1", env=env, config_endpoint_url="http://127.0.0.1:3",
                       config_services={"eks": "http://127.0.0.1:4"})
    assert endpoint.url == "https://eks.us-east-1.amazonaws.com"


def test_ignore_flag_false_keeps_overrides() -> None:
    env = {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false", "AWS_ENDPOINT_URL": "http://h:9"}
    assert resolve("sts", "us-east-1", env=env).url == "http://h:9"


def test_services_section_shapes_and_spellings() -> None:
    flat = {"sso_oidc": "http://oidc.local:1"}
    nested = {"SSO-OIDC": {"endpoint_url": "http://oidc.local:2"}}
    spaced = {"sso oidc": {"endpoint_url": "http://oidc.local:3"}}
    assert resolve("sso-oidc", "us-east-1", env={}, config_services=flat).url == (
        "http://oidc.local:1")
    assert resolve("sso-oidc", "us-east-1", env={}, config_services=nested).url == (
        "http://oidc.local:2")
    assert resolve("sso-oidc", "us-east-1", env={}, config_services=spaced).url == (
        "http://oidc.local:3")
    # An entry for another service is not used.
    assert resolve("sso", "us-east-1", env={}, config_services=flat).url == (
        "https://portal.sso.us-east-1.amazonaws.com")


def test_override_keeps_base_path_and_signing_region() -> None:
    endpoint = resolve("eks", "cn-north-1", env={"AWS_ENDPOINT_URL": "https://proxy:8443/aws/"})
    assert endpoint == Endpoint("https://proxy:8443/aws", "cn-north-1", "aws-cn")


def test_default_env_is_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9999")
    assert resolve("sso", "eu-west-1").url == "http://127.0.0.1:9999"


def test_bad_override_urls_name_their_origin() -> None:
    with pytest.raises(UsageError, match="AWS_ENDPOINT_URL_EKS"):
        resolve("eks", "us-east-1", env={"AWS_ENDPOINT_URL_EKS": "localhost:4566"})
    with pytest.raises(ConfigError, match="endpoint_url"):
        resolve("eks", "us-east-1", env={}, config_endpoint_url="ftp://x")
