"""Benchmark: `ekstrio kubeconfig` rewriting a large kubeconfig (issue 10: 20 MB took 43 s).

Not a test. Builds a kubeconfig of about ``--mb`` megabytes of foreign entries (each with a
certificate-sized blob, as real ones carry), then times one `ekstrio kubeconfig` run in this
process that adds one cluster, so the whole file is read, reconciled and written. ``--pure``
hides PyYAML's libyaml classes first, to time the pure-Python loader and dumper ekstrio falls
back to. Usage::

    python bench/kubeconfig_bench.py --mb 20
    python bench/kubeconfig_bench.py --mb 20 --pure
"""

# ruff: noqa: T201
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def build(folder: Path, megabytes: float) -> tuple[Path, Path]:
    import yaml

    blob = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t" * 40  # ~1.4 kB, like certificate data
    count = max(1, int(megabytes * 1_000_000 / 4_600))
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": f"c{i}", "cluster": {"server": f"https://{i}.example",
                                                      "certificate-authority-data": blob}}
                        for i in range(count)],
           "users": [{"name": f"c{i}", "user": {"client-certificate-data": blob,
                                                "client-key-data": blob}}
                     for i in range(count)],
           "contexts": [{"name": f"c{i}", "context": {"cluster": f"c{i}", "user": f"c{i}"}}
                        for i in range(count)],
           "current-context": "c0"}
    kc = folder / "config"
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    kc.write_text(yaml.dump(doc, Dumper=dumper, sort_keys=False))
    inv = folder / "inv.json"
    inv.write_text(json.dumps({
        "schema": "ekstrio.scan/v1",
        "sso": {"session": "corp", "start_url": "https://d-1.awsapps.com/start",
                "region": "us-east-1"},
        "clusters": [{"account_id": "111122223333", "account_name": "prod", "roles": ["Admin"],
                      "region": "eu-west-1", "name": "web", "arn": "arn:aws:eks:x",
                      "endpoint": "https://A.eks.amazonaws.com",
                      "certificate_authority_data": "LS0t", "status": "ACTIVE"}],
        "completed": []}))
    return kc, inv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--pure", action="store_true", help="hide libyaml (pure Python)")
    args = parser.parse_args()
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        kc, inv = build(Path(tmp), args.mb)
        if args.pure:
            for name in ("CSafeLoader", "CSafeDumper"):
                if hasattr(yaml, name):
                    delattr(yaml, name)
        from ekstrio import cli

        size = kc.stat().st_size
        started = time.perf_counter()
        code = cli.run(["kubeconfig", "--from", str(inv), "--kubeconfig", str(kc)])
        elapsed = time.perf_counter() - started
        if code != 0:
            raise SystemExit(f"ekstrio kubeconfig exited {code}")
        kind = "pure Python" if args.pure or not hasattr(yaml, "CSafeLoader") else "libyaml"
        print(f"kubeconfig {size / 1e6:.1f} MB, PyYAML {yaml.__version__} ({kind}): "
              f"rewrite {elapsed:.1f} s")


if __name__ == "__main__":
    main()
