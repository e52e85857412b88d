"""Reconcile ekstrio's entries in a kubeconfig document (pure: no I/O).

One cluster, one user and one context entry per (cluster, role), all three with the same name,
each marked as ekstrio's own by a kubeconfig extension::

    extensions:
    - name: ekstrio
      extension: {managed-by: ekstrio, account-id: "…", region: …, cluster: …, role: …}

The marker's identity (account, region, cluster, role) is what ties an entry to a cluster: an
owned entry is updated (and renamed if its name changed) in place; new entries are appended in
name order; entries without the marker are never changed, reordered or dropped, and unknown
fields, top-level ones included, stay as they are.

Names come from a template over ``{account_id} {account_name} {role} {region} {cluster}``. The
default, ``{account_name}/{cluster}``, is made unique deterministically: names shared by several
entries get ``@role``, then ``@region``, then ``@account_id`` appended, each only when that part
differs inside the group; a name still taken by a foreign entry gets ``-2``, ``-3``, ….
The same machinery (:mod:`ekstrio.entry_names`) names AWS config profiles (:mod:`ekstrio.profiles`).
What goes in comes from a scan document through :mod:`ekstrio.kube_targets`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ekstrio.entry_names import unique_names
from ekstrio.errors import ConfigError, UsageError
from ekstrio.kube_targets import Inventory, SsoRef, Target

EXTENSION_NAME = "ekstrio"
MANAGED_BY = "ekstrio"
EXEC_API_V1 = "client.authentication.k8s.io/v1"
EXEC_API_V1BETA1 = "client.authentication.k8s.io/v1beta1"
#: `ekstrio token` answers in whichever version kubectl asks for; v1 is the stable one that
#: client-go has supported since Kubernetes 1.22, so it is what ekstrio writes by default.
EXEC_API_VERSION = EXEC_API_V1
#: `aws eks get-token` prints v1beta1 unless a recent AWS CLI reads KUBERNETES_EXEC_INFO
#: (aws-cli#9685), so with --exec aws the default stays v1beta1.
AWS_EXEC_API_VERSION = EXEC_API_V1BETA1
EXEC_APIS = {"v1": EXEC_API_V1, "v1beta1": EXEC_API_V1BETA1}
DEFAULT_CONTEXT_TEMPLATE = "{account_name}/{cluster}"
SECTIONS = ("clusters", "users", "contexts")
_SECTION_BODY = {"clusters": "cluster", "users": "user", "contexts": "context"}
# The exec keys ekstrio writes; any other key in an owned exec block is kept.
_EXEC_OWNED = ("apiVersion", "command", "args", "env", "interactiveMode")


@dataclass(frozen=True, slots=True)
class ExecSpec:
    """How users authenticate: ``ekstrio token`` (default) or ``aws eks get-token``."""

    kind: str = "ekstrio"  # "ekstrio" | "aws"
    command: str = "ekstrio"
    profile_names: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (acct, role)
    api_version: str | None = None  # None: EXEC_API_VERSION, or AWS_EXEC_API_VERSION for aws

    @property
    def exec_api(self) -> str:
        if self.api_version is not None:
            return self.api_version
        return AWS_EXEC_API_VERSION if self.kind == "aws" else EXEC_API_VERSION


@dataclass(frozen=True, slots=True)
class Plan:
    """The reconciled document and what changed, for the command's report."""

    document: dict[str, Any]
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...]  # owned entries left alone (not in this inventory, not pruned)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


# --- the document ------------------------------------------------------------------------------

def empty_document() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [], "users": [], "contexts": [], "current-context": ""}


def validate_document(doc: Any) -> dict[str, Any]:
    """The loaded YAML as a kubeconfig mapping, or ConfigError naming what is wrong."""
    if doc is None:
        return empty_document()
    if not isinstance(doc, dict):
        raise ConfigError("the kubeconfig is not a YAML mapping")
    for section in SECTIONS:
        entries = doc.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise ConfigError(f"the kubeconfig's {section!r} is not a list")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise ConfigError(f"the kubeconfig's {section!r} has an entry without a name")
    return doc


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _marker(entry: Mapping[str, Any], section: str) -> tuple[str, str, str, str] | None:
    """The identity of an ekstrio-owned entry, or None for a foreign one."""
    body = entry.get(_SECTION_BODY[section])
    if not isinstance(body, Mapping):
        return None
    for ext in body.get("extensions") or []:
        if not isinstance(ext, Mapping) or ext.get("name") != EXTENSION_NAME:
            continue
        data = ext.get("extension")
        if isinstance(data, Mapping) and data.get("managed-by") == MANAGED_BY:
            return (_text(data.get("account-id")), _text(data.get("region")),
                    _text(data.get("cluster")), _text(data.get("role")))
    return None


