"""The emulated organisation: accounts, permission-set roles, disabled regions and clusters.

Everything is derived from ``SimOptions.seed`` with one ``random.Random``, so the same options
always give the same organisation (each cluster is drawn by :mod:`ekstrio.sim.clusters`).
:meth:`Organisation.dump` is the ground truth that tests compare a scan to.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from ekstrio.sim import truth
from ekstrio.sim.access import ClusterAccess, Reach, draw_access
from ekstrio.sim.clusters import ENVS, PURPOSES, TEAMS, make_cluster
from ekstrio.sim.options import OPT_IN_REGIONS, SimOptions

#: Permission sets whose policies allow eks:ListClusters / eks:DescribeCluster.
EKS_ROLES = ("AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess", "EKSDeveloper")
#: Permission sets without EKS permissions: EKS answers them 403 AccessDeniedException.
NO_EKS_ROLES = ("BillingAccess", "SupportUser")

#: A permission set whose policy allows eks:ListClusters/DescribeCluster but never the
#: access-entry reads (ListAccessEntries, DescribeAccessEntry, ListAssociatedAccessPolicies).
NO_ACCESS_ENTRY_ROLES = frozenset({"EKSDeveloper"})


@dataclass(frozen=True)
class SimRole:
    name: str
    eks: bool  # whether the permission set allows EKS List/Describe
    # whether it may also read access entries (see _entry_api_denies)
    entry_reads: bool = True

    @property
    def access_entry_apis(self) -> bool:
        return self.eks and self.entry_reads


@dataclass(frozen=True)
class SimAccount:
    account_id: str
    name: str
    email: str
    roles: tuple[SimRole, ...]
    disabled_regions: frozenset[str]
    # Control Tower / SCP region deny: every EKS call there is an explicit AccessDenied.
    scp_denied_regions: frozenset[str] = frozenset()

    def role(self, name: str) -> SimRole | None:
        for role in self.roles:
            if role.name == name:
                return role
        return None


@dataclass(frozen=True)
class Organisation:
    seed: int
    partition: str
    dns_suffix: str
    regions: tuple[str, ...]
    start_url: str
    sso_region: str
    user: str
    accounts: tuple[SimAccount, ...]
    # (account_id, region) -> cluster descriptions sorted by name (only non-empty pairs)
    clusters: dict[tuple[str, str], tuple[dict[str, Any], ...]] = field(hash=False)
    by_id: dict[str, SimAccount] = field(hash=False)
    # (account_id, region, cluster name) -> who may get in (sim/access.py)
    access: dict[tuple[str, str, str], ClusterAccess] = field(hash=False, default_factory=dict)

    def clusters_in(self, account_id: str, region: str) -> tuple[dict[str, Any], ...]:
        return self.clusters.get((account_id, region), ())

    @property
    def cluster_count(self) -> int:
        return sum(len(v) for v in self.clusters.values())

    def dump(self) -> dict[str, Any]:
        """The whole organisation as JSON-ready data: the ground truth for tests and demos."""
        accounts = []
        for acct in self.accounts:
            by_region = {
                region: list(self.clusters_in(acct.account_id, region))
                for region in self.regions
                if self.clusters_in(acct.account_id, region)
            }
            accounts.append({
                "accountId": acct.account_id,
                "accountName": acct.name,
                "emailAddress": acct.email,
                "roles": [truth.role_json(self, acct, r) for r in acct.roles],
                "disabledRegions": sorted(acct.disabled_regions),
                "scpDeniedRegions": sorted(acct.scp_denied_regions),
                "clusters": by_region,
                "clusterAccess": truth.account_access(self, acct),
            })
        return {
            "seed": self.seed,
            "partition": self.partition,
            "regions": list(self.regions),
            "startUrl": self.start_url,
            "ssoRegion": self.sso_region,
            "user": self.user,
            "summary": {
                "accounts": len(self.accounts),
                "clusters": self.cluster_count,
                "accountRegionsWithClusters": len(self.clusters),
            },
            "accounts": accounts,
        }


def _cluster_sizes(rng: random.Random, total: int, large: int, npairs: int) -> list[int]:
    """How many clusters each populated account-region gets: a few huge, most small."""
    large = min(large, total // 101, npairs)
    sizes = [101] * large
    spare = total - 101 * large
    for i in range(large):
        extra = min(spare, rng.randrange(40))
        sizes[i] += extra
        spare -= extra
    if spare <= 0:
        return sizes
    room = npairs - large
    if room <= 0:
        sizes[0] += spare
        return sizes
    k = min(room, max(1, round(spare / 3)))
    small = [1] * k
    weights = [1.0 / (i + 1) for i in range(k)]
    for idx, n in Counter(rng.choices(range(k), weights, k=spare - k)).items():
        small[idx] += n
    return sizes + small


def _served(clusters: dict[tuple[str, str], tuple[dict[str, Any], ...]],
            eks_ids: set[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """Clusters with an endpoint that some role can see, in a stable order."""
    return [(a, r, c) for (a, r), cs in sorted(clusters.items()) if a in eks_ids
            for c in cs if "endpoint" in c]


def _cover_modes(clusters: dict[tuple[str, str], tuple[dict[str, Any], ...]],
                 eks_ids: set[str]) -> None:
    """Every organisation with a few visible clusters has each authentication mode at least
    once (CONFIG_MAP is drawn 1 time in 20), so every small test org exercises all three."""
    served = _served(clusters, eks_ids)
    if len(served) < 6:
        return
    modes = {c["accessConfig"]["authenticationMode"] for _, _, c in served}
    for i, mode in enumerate(("CONFIG_MAP", "API", "API_AND_CONFIG_MAP")):
        if mode not in modes:
            served[i][2]["accessConfig"]["authenticationMode"] = mode


def _cover_reach(clusters: dict[tuple[str, str], tuple[dict[str, Any], ...]],
                 access: dict[tuple[str, str, str], ClusterAccess], eks_ids: set[str]) -> None:
    """At least one private endpoint and one wrong CA where there is room; then mark private
    clusters as EKS shows them (endpointPublicAccess false)."""
    served = _served(clusters, eks_ids)
    if len(served) >= 6:
        keys = [(a, r, c["name"]) for a, r, c in served]
        if not any(access[k].reach is Reach.PRIVATE for k in keys):
            access[keys[3]] = replace(access[keys[3]], reach=Reach.PRIVATE, ca_matches=True)
        if not any(not access[k].ca_matches for k in keys):
            k = next(k for k in keys[4:] if access[k].reach is Reach.PUBLIC)
            access[k] = replace(access[k], ca_matches=False)
    for (account_id, region), cs in clusters.items():
        for c in cs:
            if access[(account_id, region, c["name"])].reach is Reach.PRIVATE:
                c["resourcesVpcConfig"]["endpointPublicAccess"] = False
                c["resourcesVpcConfig"]["endpointPrivateAccess"] = True


def _scp_denies(seed: int, accounts: list[SimAccount], regions: tuple[str, ...],
                clusters: dict[tuple[str, str], tuple[dict[str, Any], ...]],
                eks_ids: set[str]) -> list[SimAccount]:
    """Control Tower style region denies for about a third of the accounts (always one when
    some EKS account has room): only regions where the account has no cluster, as a region
    deny also keeps clusters from being created there, and never every region it has on."""
    rng = random.Random(f"scp/{seed}")
    out, forced = [], False
    for acct in accounts:
        enabled = [r for r in regions if r not in acct.disabled_regions]
        empty = [r for r in enabled if (acct.account_id, r) not in clusters]
        room = len(empty) - (1 if len(empty) == len(enabled) else 0)
        want = rng.random() < 0.3 or (not forced and acct.account_id in eks_ids)
        if room <= 0 or not want:
            out.append(acct)
            continue
        forced = forced or acct.account_id in eks_ids
        denied = frozenset(rng.sample(empty, rng.randint(1, room)))
        out.append(replace(acct, scp_denied_regions=denied))
    return out


def _entry_api_denies(seed: int, accounts: list[SimAccount]) -> list[SimAccount]:
    """Roles that may list clusters but not read access entries: EKSDeveloper everywhere, and
    ReadOnlyAccess in about a third of the accounts (always in the first that has it), as if
    the organisation's permission set denied eks:*AccessEntr* explicitly."""
    rng = random.Random(f"entry-apis/{seed}")
    out, forced = [], False
    for acct in accounts:
        roles = []
        for role in acct.roles:
            deny = role.name in NO_ACCESS_ENTRY_ROLES or (
                role.name == "ReadOnlyAccess" and (rng.random() < 0.33 or not forced))
            forced = forced or (deny and role.name == "ReadOnlyAccess")
            roles.append(replace(role, entry_reads=False) if deny else role)
        out.append(replace(acct, roles=tuple(roles)))
    return out


