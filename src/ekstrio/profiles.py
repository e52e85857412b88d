"""AWS config profiles for every account and role, in a block of ~/.aws/config ekstrio owns (pure).

The block sits between two marker comments::

    # BEGIN ekstrio profiles (managed by `ekstrio profiles`; edits inside are replaced)
    [profile prod.AdministratorAccess]
    sso_session = corp
    sso_account_id = 111122223333
    sso_role_name = AdministratorAccess
    region = us-east-1
    # END ekstrio profiles

Everything outside the block is kept byte for byte. Inside it, a profile is identified by its
``sso_account_id`` and ``sso_role_name``; profiles for pairs not in this inventory stay unless
``prune`` is set and the scan completed at least one region of that account. Names come from a
template over ``{account_id} {account_name} {role}`` (default ``{account_name}.{role}``), made
unique like kubeconfig names (``@account_id`` appended when two accounts share a name; ``-2``
when a section outside the block already has the name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ekstrio.aws import untrusted
from ekstrio.entry_names import unique_names
from ekstrio.errors import ConfigError, UsageError
from ekstrio.kube_targets import Inventory, SsoRef

BEGIN = "# BEGIN ekstrio profiles (managed by `ekstrio profiles`; edits inside are replaced)"
END = "# END ekstrio profiles"
DEFAULT_PROFILE_TEMPLATE = "{account_name}.{role}"
PROFILE_PLACEHOLDERS = ("account_id", "account_name", "role")
_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*$")
# (account_id, account_name, role) triples from the scan's list cache.
AccountRoles = Sequence[tuple[str, str, str]]


@dataclass(frozen=True, slots=True)
class ProfileTarget:
    account_id: str
    account_name: str
    role: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.account_id, self.role)

    def fields(self) -> dict[str, str]:
        # region and cluster are accepted (empty) so a kubeconfig-style template fails clearly
        return {"account_id": self.account_id, "account_name": self.account_name,
                "role": self.role}


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    values: tuple[tuple[str, str], ...]  # ordered key = value lines

    def get(self, key: str) -> str | None:
        return next((v for k, v in self.values if k == key), None)


@dataclass(frozen=True, slots=True)
class SessionSection:
    name: str
    start_url: str
    region: str
    scopes: str = "sso:account:access"


@dataclass(frozen=True, slots=True)
class ProfilesPlan:
    text: str
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...]


def targets_of(inventory: Inventory, lists: AccountRoles | None = None) -> list[ProfileTarget]:
    """Every (account, role) pair of the inventory, plus those of the scan's account/role list
    cache (accounts without clusters), sorted."""
    pairs = {(a, r): n for a, n, r in inventory.roles}
    pairs.update({(t.account_id, t.role): t.account_name for t in inventory.targets})
    if lists is not None:
        for account_id, account_name, role in lists:
            pairs.setdefault((account_id, role), account_name)
    return [ProfileTarget(a, n, r) for (a, r), n in sorted(pairs.items())]


def cached_account_roles(inventory: Inventory) -> list[tuple[str, str, str]]:
    """The account/role lists the last scan of this SSO session cached, if any (any age: an
    old list still names real accounts, and the inventory's pairs come first)."""
    if inventory.sso is None:
        return []
    from ekstrio.inventory import load_lists
    from ekstrio.model import SsoSession

    session = SsoSession(start_url=inventory.sso.start_url, region=inventory.sso.region,
                         name=inventory.sso.session)
    lists = load_lists(session, ttl=float("inf"))
    if lists is None:
        return []
    names = {a.account_id: a.name for a in lists.accounts}
    triples = [(account_id, names.get(account_id, account_id), role)
               for account_id, roles in sorted(lists.roles.items()) for role in roles]
    # The cache holds portal answers of an earlier scan (perhaps one from before names were
    # checked); they become INI values, so they are checked like a fresh answer.
    for account_id, account_name, role in triples:
        try:
            untrusted.account_id(account_id, "account id")
            if account_name:
                untrusted.account_name(account_name, "account name")
            untrusted.role_name(role, "role name")
        except untrusted.BadValue as exc:
            raise ConfigError(f"the cached account/role list of the last scan: {exc}; run "
                              "`ekstrio scan --refresh` again") from None
    return triples


def check_template(template: str) -> None:
    import string

    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise UsageError(f"bad profile template {template!r}: {exc}") from None
    unknown = sorted({n for n in names if n not in PROFILE_PLACEHOLDERS})
    if unknown or not names:
        raise UsageError(f"bad profile template {template!r}: use only "
                         f"{', '.join('{' + p + '}' for p in PROFILE_PLACEHOLDERS)}")


def profile_names(targets: Sequence[ProfileTarget], template: str = DEFAULT_PROFILE_TEMPLATE,
                  taken: Iterable[str] = ()) -> dict[tuple[str, str], str]:
    """(account, role) → profile name, unique and deterministic."""
    check_template(template)
    names = unique_names([t.fields() for t in targets], template, ("account_id", "role"),
                         taken=taken)
    return {t.key: n for t, n in zip(targets, names, strict=True)}


def split_block(text: str) -> tuple[str, list[str] | None, str]:
    """(before, block lines or None, after); ConfigError on unbalanced markers."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == END]
    if not starts and not ends:
        return text, None, ""
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise ConfigError("the AWS config has damaged ekstrio markers (need one BEGIN line "
                          "before one END line); fix them by hand, the file was left untouched")
    s, e = starts[0], ends[0]
    return "".join(lines[:s]), [line.rstrip("\r\n") for line in lines[s + 1:e]], \
        "".join(lines[e + 1:])


def parse_sections(lines: Sequence[str]) -> list[Profile]:
    """``[name]`` sections with their ``key = value`` lines (comments dropped)."""
    sections: list[Profile] = []
    name: str | None = None
    values: list[tuple[str, str]] = []
    for line in lines:
        match = _SECTION.match(line)
        if match:
            if name is not None:
                sections.append(Profile(name, tuple(values)))
            name, values = match.group(1), []
        elif name is not None and "=" in line and not line.lstrip().startswith(("#", ";")):
            key, _, value = line.partition("=")
            values.append((key.strip(), value.strip()))
    if name is not None:
        sections.append(Profile(name, tuple(values)))
    return sections


def section_names(text: str) -> set[str]:
    return {m.group(1) for line in text.splitlines() if (m := _SECTION.match(line))}


def render_profile(name: str, target: ProfileTarget, sso: SsoRef, region: str) -> Profile:
    values: list[tuple[str, str]] = []
    if sso.session:
        values.append(("sso_session", sso.session))
    else:
        values += [("sso_start_url", sso.start_url), ("sso_region", sso.region)]
    values += [("sso_account_id", target.account_id), ("sso_role_name", target.role),
               ("region", region)]
    return Profile(f"profile {name}", tuple(values))


def _render(section: Profile) -> str:
    return "".join([f"[{section.name}]\n", *(f"{k} = {v}\n" for k, v in section.values)])


def reconcile_profiles(
    text: str | None,
    inventory: Inventory,
    *,
    template: str = DEFAULT_PROFILE_TEMPLATE,
    region: str | None = None,
    sso: SsoRef | None = None,
    session_section: SessionSection | None = None,
    prune: bool = False,
    lists: AccountRoles | None = None,
) -> ProfilesPlan:
    """The AWS config text with ekstrio's block brought in line with ``inventory``."""
    sso = sso or inventory.sso
    if sso is None:
        raise ConfigError("no SSO sign-in to write profiles for: the inventory has no 'sso'; "
                          "pass --sso-session NAME")
    before, block, after = split_block(text or "")
    outside = before + after
    foreign = section_names(outside)
    old_sections = parse_sections(block or [])
    old_profiles: dict[tuple[str, str], Profile] = {}
    for section in old_sections:
        if not section.name.startswith("profile "):
            continue
        account, role = section.get("sso_account_id"), section.get("sso_role_name")
        if account and role:
            old_profiles.setdefault((account, role), section)

    targets = targets_of(inventory, lists)
    target_keys = {t.key for t in targets}
    accounts_done = {a for a, _ in inventory.completed}
    kept: dict[tuple[str, str], Profile] = {}
    removed: list[str] = []
    for key, section in old_profiles.items():
        if key in target_keys:
            continue
        if prune and key[0] in accounts_done:
            removed.append(section.name.removeprefix("profile "))
        else:
            kept[key] = section
    # Kept profiles (pairs this scan did not cover) hold on to their names.
    taken = {n.removeprefix("profile ").strip() for n in foreign}
    taken |= {s.name.removeprefix("profile ") for s in kept.values()}
    names = profile_names(targets, template, taken=taken)
    region = region or sso.region
    new_sections = {t.key: render_profile(names[t.key], t, sso, region) for t in targets}
    added = [names[k] for k in new_sections if k not in old_profiles]
    updated = [names[k] for k, s in new_sections.items()
               if k in old_profiles and old_profiles[k] != s]
    profiles = [*new_sections.values(), *kept.values()]
    sections: list[Profile] = []
    if session_section is not None:
        section_name = f"sso-session {session_section.name}"
        if section_name not in foreign:
            sections.append(Profile(section_name, (
                ("sso_start_url", session_section.start_url),
                ("sso_region", session_section.region),
                ("sso_registration_scopes", session_section.scopes))))
    else:
        sections += [s for s in old_sections if s.name.startswith("sso-session ")
                     and s.name not in foreign]
    sections += sorted(profiles, key=lambda s: s.name)

    body = "\n".join(_render(s) for s in sections)
    new_block = f"{BEGIN}\n{body}{END}\n"
    if block is None:
        head = before
        if head and not head.endswith("\n"):
            head += "\n"
        if head.strip():
            head += "\n"
        new_text = head + new_block
    else:
        new_text = before + new_block + after
    return ProfilesPlan(new_text, tuple(sorted(added)), tuple(sorted(updated)),
                        tuple(sorted(removed)),
                        tuple(sorted(s.name.removeprefix("profile ") for s in kept.values())))


def profile_names_for(inventory: Inventory, template: str = DEFAULT_PROFILE_TEMPLATE,
                      config_text: str | None = None, lists: AccountRoles | None = None,
                      ) -> Mapping[tuple[str, str], str]:
    """The profile each (account, role) has for ``--exec aws``: the one already in ekstrio's
    block when there is one (what AWS_PROFILE must name), else the name `ekstrio profiles`
    would give it."""
    targets = targets_of(inventory, lists)
    if not config_text:
        return profile_names(targets, template)
    before, block, after = split_block(config_text)
    existing: dict[tuple[str, str], str] = {}
    for section in parse_sections(block or []):
        account, role = section.get("sso_account_id"), section.get("sso_role_name")
        if section.name.startswith("profile ") and account and role:
            existing.setdefault((account, role), section.name.removeprefix("profile "))
    target_keys = {t.key for t in targets}
    taken = {n.removeprefix("profile ").strip() for n in section_names(before + after)}
    taken |= {n for k, n in existing.items() if k not in target_keys}
    return {**profile_names(targets, template, taken=taken),
            **{k: n for k, n in existing.items() if k in target_keys}}
