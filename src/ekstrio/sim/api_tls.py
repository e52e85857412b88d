"""The sim's API over HTTPS (``--tls``): a certificate chain shaped like AWS's, and the CA file
clients are told to trust.

Real AWS endpoints are HTTPS only, so a client's CPU per call measured over plain HTTP leaves
out its TLS layer (records encrypted and decrypted on every read and write, and the TLS
stream's own Python work). With ``--tls`` the API listener serves HTTPS instead, with a chain
shaped like the one AWS presents: an RSA-2048 root, an RSA-2048 intermediate and an RSA-2048
leaf for the listener's IP (AWS: Amazon Root CA 1, an "Amazon RSA 2048 Mxx" intermediate, an
RSA-2048 leaf), so a client's handshake verifies the same kind and number of signatures.

The root is written, as PEM, to ``ca.pem`` in a private temporary directory that lives exactly
as long as the server: that path is what ``AWS_CA_BUNDLE`` (ekstrio, botocore and the AWS CLI
all read it) and the ``ca_bundle`` of the sim's first stdout line name. The leaf's key and chain
are written there too, for hypercorn, which loads its certificate only from files.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class ApiTls:
    """Where a TLS-serving sim keeps its files, and the server context for the h11 loop."""

    ca_file: Path  # the root CA's PEM: what clients must trust
    cert_file: Path  # leaf + intermediate, PEM (hypercorn's certfile)
    key_file: Path  # the leaf's private key, PEM, 0600 (hypercorn's keyfile)
    server_context: ssl.SSLContext


@contextlib.contextmanager
def api_tls(host: str) -> Iterator[ApiTls]:
    """Make the chain, write its files to a fresh 0700 directory, and remove it on exit."""
    root = trustme.CA(organization_name="ekstrio sim", organization_unit_name="api root",
                      key_type=trustme.KeyType.RSA)
    intermediate = root.create_child_ca(key_type=trustme.KeyType.RSA)
    leaf = intermediate.issue_cert(host, common_name="ekstrio sim api",
                                   key_type=trustme.KeyType.RSA)
    with tempfile.TemporaryDirectory(prefix="ekstrio-sim-tls-") as tmp:
        folder = Path(tmp)
        ca_file = folder / "ca.pem"
        ca_file.write_bytes(root.cert_pem.bytes())
        cert_file = folder / "cert.pem"
        cert_file.write_bytes(b"".join(pem.bytes() for pem in leaf.cert_chain_pems))
        key_file = folder / "key.pem"
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(leaf.private_key_pem.bytes())
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certfile=cert_file, keyfile=key_file)
        # HTTP/1.1 only: the h11 loop speaks nothing else, and hypercorn is told the same.
        context.set_alpn_protocols(["http/1.1"])
        yield ApiTls(ca_file, cert_file, key_file, context)
