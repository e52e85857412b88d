"""``scan --diff``: clusters added, removed and changed between two scan documents (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ekstrio.scan_document import ScanDocument
from ekstrio.scan_entries import ClusterEntry

# Fields whose change makes a cluster "changed" in --diff.
DIFF_FIELDS = (
    "status", "version", "platform_version", "endpoint", "certificate_authority_data",
    "roles", "tags", "authentication_mode", "arn",
)

ClusterKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Change:
    key: ClusterKey
    fields: tuple[str, ...]
    before: ClusterEntry = field(repr=False)
    after: ClusterEntry = field(repr=False)


@dataclass(frozen=True, slots=True)
class InventoryDiff:
    added: tuple[ClusterEntry, ...]
    removed: tuple[ClusterEntry, ...]
    changed: tuple[Change, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, Any]:
        def ident(c: ClusterEntry) -> dict[str, Any]:
            return {"account_id": c.account_id, "account_name": c.account_name,
                    "region": c.region, "name": c.name}

        def fields(ch: Change) -> dict[str, Any]:
            before, after = ch.before.to_json(), ch.after.to_json()
            shown = {f: {"before": before[f], "after": after[f]} for f in ch.fields
                     if f != "certificate_authority_data"}
            if "certificate_authority_data" in ch.fields:  # long and unreadable: only say so
                shown["certificate_authority_data"] = {"before": "…", "after": "…"}
            return shown

        return {
            "added": [ident(c) for c in self.added],
            "removed": [ident(c) for c in self.removed],
            "changed": [{**ident(ch.after), "fields": fields(ch)} for ch in self.changed],
        }


def diff_inventories(old: ScanDocument, new: ScanDocument) -> InventoryDiff:
    """Clusters added, removed and changed from ``old`` to ``new``.

    A cluster counts as removed only if ``new`` read its account/region to the end
    (``completed``): a region that failed or was cut short this time proves nothing.
    """
    before = {c.key: c for c in old.clusters}
    after = {c.key: c for c in new.clusters}
    completed = set(new.completed)
    added = tuple(after[k] for k in sorted(after.keys() - before.keys()))
    removed = tuple(before[k] for k in sorted(before.keys() - after.keys())
                    if (k[0], k[1]) in completed)
    changed = []
    for key in sorted(before.keys() & after.keys()):
        fields = tuple(f for f in DIFF_FIELDS
                       if getattr(before[key], f) != getattr(after[key], f))
        if fields:
            changed.append(Change(key, fields, before[key], after[key]))
    return InventoryDiff(added, removed, tuple(changed))
