"""One drawn EKS cluster of the emulated organisation, as DescribeCluster answers it.

:func:`make_cluster` draws the ``cluster`` object (status, version, tags, networking; endpoint,
CA and OIDC issuer only once the control plane exists) from the organisation's one
``random.Random`` (:func:`ekstrio.sim.org.generate`), so the same seed gives the same clusters.
"""

from __future__ import annotations

import base64
import random
import textwrap
from typing import Any

#: Name parts: teams, environments and purposes (cluster and account names are drawn from them).
TEAMS = ("payments", "search", "identity", "data", "platform", "mobile", "ads", "shop",
         "ledger", "media", "ml", "edge", "growth", "infra", "support", "risk")
ENVS = ("prod", "staging", "dev", "sandbox", "qa", "shared")
PURPOSES = ("web", "api", "batch", "jobs", "ingest", "core", "ops", "gpu", "mesh", "etl")
_VERSIONS = ("1.29", "1.30", "1.31", "1.32", "1.33")
_STATUSES = ("ACTIVE", "CREATING", "UPDATING", "FAILED", "DELETING")
_STATUS_WEIGHTS = (85, 5, 5, 3, 2)
_AUTH_MODES = ("API_AND_CONFIG_MAP", "API", "CONFIG_MAP")


def fake_ca_data(rng: random.Random) -> str:
    """base64 of a PEM-shaped certificate: the same shape as EKS's certificateAuthority.data.

    The body is random DER-looking bytes (starting with a SEQUENCE header), not a real
    certificate: nothing in the sim or the client validates it, and it is cheap to make.
    """
    der = b"\x30\x82\x02\xf4\x30\x82\x01\xdc\xa0\x03\x02\x01\x02" + rng.randbytes(743)
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    pem = f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
    return base64.b64encode(pem.encode()).decode()


def make_cluster(rng: random.Random, name: str, account_id: str, region: str,
                  partition: str, dns_suffix: str) -> dict[str, Any]:
    status = rng.choices(_STATUSES, _STATUS_WEIGHTS)[0]
    version = rng.choice(_VERSIONS)
    host_id = rng.randbytes(16).hex().upper()
    team = name.split("-", 1)[0]
    cluster: dict[str, Any] = {
        "name": name,
        "arn": f"arn:{partition}:eks:{region}:{account_id}:cluster/{name}",
        "createdAt": 1_650_000_000 + rng.randrange(120_000_000) + rng.randrange(1000) / 1000,
        "version": version,
        "roleArn": f"arn:{partition}:iam::{account_id}:role/eks-cluster-{name}",
        "resourcesVpcConfig": {
            "subnetIds": [f"subnet-{rng.randbytes(8).hex()[:17]}" for _ in range(3)],
            "securityGroupIds": [],
            "clusterSecurityGroupId": f"sg-{rng.randbytes(9).hex()[:17]}",
            "vpcId": f"vpc-{rng.randbytes(9).hex()[:17]}",
            "endpointPublicAccess": True,
            "endpointPrivateAccess": rng.random() < 0.5,
            "publicAccessCidrs": ["0.0.0.0/0"],
        },
        "kubernetesNetworkConfig": {"serviceIpv4Cidr": "10.100.0.0/16", "ipFamily": "ipv4"},
        "logging": {"clusterLogging": [{
            "types": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
            "enabled": False,
        }]},
        "status": status,
        "platformVersion": f"eks.{rng.randrange(1, 40)}",
        "tags": {"team": team, "env": rng.choice(ENVS), "owner": f"{team}@example.com"},
        "accessConfig": {
            "bootstrapClusterCreatorAdminPermissions": rng.random() < 0.8,
            "authenticationMode": rng.choices(_AUTH_MODES, (70, 25, 5))[0],
        },
        "upgradePolicy": {"supportType": rng.choice(("STANDARD", "EXTENDED"))},
        "health": {"issues": []},
    }
    if rng.random() < 0.3:
        cluster["tags"]["cost-center"] = str(rng.randrange(1000, 9999))
    # EKS publishes endpoint, CA and OIDC issuer only once the control plane exists.
    if status in ("ACTIVE", "UPDATING", "DELETING"):
        cluster["endpoint"] = (
            f"https://{host_id}.{rng.choice(('gr7', 'yl4', 'sk1', 'al2'))}"
            f".{region}.eks.{dns_suffix}"
        )
        cluster["certificateAuthority"] = {"data": fake_ca_data(rng)}
        cluster["identity"] = {
            "oidc": {"issuer": f"https://oidc.eks.{region}.{dns_suffix}/id/{host_id}"}
        }
    else:
        cluster["certificateAuthority"] = {}
    return cluster
