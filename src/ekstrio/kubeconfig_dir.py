"""``kubeconfig --kubeconfig-dir DIR``: one kubeconfig file per context, eksctl's layout.

For people who keep contexts apart (``KUBECONFIG=~/.kube/eks/prod-web kubectl …``, or a tool
that lists a directory). Each file holds one cluster, one user and one context, and that
context is its ``current-context``; the file is named after the context, with anything but
letters, digits, ``.``, ``_``, ``@`` and ``-`` replaced by ``_``. Every file is written the way
the single file is: under kubectl's lock, atomically, keeping what the user added.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ekstrio import kubeconfig_io
from ekstrio.kube_targets import Inventory
from ekstrio.kubeconfig import ExecSpec, Plan, reconcile
from ekstrio.kubeconfig_io import WriteResult

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def file_name(context: str) -> str:
    """A file name for ``context``: ``prod/web`` -> ``prod_web``."""
    name = _UNSAFE.sub("_", context).strip("._") or "context"
    return name[:200]


def one_per_file(inventory: Inventory) -> Iterator[Inventory]:
    """The inventory split into one inventory per target (same scan scope, one entry)."""
    for target in inventory.targets:
        yield dataclasses.replace(inventory, targets=(target,))


def _key(context: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The (account, region, cluster, role) of an entry ekstrio wrote; None for others."""
    for ext in (context.get("context") or {}).get("extensions") or []:
        if isinstance(ext, Mapping) and ext.get("name") == "ekstrio":
            marker = ext.get("extension") or {}
            return tuple(str(marker.get(k)) for k in ("account-id", "region", "cluster", "role"))
    return None


def _renamed(document: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """``document`` with the entries named ``old`` (and references to them) named ``new``."""
    for section, body, refs in (("clusters", "cluster", ()), ("users", "user", ()),
                                ("contexts", "context", ("cluster", "user"))):
        for entry in document.get(section) or []:
            if entry.get("name") == old:
                entry["name"] = new
                for ref in refs:
                    if entry.get(body, {}).get(ref) == old:
                        entry[body][ref] = new
    return document


def write_dir(
    directory: Path, inventory: Inventory, *, template: str, spec: ExecSpec,
    dry_run: bool = False,
) -> list[tuple[Path, WriteResult, Plan]]:
    """Write one file per context under ``directory``; return each file's outcome."""
    results: list[tuple[Path, WriteResult, Plan]] = []
    if not dry_run:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Names as one file would have them (made unique across the whole inventory: two roles
    # of one cluster under a template without {role} get "name" and "name-2").
    every = reconcile({}, inventory, template=template, spec=spec).document["contexts"]
    names = {_key(c): c["name"] for c in every}
    for single in one_per_file(inventory):
        name = names[single.targets[0].key]
        path = directory / file_name(name)
        plans: list[Plan] = []

        def transform(old: str | None, path: Path = path, single: Inventory = single,
                      name: str = name, plans: list[Plan] = plans) -> str:
            document = kubeconfig_io.load_yaml(old, path) if old is not None else None
            plan = reconcile(document or {}, single, template=template, spec=spec)
            # Alone in its file the context would take the template's plain name.
            ours = [c["name"] for c in plan.document["contexts"]
                    if _key(c) == single.targets[0].key]
            if ours and ours[0] != name:
                _renamed(plan.document, ours[0], name)
            plan.document["current-context"] = name
            plans.append(plan)
            if old is not None and plan.document == document:
                return old
            return kubeconfig_io.dump_yaml(plan.document)

        results.append((path, kubeconfig_io.rewrite(path, transform, dry_run=dry_run),
                        plans[-1]))
    return results
