"""Where the sim's clusters live: one TLS listener on 127.0.0.1 for every public endpoint, and a
port that refuses connections for the private ones.

``trustme`` makes the organisation's cluster CA (and a second, unrelated one for the clusters
whose published CA is wrong) and a server certificate for IP 127.0.0.1. Each served cluster's
``endpoint`` becomes ``https://127.0.0.1:PORT/<account>/<region>/<name>`` (client-go and the
Python client both accept a path in the server URL) and its ``certificateAuthority.data`` the
base64 of the CA's PEM, as EKS publishes it. Private clusters point at a port the sim holds
bound but never listens on: every connection is refused at once, deterministically, and only on
loopback (nothing else can take the port while the sim holds it).
"""

from __future__ import annotations

import base64
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import quote

import trustme

from ekstrio.sim.access import Reach
from ekstrio.sim.org import Organisation


@dataclass(frozen=True)
class KubeTls:
    ca_data: str  # base64 of the PEM that signed the listener's certificate
    wrong_ca_data: str  # base64 of an unrelated CA's PEM
    server_context: ssl.SSLContext


def make_tls(host: str = "127.0.0.1") -> KubeTls:
    ca = trustme.CA(organization_name="ekstrio sim", organization_unit_name="kubernetes")
    cert = ca.issue_cert(host, common_name="kube-apiserver")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    # HTTP/1.1 only (the lean h11 loop): client-go and urllib3 fall back to it without h2.
    ctx.set_alpn_protocols(["http/1.1"])
    other = trustme.CA(organization_name="ekstrio sim", organization_unit_name="stale")
    return KubeTls(
        ca_data=base64.b64encode(ca.cert_pem.bytes()).decode(),
        wrong_ca_data=base64.b64encode(other.cert_pem.bytes()).decode(),
        server_context=ctx,
    )


def refusing_port(host: str = "127.0.0.1") -> socket.socket:
    """A socket bound to a free port that never listens: connections to it are refused (RST)
    at once. The caller keeps it open for as long as the private endpoints must stay dead."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    return sock


def cluster_path(account_id: str, region: str, name: str) -> str:
    return f"/{account_id}/{region}/{quote(name, safe='')}"


def attach(org: Organisation, *, base_url: str, refused_url: str, tls: KubeTls) -> None:
    """Point every cluster that has an endpoint at the sim (before any request is served:
    DescribeCluster answers are cached after their first use)."""
    for (account_id, region), clusters in org.clusters.items():
        for cluster in clusters:
            if "endpoint" not in cluster:
                continue
            access = org.access[(account_id, region, cluster["name"])]
            root = refused_url if access.reach is Reach.PRIVATE else base_url
            cluster["endpoint"] = root + cluster_path(account_id, region, cluster["name"])
            cluster["certificateAuthority"] = {
                "data": tls.ca_data if access.ca_matches else tls.wrong_ca_data}
