"""The sim's options: one frozen value, validated once, with regions from botocore's data.

The sim reads the partition's EKS regions straight from botocore's ``endpoints.json`` (not from
``ekstrio.aws``): it is an independent peer of the client, so a misreading on one side cannot hide
behind shared code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from botocore.loaders import Loader

from ekstrio.errors import UsageError

#: Regions AWS ships disabled ("opt-in"); the sim turns some of them off per account.
OPT_IN_REGIONS = frozenset({
    "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2",
    "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
})


@functools.cache
def _partitions() -> tuple[tuple[str, str, tuple[str, ...], frozenset[str]], ...]:
    """(partition, dnsSuffix, EKS regions, all regions) per partition of endpoints.json."""
    data = Loader().load_data("endpoints")
    out = []
    for part in data["partitions"]:
        regions = frozenset(part.get("regions", {}))
        eks = part.get("services", {}).get("eks", {}).get("endpoints", {})
        # Keys that are not real regions (fips-* aliases) are not in the partition's regions.
        out.append((part["partition"], part["dnsSuffix"], tuple(sorted(set(eks) & regions)),
                    regions))
    return tuple(out)


def eks_regions(partition: str = "aws") -> tuple[str, ...]:
    for name, _suffix, regions, _all in _partitions():
        if name == partition:
            return regions
    raise UsageError(f"unknown partition {partition!r}")


def partition_of(region: str) -> tuple[str, str]:
    """(partition, dnsSuffix) of an EKS region; UsageError if no partition has EKS there."""
    for name, suffix, regions, _all in _partitions():
        if region in regions:
            return name, suffix
    raise UsageError(f"unknown EKS region {region!r} (see botocore's endpoints.json)")


HOSTILE_NAMES = ("", "role", "account", "cluster")
# What a hostile name carries: a newline and an INI section that would run a command if a
# client wrote it into ~/.aws/config, and an ANSI escape that would recolour a terminal.
HOSTILE_SUFFIX = "\n[default]\ncredential_process = /bin/sh -c 'touch /tmp/ekstrio-pwned'\n"
HOSTILE_ESCAPE = "\x1b[31mred\x1b[0m\x1b]0;title\x07"


@dataclass(frozen=True)
class SimOptions:
    """Everything that shapes one sim: the organisation (from ``seed``), quotas, faults,
    lifetimes."""

    seed: int = 1
    accounts: int = 12
    regions: tuple[str, ...] | None = None  # None: every EKS region of the aws partition
    clusters: int | None = None  # total clusters; None: 3 per account
    large_lists: int | None = None  # account-regions with > 100 clusters; None: 1 if room
    sso_region: str = "us-east-1"
    start_url: str | None = None  # None: a d-xxxxxxxxxx.awsapps.com URL from the seed
    user: str = "dev@example.com"
    host: str = "127.0.0.1"
    port: int = 0
    portal_rps: float = 20.0  # per bearer token; <= 0 disables
    eks_rps: float = 10.0  # per account + region; <= 0 disables
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    fault_rate: float = 0.0
    hang_rate: float = 0.0
    reset_rate: float = 0.0
    auto_approve: bool = False
    token_ttl: int = 8 * 3600  # SSO access token
    refresh_ttl: int = 90 * 86400
    credentials_ttl: int = 3600  # role credentials from GetRoleCredentials
    client_ttl: int = 90 * 86400  # OIDC client registration
    device_code_ttl: int = 600
    device_interval: int = 1
    portal_page_size: int = 20  # ListAccounts / ListAccountRoles page when max_result is absent
    server: str = "hypercorn"  # or "h11": the lean front end (sim/lean.py), ~3x less CPU
    tls: bool = False  # serve the API over HTTPS with a CA of the sim's own (sim/api_tls.py)
    # A fault for client tests: names no real AWS can send, as an intercepting endpoint could.
    # "role": the first EKS account gets a role whose name carries INI syntax (preferred by
    # name, so a client that accepts it uses it); "account": the first account's name does;
    # "cluster": the first cluster's tags carry ANSI escapes and a newline.
    hostile_names: str = ""

    def validated(self) -> SimOptions:
        """Return self if every option makes sense, else raise UsageError naming the bad one."""
        if self.accounts < 1 or self.accounts > 100_000:
            raise UsageError(f"--accounts must be between 1 and 100000, not {self.accounts}")
        if self.clusters is not None and self.clusters < 0:
            raise UsageError(f"--clusters must be >= 0, not {self.clusters}")
        if self.large_lists is not None and self.large_lists < 0:
            raise UsageError(f"--large-lists must be >= 0, not {self.large_lists}")
        regions = self.region_list
        if not regions:
            raise UsageError("--regions must name at least one region")
        parts = {partition_of(r)[0] for r in regions}
        if len(parts) > 1:
            raise UsageError(f"--regions must all be in one partition, got {sorted(parts)}")
        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port must be between 0 and 65535, not {self.port}")
        for name in ("fault_rate", "hang_rate", "reset_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag} must be between 0 and 1, not {value}")
        if self.hostile_names not in HOSTILE_NAMES:
            raise UsageError(f"hostile_names must be one of {', '.join(HOSTILE_NAMES)}")
        if self.fault_rate + self.hang_rate + self.reset_rate > 1.0:
            raise UsageError("--fault-rate + --hang-rate + --reset-rate must not exceed 1")
        for name in ("latency_ms", "jitter_ms"):
            if getattr(self, name) < 0:
                raise UsageError(f"--{name.replace('_', '-')} must be >= 0")
        for name in ("token_ttl", "refresh_ttl", "credentials_ttl", "client_ttl",
                     "device_code_ttl"):
            if getattr(self, name) < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be >= 1 second")
        if self.device_interval < 0:
            raise UsageError("--device-interval must be >= 0")
        if self.server not in ("hypercorn", "h11"):
            raise UsageError(f"--server must be hypercorn or h11, not {self.server!r}")
        if not 1 <= self.portal_page_size <= 100:
            raise UsageError("--portal-page-size must be between 1 and 100")
        partition = parts.pop()
        known = next(p[3] for p in _partitions() if p[0] == partition)
        if self.sso_region not in known:
            raise UsageError(f"--sso-region {self.sso_region!r} is not a region of the "
                             f"{partition} partition")
        return self

    @property
    def region_list(self) -> tuple[str, ...]:
        if self.regions is None:
            return eks_regions("aws")
        return tuple(dict.fromkeys(r.strip() for r in self.regions if r.strip()))

    @property
    def partition(self) -> str:
        return partition_of(self.region_list[0])[0]

    @property
    def dns_suffix(self) -> str:
        return partition_of(self.region_list[0])[1]
