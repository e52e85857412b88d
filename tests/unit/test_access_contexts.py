"""ekstrio access: kubeconfig contexts → the token kubectl would send → the live check
(a fake API server over real TLS; exec plugins run as kubectl runs them)."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from kube_fakes import fake_kube

from ekstrio.access_contexts import check_contexts
from ekstrio.access_live import LiveOutcome
from ekstrio.kube_contexts import contexts_of

GOOD = "good-token"


def answer(path: str, doc: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
    if token != GOOD:
        return 401, {}
    if path.endswith("/selfsubjectreviews"):
        return 201, {"status": {"userInfo": {"username": "u", "groups": []}}}
    return 201, {"status": {"allowed": True}}


def plugin(token: str | None, *, fail: bool = False) -> dict[str, Any]:
    if fail:
        code = "import sys; sys.stderr.write('boom\\n'); sys.exit(3)"
    else:
        code = ("import json, os; info = json.loads(os.environ['KUBERNETES_EXEC_INFO']); "
                f"print(json.dumps({{'kind': 'ExecCredential', 'apiVersion': info['apiVersion'], "
                f"'status': {{'token': {token!r}}}}}))")
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                     "command": sys.executable, "args": ["-c", code]}}


def kubeconfig(server: str, ca: str, tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "ca.pem").write_bytes(base64.b64decode(ca))
    users = {"static": {"token": GOOD}, "exec": plugin(GOOD), "wrong": plugin("nope"),
             "broken": plugin(None, fail=True), "none": {}}
    clusters = [{"name": "inline", "cluster": {"server": server,
                                               "certificate-authority-data": ca}},
                {"name": "file", "cluster": {"server": server,
                                             "certificate-authority": "ca.pem"}},
                {"name": "noca", "cluster": {"server": server}}]
    contexts = [("static", "inline", "static"), ("exec", "file", "exec"),
                ("wrong", "inline", "wrong"), ("broken", "inline", "broken"),
                ("nouser", "inline", "none"), ("noca", "noca", "static")]
    return {"apiVersion": "v1", "kind": "Config", "clusters": clusters,
            "users": [{"name": n, "user": u} for n, u in users.items()],
            "contexts": [{"name": n, "context": {"cluster": c, "user": u}}
                         for n, c, u in contexts]}


async def test_contexts_checked_live(tmp_path: Path) -> None:
    async with fake_kube(answer) as kube:
        doc = json.loads(json.dumps(kubeconfig(kube.endpoint, kube.ca_data, tmp_path)))
        targets = contexts_of(doc, base=tmp_path)
        results = {r.context: r.result for r in await check_contexts(targets)}
    assert results["static"].outcome is LiveOutcome.OK
    assert results["exec"].outcome is LiveOutcome.OK
    assert results["wrong"].outcome is LiveOutcome.UNAUTHORIZED
    assert results["broken"].outcome is LiveOutcome.ERROR
    assert "failed: boom" in results["broken"].detail
    assert results["nouser"].detail == "its user has neither an exec plugin nor a token"
    assert results["noca"].detail.startswith("no certificate-authority-data")


def test_only_named_contexts_in_order(tmp_path: Path) -> None:
    doc = kubeconfig("https://127.0.0.1:1", "eA==", tmp_path)
    names = [t.name for t in contexts_of(doc, base=tmp_path, only=["exec", "missing"])]
    assert names == ["exec", "missing"]
    assert contexts_of(doc, base=tmp_path, only=["missing"])[0].problem == "no such context"
    assert contexts_of("junk", base=tmp_path) == []