def generate(options: SimOptions) -> Organisation:
    """Build the organisation for these (validated) options, deterministically from the seed."""
    rng = random.Random(options.seed)
    regions = options.region_list
    partition, dns_suffix = options.partition, options.dns_suffix
    start_url = options.start_url or f"https://d-{rng.randbytes(5).hex()}.awsapps.com/start"

    accounts: list[SimAccount] = []
    seen_ids: set[str] = set()
    seen_names: Counter[str] = Counter()
    for i in range(options.accounts):
        account_id = f"{rng.randrange(10**11, 10**12):012d}"
        while account_id in seen_ids:
            account_id = f"{rng.randrange(10**11, 10**12):012d}"
        seen_ids.add(account_id)
        base = f"{rng.choice(TEAMS)}-{rng.choice(ENVS)}"
        seen_names[base] += 1
        name = base if seen_names[base] == 1 else f"{base}-{seen_names[base]}"
        # About one account in ten (and always the third one, so small orgs have one) has
        # no permission set that may call EKS.
        if i == 2 or rng.random() < 0.1:
            names = rng.sample(NO_EKS_ROLES, rng.randint(1, len(NO_EKS_ROLES)))
            roles = [SimRole(n, eks=False) for n in names]
        else:
            names = rng.sample(EKS_ROLES, rng.randint(1, 3))
            roles = [SimRole(n, eks=True) for n in names]
            if rng.random() < 0.4:
                roles.append(SimRole(rng.choice(NO_EKS_ROLES), eks=False))
        disabled = {r for r in regions if r in OPT_IN_REGIONS and rng.random() < 0.5}
        if len(disabled) == len(regions):
            disabled.discard(regions[0])
        accounts.append(SimAccount(
            account_id=account_id,
            name=name,
            email=f"aws+{name}@example.com",
            roles=tuple(sorted(roles, key=lambda r: r.name)),
            disabled_regions=frozenset(disabled),
        ))

    total = options.clusters if options.clusters is not None else 4 * options.accounts
    large = options.large_lists if options.large_lists is not None else int(total >= 150)
    large = min(large, total // 101)
    pairs = [(a.account_id, r) for a in accounts for r in regions if r not in a.disabled_regions]
    rng.shuffle(pairs)
    # The huge lists go where some role can see them (pagination must be exercised); the sort
    # is stable, so the order stays seeded.
    eks_accounts = {a.account_id for a in accounts if any(r.eks for r in a.roles)}
    pairs.sort(key=lambda p: p[0] not in eks_accounts)
    pairs[large:] = rng.sample(pairs[large:], len(pairs) - large) if large else pairs[large:]
    clusters: dict[tuple[str, str], tuple[dict[str, Any], ...]] = {}
    for (account_id, region), size in zip(pairs, _cluster_sizes(rng, total, large, len(pairs)),
                                          strict=False):
        cluster_names: set[str] = set()
        if size > 100:
            prefix = rng.choice(TEAMS)
            cluster_names = {f"{prefix}-{rng.choice(PURPOSES)}-{n:03d}" for n in range(size)}
        while len(cluster_names) < size:
            cluster_names.add(f"{rng.choice(TEAMS)}-{rng.choice(PURPOSES)}-{rng.choice(ENVS)}"
                      f"{'' if rng.random() < 0.7 else '-' + str(rng.randrange(2, 9))}")
        clusters[(account_id, region)] = tuple(
            make_cluster(rng, n, account_id, region, partition, dns_suffix)
            for n in sorted(cluster_names)
        )
    eks_ids = {a.account_id for a in accounts if any(r.eks for r in a.roles)}
    _cover_modes(clusters, eks_ids)
    access = {
        (account_id, region, c["name"]): draw_access(
            c, seed=options.seed, partition=partition, account_id=account_id, region=region,
            permission_sets=tuple(r.name for r in by_id[account_id].roles),
            sso_region=options.sso_region)
        for by_id in [{a.account_id: a for a in accounts}]
        for (account_id, region), cs in clusters.items() for c in cs
    }
    _cover_reach(clusters, access, eks_ids)
    accounts = _scp_denies(options.seed, accounts, regions, clusters, eks_ids)
    accounts = _entry_api_denies(options.seed, accounts)
    if options.hostile_names:
        accounts, clusters = _hostile(options.hostile_names, accounts, clusters)
    return Organisation(
        seed=options.seed,
        partition=partition,
        dns_suffix=dns_suffix,
        regions=regions,
        start_url=start_url,
        sso_region=options.sso_region,
        user=options.user,
        accounts=tuple(accounts),
        clusters=clusters,
        by_id={a.account_id: a for a in accounts},
        access=access,
    )


def _hostile(kind: str, accounts: list[SimAccount],
             clusters: dict[tuple[str, str], tuple[dict[str, Any], ...]]
             ) -> tuple[list[SimAccount], dict[tuple[str, str], tuple[dict[str, Any], ...]]]:
    """The ``hostile_names`` fault: one name that no real AWS answer can carry."""
    from dataclasses import replace

    from ekstrio.sim.options import HOSTILE_ESCAPE, HOSTILE_SUFFIX

    accounts = list(accounts)
    if kind == "role":
        i = next(i for i, a in enumerate(accounts) if any(r.eks for r in a.roles))
        role = SimRole("AdministratorAccess" + HOSTILE_SUFFIX, eks=True)
        accounts[i] = replace(accounts[i], roles=(role, *accounts[i].roles))
    elif kind == "account":
        accounts[0] = replace(accounts[0], name=accounts[0].name + HOSTILE_SUFFIX)
    elif kind == "cluster":
        key = next(k for k, v in sorted(clusters.items()) if v)
        first, *rest = clusters[key]
        tags = {**first["tags"], "team": HOSTILE_ESCAPE + HOSTILE_SUFFIX}
        clusters[key] = ({**first, "tags": tags}, *rest)
    return accounts, clusters