def _extension(t: Target) -> list[dict[str, Any]]:
    return [{"name": EXTENSION_NAME, "extension": {
        "managed-by": MANAGED_BY, "account-id": t.account_id, "account-name": t.account_name,
        "region": t.region, "cluster": t.cluster, "role": t.role, "arn": t.arn}}]


def exec_block(t: Target, sso: SsoRef | None, spec: ExecSpec) -> dict[str, Any]:
    """The user's ``exec`` section: ``ekstrio token …`` or ``aws eks get-token …``."""
    if spec.kind == "aws":
        args = ["--region", t.region, "eks", "get-token"]
        args += ["--cluster-id", t.cluster_id] if t.cluster_id else ["--cluster-name", t.cluster]
        args += ["--output", "json"]
        block: dict[str, Any] = {"apiVersion": spec.exec_api, "command": "aws", "args": args}
        profile = spec.profile_names.get((t.account_id, t.role))
        if profile:
            block["env"] = [{"name": "AWS_PROFILE", "value": profile}]
    else:
        if sso is None:
            raise ConfigError("the inventory does not say which SSO sign-in it used (no 'sso')")
        args = ["token", "--cluster", t.cluster, "--region", t.region,
                "--account", t.account_id, "--role", t.role]
        if sso.session:
            args += ["--sso-session", sso.session]
        else:
            args += ["--start-url", sso.start_url, "--sso-region", sso.region]
        if t.cluster_id:
            args += ["--cluster-id", t.cluster_id]
        block = {"apiVersion": spec.exec_api, "command": spec.command, "args": args}
    # client-go requires interactiveMode for v1 and honours it for v1beta1: the plugin never
    # prompts (sign-in is `ekstrio login`), so kubectl need not hand it a terminal.
    block["interactiveMode"] = "Never"
    return block


def _entries(t: Target, name: str, sso: SsoRef | None, spec: ExecSpec) -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": t.server}
    if t.ca_data:
        cluster["certificate-authority-data"] = t.ca_data
    cluster["extensions"] = _extension(t)
    return {
        "clusters": {"name": name, "cluster": cluster},
        "users": {"name": name, "user": {"exec": exec_block(t, sso, spec),
                                         "extensions": _extension(t)}},
        "contexts": {"name": name, "context": {"cluster": name, "user": name,
                                               "extensions": _extension(t)}},
    }


def _merge_owned(old: Mapping[str, Any], new: dict[str, Any], section: str) -> dict[str, Any]:
    """The new entry, keeping fields a user added to an owned entry (e.g. a context namespace)."""
    body_key = _SECTION_BODY[section]
    merged = {k: copy.deepcopy(v) for k, v in old.items() if k not in ("name", body_key)}
    merged = {"name": new["name"], body_key: new[body_key], **merged}
    old_body = old.get(body_key)
    if isinstance(old_body, Mapping):
        extra = {k: copy.deepcopy(v) for k, v in old_body.items()
                 if k not in new[body_key] and k not in ("exec", "token", "auth-provider")}
        merged[body_key] = {**new[body_key], **extra}
        if isinstance(old_body.get("exec"), Mapping) and "exec" in new[body_key]:
            merged[body_key]["exec"] = _merge_exec(old_body["exec"], new[body_key]["exec"])
    return merged


