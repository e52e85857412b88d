"""Pure: one role's access to one cluster as the scan document keeps it.

The AWS verdict (:class:`ekstrio.access.AccessVerdict`) plus, with ``--access live``, what the
cluster itself said (:class:`ekstrio.access_live.LiveResult`). JSON shape: the verdict's fields,
``gets_in``, and ``live`` (docs/output.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

# Every scan imports this module (the scan document holds RoleAccess values), but only
# `--access` and a document with access in it need the verdict and live-check modules
# (~10 ms to import with the EKS access-entry and STS wire code below them): they are
# imported where a value is first read or made, and a RoleAccess exists only after that.
if TYPE_CHECKING:
    from ekstrio.access import AccessVerdict
    from ekstrio.access_live import LiveResult

__all__ = ["AccessMode", "ClusterKey", "RoleAccess", "best_first"]

ClusterKey = tuple[str, str, str]  # (account_id, region, name)


class AccessMode(StrEnum):
    """``scan --access``: what the EKS API says, or that and what each cluster says."""

    AWS = "aws"
    LIVE = "live"


@dataclass(frozen=True, slots=True)
class RoleAccess:
    """One role's access to one cluster: the AWS verdict, and the live result if asked."""

    verdict: AccessVerdict
    live: LiveResult | None = None

    @property
    def gets_in(self) -> bool:
        """The cluster's own answer when there is one, else the EKS API's."""
        if self.live is not None:
            return self.live.outcome.gets_in
        return self.verdict.state.gets_in

    @property
    def rank(self) -> tuple[int, int]:
        return (0 if self.gets_in else 1, self.verdict.state.rank)

    @property
    def label(self) -> str:
        if self.live is None:
            return self.verdict.label
        return f"{self.verdict.label}; live {self.live.label}"

    def to_json(self) -> dict[str, Any]:
        return {**self.verdict.to_json(), "gets_in": self.gets_in,
                "live": self.live.to_json() if self.live is not None else None}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> RoleAccess:
        # Here, not at the top: see the comment on the imports.
        from ekstrio.access import AccessVerdict
        from ekstrio.access_live import LiveResult

        live = doc.get("live")
        return cls(AccessVerdict.from_json(doc),
                   LiveResult.from_json(live) if isinstance(live, Mapping) else None)




def best_first(access: Mapping[str, RoleAccess]) -> list[str]:
    """Role names, the one most likely to get in first (then by name)."""
    return sorted(access, key=lambda role: (access[role].rank, role))
