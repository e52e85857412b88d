"""Entry names from a template, unique and deterministic: kubeconfig contexts, AWS profiles.

Names come from a template over ``{account_id} {account_name} {role} {region} {cluster}``;
names shared by several entries get ``@value`` for each disambiguator whose value differs inside
the group (kubeconfig: role, then region, then account id), a name still taken by a foreign
entry gets ``-2``, ``-3``, …. Characters a shell would need quoted become ``-``. Pure.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence

from ekstrio.errors import UsageError

PLACEHOLDERS = ("account_id", "account_name", "role", "region", "cluster")
# Characters kept in generated names; anything else (spaces above all) becomes "-" so that a
# context can be named on a shell command line without quoting.
_UNSAFE = re.compile(r"[^A-Za-z0-9._/@:+=-]+")


def check_template(template: str) -> None:
    """Raise UsageError unless ``template`` uses only the known placeholders (and one)."""
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise UsageError(f"bad name template {template!r}: {exc}") from None
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        raise UsageError(f"bad name template {template!r}: unknown placeholder "
                         f"{{{unknown[0]}}}; use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    if not names:
        raise UsageError(f"bad name template {template!r}: use at least one placeholder")


def sanitize(name: str) -> str:
    return _UNSAFE.sub("-", name).strip("-") or "-"


def unique_names(
    items: Sequence[Mapping[str, str]],
    template: str,
    disambiguators: Sequence[str],
    taken: Iterable[str] = (),
) -> list[str]:
    """Render ``template`` for every item and make the names unique, deterministically.

    Names shared by several items get ``@value`` for each disambiguator whose value differs
    inside the group (in the given order, until unique); names in ``taken`` (foreign entries)
    or still shared get ``-2``, ``-3``, … in the order of the items' values.
    """
    check_template(template)
    try:
        names = [sanitize(template.format_map(dict(item))) for item in items]
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise UsageError(f"bad name template {template!r}: {exc!r}") from None
    for part in disambiguators:
        groups: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            groups.setdefault(name, []).append(i)
        for members in groups.values():
            if len(members) > 1 and len({items[i][part] for i in members}) > 1:
                for i in members:
                    names[i] = sanitize(f"{names[i]}@{items[i][part]}")
    blocked = set(taken)
    order = sorted(range(len(items)), key=lambda i: (names[i], sorted(items[i].items())))
    final: list[str] = [""] * len(items)
    used: set[str] = set()
    for i in order:
        candidate, n = names[i], 1
        while candidate in blocked or candidate in used:
            n += 1
            candidate = f"{names[i]}-{n}"
        used.add(candidate)
        final[i] = candidate
    return final
