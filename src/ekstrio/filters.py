"""Pure choices a scan makes: which accounts, which roles in which order, which clusters.

Nothing here does I/O; each function is a small rule over strings and frozen values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from ekstrio.errors import UsageError
from ekstrio.model import Account

# The role chosen when --role is not given: the first of these patterns that matches
# any of the account's roles wins, and later patterns are the fall-backs tried when
# EKS denies the earlier role. Broad admin roles see every cluster; read-only roles
# can usually still list and describe; "*" means any role rather than none.
DEFAULT_ROLE_PREFERENCE: tuple[str, ...] = (
    "AdministratorAccess",
    "*Admin*",
    "PowerUser*",
    "*EKS*",
    "ReadOnly*",
    "*",
)


def order_roles(role_names: Iterable[str], patterns: Sequence[str] = ()) -> list[str]:
    """The account's roles that match ``patterns``, in order of preference.

    Patterns are role names or shell globs, compared without regard to case. A role
    is placed at its first matching pattern; roles matching the same pattern keep
    name order. Roles matching no pattern are left out, so ``--role Admin`` never
    falls back to some other role the user did not ask for.
    """
    patterns = tuple(patterns) or DEFAULT_ROLE_PREFERENCE
    remaining = sorted(set(role_names))
    ordered: list[str] = []
    for pattern in patterns:
        wanted = pattern.casefold()
        for name in remaining:
            if name not in ordered and fnmatchcase(name.casefold(), wanted):
                ordered.append(name)
    return ordered


def _account_matches(account: Account, pattern: str) -> bool:
    # An id (or id glob) matches the id; anything else is a name glob, without case.
    return fnmatchcase(account.account_id, pattern) or fnmatchcase(
        account.name.casefold(), pattern.casefold()
    )


@dataclass(frozen=True, slots=True)
class ClusterFilter:
    """Which accounts and clusters a scan keeps."""

    accounts: tuple[str, ...] = ()
    exclude_accounts: tuple[str, ...] = ()
    name_regex: str | None = None
    tags: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # An empty pattern matches no account: `--account ''` (an unset shell variable) would
        # scan nothing and report a complete, empty organisation.
        for flag, patterns in (("--account", self.accounts),
                               ("--exclude-account", self.exclude_accounts)):
            if any(not pattern.strip() for pattern in patterns):
                raise UsageError(f"{flag} '': give an account id or name glob")

    @property
    def narrows_clusters(self) -> bool:
        """Whether some clusters of a scanned region may be left out on purpose."""
        return self.name_regex is not None or bool(self.tags)

    def account_selected(self, account: Account) -> bool:
        if self.accounts and not any(_account_matches(account, p) for p in self.accounts):
            return False
        return not any(_account_matches(account, p) for p in self.exclude_accounts)

    def name_selected(self, name: str) -> bool:
        # Checked on names from ListClusters, before DescribeCluster, to save calls.
        return self.name_regex is None or re.search(self.name_regex, name) is not None

    def tags_selected(self, tags: Mapping[str, str]) -> bool:
        return all(tags.get(key) == value for key, value in self.tags)


def parse_tags(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``["team=web", "env=prod"]`` → pairs; a malformed item is a usage error."""
    pairs: list[tuple[str, str]] = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag {item!r}: write it as KEY=VALUE")
        pairs.append((key, value))
    return tuple(pairs)


def check_regex(pattern: str | None) -> str | None:
    if pattern is None:
        return None
    try:
        re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"--name {pattern!r} is not a valid regular expression: {exc}") from None
    return pattern


def check_regions(requested: Sequence[str], known: Sequence[str]) -> tuple[str, ...]:
    """The regions to scan: all ``known`` ones by default; unknown names are a usage error."""
    if not requested:
        return tuple(known)
    names: list[str] = []
    for item in requested:
        names.extend(part.strip() for part in item.split(",") if part.strip())
    if not names:
        # `--regions ''` or `--regions ,,,` (an unset variable, a bad join) names no region;
        # scanning none would report a complete, empty organisation.
        raise UsageError(f"--regions {requested[0]!r} names no region (give e.g. us-east-1)")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(
            f"--regions: {unknown[0]!r} is not an EKS region of this partition "
            f"(known: {', '.join(known)})"
        )
    return tuple(dict.fromkeys(names))
