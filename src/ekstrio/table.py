"""The cluster table, laid out like kubectl's and gh's: borderless columns, one line per row.

A pure function from cluster records (the JSON document's ``clusters`` entries, so the
same code serves a fresh scan and ``--cached``) and a width to lines of text:

- key columns (account id, region, cluster) are never shortened: a cut name cannot be
  pasted into the next command;
- other columns are cut to fit, with ``…``, widest first, never below their floor;
- when even the floors do not fit, whole columns are left out, least useful first
  (``-o wide`` shows them all);
- ``-o wide`` adds platform version, every role, endpoint and tags, and cuts nothing.

Columns are a list of :class:`Column` values: adding one is one entry in ``COLUMNS`` or
``WIDE_COLUMNS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, set_cell_size

GAP = "  "
ELLIPSIS = "…"

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    value: Callable[[Row], str]
    key: bool = False
    """Never shortened nor left out."""
    floor: int = 0
    """Narrowest it is cut to (0: the header's width)."""
    drop: int = 0
    """Order in which columns are left out when the floors do not fit (1 first; 0 never)."""

    @property
    def min_width(self) -> int:
        return max(self.floor, cell_len(self.header))


def _text(value: Any) -> str:
    # Every value of a record is untrusted AWS data: one line, no control characters.
    text = "" if value is None else str(value)
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _field(name: str) -> Callable[[Row], str]:
    return lambda row: _text(row.get(name))


def _first_role(row: Row) -> str:
    roles = list(row.get("roles") or [])
    if not roles:
        return ""
    more = f" +{len(roles) - 1}" if len(roles) > 1 else ""
    return _text(roles[0]) + more


def _roles(row: Row) -> str:
    return ",".join(_text(r) for r in row.get("roles") or [])


def _tags(row: Row) -> str:
    tags = row.get("tags") or {}
    return ",".join(f"{_text(k)}={_text(v)}" for k, v in sorted(tags.items()))


def _access(row: Row) -> str:
    # ``scan --access``: the best role's verdict (roles are stored best first), and the
    # cluster's own answer when it was asked; "+N" when more roles were checked.
    access = row.get("access") or {}
    if not isinstance(access, Mapping) or not access:
        return ""
    first = next(iter(access.values()))
    if not isinstance(first, Mapping):
        return ""
    label = _text(first.get("label"))
    live = first.get("live")
    if isinstance(live, Mapping):
        label += f"; live {_text(live.get('label'))}"
    more = f" +{len(access) - 1}" if len(access) > 1 else ""
    return label + more


def has_access(rows: Sequence[Row]) -> bool:
    """Whether any row was checked by ``scan --access`` (the table then has an ACCESS column)."""
    return any(row.get("access") is not None for row in rows)


ACCOUNT = Column("ACCOUNT", _field("account_name"), floor=8, drop=4)
ACCOUNT_ID = Column("ACCOUNT ID", _field("account_id"), key=True)
REGION = Column("REGION", _field("region"), key=True)
CLUSTER = Column("CLUSTER", _field("name"), key=True)
STATUS = Column("STATUS", _field("status"), drop=2)
VERSION = Column("VERSION", _field("version"), drop=1)
ROLE = Column("ROLE", _first_role, floor=8, drop=3)
# Dropped last: with --access, whether you can get in is the point of the table.
ACCESS = Column("ACCESS", _access, floor=8, drop=5)

COLUMNS: list[Column] = [ACCOUNT, ACCOUNT_ID, REGION, CLUSTER, STATUS, VERSION, ROLE]
WIDE_COLUMNS: list[Column] = [
    ACCOUNT, ACCOUNT_ID, REGION, CLUSTER, STATUS, VERSION,
    Column("PLATFORM", _field("platform_version")),
    Column("ROLES", _roles),
    Column("ENDPOINT", _field("endpoint")),
    Column("TAGS", _tags),
]


def sort_key(row: Row) -> tuple[str, str, str, str]:
    return (str(row.get("account_name") or ""), str(row.get("account_id") or ""),
            str(row.get("region") or ""), str(row.get("name") or ""))


def _fit(columns: Sequence[Column], natural: Sequence[int], width: int) -> list[int] | None:
    """Widths that fit ``width`` by cutting the widest cuttable column first; None if the
    floors alone are too wide."""
    widths = list(natural)
    excess = sum(widths) + len(GAP) * (len(widths) - 1) - width
    while excess > 0:
        cuttable = [i for i, c in enumerate(columns)
                    if not c.key and widths[i] > c.min_width]
        if not cuttable:
            return None
        widest = max(cuttable, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def _cell(text: str, width: int) -> str:
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + ELLIPSIS


def layout(
    rows: Sequence[Row], width: int | None, *, wide: bool = False,
    columns: Sequence[Column] | None = None,
) -> list[str]:
    """The table as lines (header first), each at most ``width`` cells where the key
    columns allow it; ``width`` None (or ``wide``) cuts nothing."""
    chosen = list(columns if columns is not None else (WIDE_COLUMNS if wide else COLUMNS))
    if columns is None and has_access(rows):
        chosen.append(ACCESS)
    ordered = sorted(rows, key=sort_key)
    cells = {id(c): [c.value(row) for row in ordered] for c in chosen}
    limit = None if wide else width
    while True:
        natural = [max([cell_len(c.header), *map(cell_len, cells[id(c)])]) for c in chosen]
        widths = natural if limit is None else _fit(chosen, natural, limit)
        if widths is not None:
            break
        droppable = [c for c in chosen if c.drop]
        if not droppable:
            # Only key columns and floors are left: they are shown whole, wider than asked.
            widths = [c.min_width if not c.key else n for c, n in zip(chosen, natural,
                                                                     strict=True)]
            break
        chosen.remove(min(droppable, key=lambda c: c.drop))
    lines = []
    for index in range(-1, len(ordered)):
        texts = [c.header if index < 0 else cells[id(c)][index] for c in chosen]
        line = GAP.join(_cell(t, w) for t, w in zip(texts, widths, strict=True))
        lines.append(line.rstrip())
    return lines