def _merge_exec(old: Mapping[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """ekstrio's exec block, keeping the keys it does not write.

    kubectl rewrites every exec block it saves with ``env: null`` and ``provideClusterInfo:
    false``; dropping them would make each kubectl edit look like a change to ekstrio. ``env``
    is ekstrio's (``AWS_PROFILE`` with ``--exec aws``), but an empty one is kept as written.
    """
    merged = {**new, **{k: copy.deepcopy(v) for k, v in old.items() if k not in _EXEC_OWNED}}
    if "env" not in new and "env" in old and not old["env"]:
        merged["env"] = copy.deepcopy(old["env"])
    return merged


def reconcile(
    document: Mapping[str, Any],
    inventory: Inventory,
    *,
    template: str = DEFAULT_CONTEXT_TEMPLATE,
    spec: ExecSpec | None = None,
    prune: bool = False,
    set_current: str | None = None,
) -> Plan:
    """Return the kubeconfig with ekstrio's entries brought in line with ``inventory``.

    ``document`` is not modified. Foreign entries keep their place and content; owned entries
    are updated in place; new ones are appended sorted by name. With ``prune``, owned entries
    whose cluster is gone are removed, but only for (account, region) pairs the scan completed.
    """
    spec = spec or ExecSpec()
    if document is not None and not isinstance(document, Mapping):
        raise ConfigError("the kubeconfig is not a YAML mapping")
    doc = copy.deepcopy(validate_document(dict(document) if document else None))
    for section in SECTIONS:
        if doc.get(section) is None:
            doc[section] = []

    owned_names: dict[tuple[str, str, str, str], str] = {}
    foreign: set[str] = set()
    for section in SECTIONS:
        for entry in doc[section]:
            key = _marker(entry, section)
            if key is None:
                foreign.add(entry["name"])
            else:
                owned_names.setdefault(key, entry["name"])

    targets = list(inventory.targets)
    target_keys = {t.key for t in targets}
    # A cluster listed without an endpoint (CREATING, UPDATING…) is not gone: keep its entries.
    not_ready = {(s.account_id, s.region, s.cluster) for s in inventory.skipped}

    def gone(key: tuple[str, str, str, str]) -> bool:
        account, region, cluster, _role = key
        return (prune and (account, region) in inventory.completed
                and key not in target_keys and (account, region, cluster) not in not_ready)

    # Names that stay in the file whatever happens: foreign ones and owned entries this
    # inventory does not cover (kept). New and updated entries must not take them.
    kept_names = {name for key, name in owned_names.items()
                  if key not in target_keys and not gone(key)}
    names = unique_names([t.fields() for t in targets], template,
                         ("role", "region", "account_id"), taken=foreign | kept_names)
    wanted = {t.key: (t, n) for t, n in zip(targets, names, strict=True)}

    changed: set[tuple[str, str, str, str]] = set()
    placed: set[tuple[str, tuple[str, str, str, str]]] = set()
    for section in SECTIONS:
        result: list[Any] = []
        for entry in doc[section]:
            key = _marker(entry, section)
            if key is None:
                result.append(entry)
            elif key in wanted and (section, key) not in placed:
                t, name = wanted[key]
                new = _merge_owned(entry, _entries(t, name, inventory.sso, spec)[section], section)
                if new != entry:
                    changed.add(key)
                result.append(new)
                placed.add((section, key))
            elif key in wanted or gone(key):
                changed.add(key)  # a duplicate of an owned entry, or a pruned one: dropped
            else:
                result.append(entry)
        result.extend(entry for _, entry in sorted(
            (name, _entries(t, name, inventory.sso, spec)[section])
            for key, (t, name) in wanted.items() if (section, key) not in placed))
        doc[section] = result

    added = {name for key, (_, name) in wanted.items() if key not in owned_names}
    updated = {name for key, (_, name) in wanted.items() if key in owned_names and key in changed}
    removed = {name for key, name in owned_names.items() if key not in wanted and gone(key)}
    kept = {name for key, name in owned_names.items() if key not in wanted and not gone(key)}
    renames = {owned_names[key]: name for key, (_, name) in wanted.items()
               if key in owned_names and owned_names[key] != name}

    if set_current is not None:
        context_names = {c["name"] for c in doc["contexts"]}
        if set_current not in context_names:
            raise UsageError(f"--set-current {set_current!r}: no such context in the kubeconfig")
        doc["current-context"] = set_current
    elif doc.get("current-context") in renames:
        doc["current-context"] = renames[doc["current-context"]]
    elif doc.get("current-context") in removed:
        # Pointing at a pruned context would break kubectl; clear it rather than guess.
        doc["current-context"] = ""
    return Plan(doc, tuple(sorted(added)), tuple(sorted(updated)), tuple(sorted(removed)),
                tuple(sorted(kept)))
