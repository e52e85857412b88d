"""Partitions, regions and service hosts, plus the SDK's endpoint-override rules.

The data comes from botocore's ``endpoints.json``, read once and cached. We
locate the file with ``importlib.util.find_spec`` instead of importing
botocore's loaders: the ``ekstrio token`` fast path may resolve hosts, and
botocore's loader machinery costs far more start-up time than one JSON read.

Overrides follow the AWS SDKs (protocol reference §6), highest first:
``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_ENDPOINT_URL``, the profile's
``services`` section, the profile's ``endpoint_url``; none of them apply when
``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true``. An override changes where
requests go, never the region they are signed for.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ekstrio.errors import ConfigError, UsageError

__all__ = [
    "SERVICES",
    "Endpoint",
    "default_url",
    "dns_suffix",
    "eks_regions",
    "partition_of",
    "partitions",
    "regions",
    "resolve",
]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to send a service's requests and which region to sign them for.

    ``url`` is scheme + host (+ an optional base path from an override), with
    no trailing slash.
    """

    url: str
    signing_region: str
    partition: str


@dataclass(frozen=True, slots=True)
class _Service:
    prefix: str  # endpointPrefix: the key in endpoints.json and the first host label(s)
    env_suffix: str  # AWS_ENDPOINT_URL_<env_suffix>
    config_key: str  # key inside a `[services X]` section


# The four services ekstrio speaks, keyed by their botocore service name.
SERVICES: Mapping[str, _Service] = {
    "sso-oidc": _Service("oidc", "SSO_OIDC", "sso_oidc"),
    "sso": _Service("portal.sso", "SSO", "sso"),
    "eks": _Service("eks", "EKS", "eks"),
    "sts": _Service("sts", "STS", "sts"),
}


@functools.cache
def _data() -> dict[str, Any]:
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:  # pragma: no cover - botocore is a dependency
        raise ConfigError("botocore is not installed; ekstrio needs its endpoint data")
    path = Path(spec.origin).parent / "data" / "endpoints.json"
    with path.open("rb") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@functools.cache
def _partitions() -> dict[str, dict[str, Any]]:
    return {p["partition"]: p for p in _data()["partitions"]}


def partitions() -> tuple[str, ...]:
    """Every partition botocore knows, in its own order ("aws" first)."""
    return tuple(_partitions())


def _partition(partition: str) -> dict[str, Any]:
    try:
        return _partitions()[partition]
    except KeyError:
        known = ", ".join(_partitions())
        raise UsageError(f"unknown AWS partition {partition!r} (known: {known})") from None


def _is_region_key(key: str, part: dict[str, Any]) -> bool:
    # endpoints.json mixes real regions with aliases such as "fips-us-east-1",
    # "us-east-1-fips" or "aws-global"; a region is a key the partition lists
    # among its regions, or one that looks like one of its regions.
    return key in part["regions"] or (
        re.fullmatch(part["regionRegex"], key) is not None and "fips" not in key
    )


def regions(partition: str = "aws") -> tuple[str, ...]:
    """The partition's regions (sorted)."""
    return tuple(sorted(_partition(partition)["regions"]))


@functools.cache
def _region_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for name, part in _partitions().items():
        for region in part["regions"]:
            index.setdefault(region, name)
        for service in part["services"].values():
            for key in service.get("endpoints", {}):
                if _is_region_key(key, part):
                    index.setdefault(key, name)
    return index


def partition_of(region: str) -> str:
    """The partition a region belongs to ("aws", "aws-cn", "aws-us-gov", …).

    Raises :class:`UsageError` naming the region when botocore knows no such region.
    """
    try:
        return _region_index()[region]
    except KeyError:
        raise UsageError(
            f"unknown AWS region {region!r}: check --region / the profile's region"
        ) from None


def dns_suffix(partition: str) -> str:
    """The partition's DNS suffix, e.g. ``amazonaws.com.cn`` for aws-cn."""
    suffix: str = _partition(partition)["dnsSuffix"]
    return suffix


@functools.cache
def eks_regions(partition: str = "aws") -> tuple[str, ...]:
    """The regions where EKS exists in ``partition`` (sorted), as botocore's
    ``get_available_regions("eks", partition)``: endpoint keys that are regions,
    which drops aliases such as ``fips-us-east-1``."""
    part = _partition(partition)
    endpoints = part["services"].get("eks", {}).get("endpoints", {})
    return tuple(sorted(key for key in endpoints if key in part["regions"]))


def _service(service: str) -> _Service:
    try:
        return SERVICES[service]
    except KeyError:
        raise UsageError(f"unknown service {service!r} (known: {', '.join(SERVICES)})") from None


def default_url(service: str, region: str) -> str:
    """The service's regular HTTPS URL in ``region``, with no override applied."""
    svc = _service(service)
    partition = partition_of(region)
    part = _partition(partition)
    entry = part["services"].get(svc.prefix, {}).get("endpoints", {}).get(region)
    hostname = entry.get("hostname") if isinstance(entry, dict) else None
    if not hostname:
        hostname = f"{svc.prefix}.{region}.{part['dnsSuffix']}"
    return f"https://{hostname}"


def _true(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"


def _clean_override(url: str, origin: str, error: type[UsageError | ConfigError]) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise error(f"{origin} must be an http(s) URL like https://host[:port], got {url!r}")
    return url.rstrip("/")


def _services_lookup(config_services: Mapping[str, Any], svc: _Service) -> str | None:
    # A `[services X]` section maps a service's config key to a sub-section
    # holding `endpoint_url`. Accept either that nesting or a flat
    # key -> URL map, and spellings with dashes/spaces, as botocore does.
    for key, value in config_services.items():
        if key.strip().lower().replace("-", "_").replace(" ", "_") != svc.config_key:
            continue
        if isinstance(value, str):
            return value
        if isinstance(value, Mapping):
            url = value.get("endpoint_url")
            if isinstance(url, str):
                return url
    return None


def configured_url(
    service: str,
    *,
    env: Mapping[str, str] | None = None,
    config_endpoint_url: str | None = None,
    config_services: Mapping[str, Any] | None = None,
) -> str | None:
    """The configured override for ``service``, if any, in the SDK's order.

    ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_ENDPOINT_URL``, the profile's ``services`` section,
    the profile's ``endpoint_url``; all off with ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true``.
    A value that is not an http(s) URL is a UsageError (environment) or ConfigError (file).
    """
    svc = _service(service)
    env = os.environ if env is None else env
    if _true(env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")):
        return None
    candidates: list[tuple[str | None, str, type[UsageError | ConfigError]]] = [
        (env.get(f"AWS_ENDPOINT_URL_{svc.env_suffix}"),
         f"AWS_ENDPOINT_URL_{svc.env_suffix}", UsageError),
        (env.get("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL", UsageError),
        (_services_lookup(config_services, svc) if config_services else None,
         f"the profile's services section ({svc.config_key} endpoint_url)", ConfigError),
        (config_endpoint_url, "the profile's endpoint_url", ConfigError),
    ]
    for value, origin, error in candidates:
        if value and value.strip():
            return _clean_override(value, origin, error)
    return None


def resolve(
    service: str,
    region: str,
    *,
    env: Mapping[str, str] | None = None,
    config_endpoint_url: str | None = None,
    config_services: Mapping[str, Any] | None = None,
) -> Endpoint:
    """Where ``service`` lives for ``region``, after the SDK's override rules.

    ``service`` is one of ``"sso-oidc"``, ``"sso"``, ``"eks"``, ``"sts"``.
    ``env`` defaults to ``os.environ``; ``config_endpoint_url`` is the
    profile's ``endpoint_url`` and ``config_services`` the profile's
    ``services`` section (config key → URL, or → ``{"endpoint_url": URL}``).
    Overrides (:func:`configured_url`) never change the signing region.
    """
    override = configured_url(service, env=env, config_endpoint_url=config_endpoint_url,
                              config_services=config_services)
    partition = partition_of(region)
    return Endpoint(override or default_url(service, region), region, partition)
