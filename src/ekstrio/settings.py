"""Presets: how hard a scan pushes, in one frozen value.

A preset is a small TOML file. The three shipped ones live in ``presets/`` at the
top of the repository (``ekstrio/presets`` inside the wheel); users add their own
in ``$XDG_CONFIG_HOME/ekstrio/presets/*.toml`` (default ``~/.config/...``). A user
preset with the name of a shipped one replaces it. A preset may name a ``base``
preset and give only the keys it changes. Command-line flags override the preset.

Any mistake (unknown name, unreadable TOML, unknown key, wrong type, value out of
range) is one :class:`~ekstrio.errors.ConfigError` line naming the file and key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ekstrio.errors import ConfigError, UsageError

DEFAULT_PRESET = "default"


@dataclass(frozen=True, slots=True)
class Preset:
    """Concurrency, pacing, timeouts and retries for one scan."""

    name: str
    description: str = ""
    workers: int = 64
    """Requests in flight at once, across every scope (one CapacityLimiter)."""
    portal_rps: float = 20.0
    """SSO portal requests per second, per user token."""
    eks_rps: float = 10.0
    """EKS requests per second, per account and region."""
    call_timeout: float = 15.0
    """Seconds for one attempt of one call."""
    attempts: int = 4
    """Tries per call, the first included."""
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    throttle_recovery_s: float = 10.0
    """After a throttle halves a scope's rate, seconds to climb back to the full rate."""
    scan_timeout: float | None = None
    """Overall deadline of a scan in seconds; None for none."""
    source: str = "built-in"

    @property
    def retries(self) -> int:
        return self.attempts - 1

    def as_dict(self) -> dict[str, Any]:
        """The values, for ``ekstrio presets`` (no ``source``)."""
        data = dataclasses.asdict(self)
        data.pop("source")
        return data


# The keys a preset file may set, with the type each must have.
_KEY_TYPES: dict[str, tuple[type, ...]] = {
    "description": (str,),
    "workers": (int,),
    "portal_rps": (int, float),
    "eks_rps": (int, float),
    "call_timeout": (int, float),
    "attempts": (int,),
    "backoff_initial": (int, float),
    "backoff_max": (int, float),
    "throttle_recovery_s": (int, float),
    "scan_timeout": (int, float),
}
_KEYS = frozenset(_KEY_TYPES) | {"base"}


def builtin_presets_dir() -> Path:
    """The shipped presets: ``ekstrio/presets`` in a wheel, the repository's in a checkout."""
    package_dir = Path(__file__).resolve().parent
    wheel = package_dir / "presets"
    if wheel.is_dir():
        return wheel
    # Editable/development install: src/ekstrio/settings.py -> <repo>/presets.
    return package_dir.parent.parent / "presets"


def user_presets_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "ekstrio" / "presets"


def _preset_files(env: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Preset name -> file; user presets shadow shipped ones of the same name."""
    found: dict[str, Path] = {}
    for folder in (builtin_presets_dir(), user_presets_dir(env)):
        if folder.is_dir():
            for path in sorted(folder.glob("*.toml")):
                found[path.stem] = path
    return found


def preset_names(env: Mapping[str, str] | None = None) -> list[str]:
    return sorted(_preset_files(env))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"preset file {path} does not exist") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read preset file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"preset file {path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        # TOML is UTF-8 by definition; tomllib decodes before it parses.
        raise ConfigError(
            f"preset file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from exc


def parse_preset(
    data: Mapping[str, Any], *, name: str, source: str, base: Preset | None = None
) -> Preset:
    """Check ``data`` (a parsed preset file) and lay it over ``base``."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        allowed = ", ".join(sorted(_KEYS))
        raise ConfigError(f"preset {source}: unknown key {unknown[0]!r} (allowed: {allowed})")
    values: dict[str, Any] = {}
    for key, types in _KEY_TYPES.items():
        if key not in data:
            continue
        value = data[key]
        # bool is an int subclass; "workers = true" is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, types):
            kinds: dict[tuple[type, ...], str] = {(str,): "a string", (int,): "an integer"}
            kind = kinds.get(types, "a number")
            raise ConfigError(f"preset {source}: {key} must be {kind}, not {value!r}")
        values[key] = float(value) if float in types else value  # type: ignore[arg-type]
    if "scan_timeout" in values:
        values["scan_timeout"] = values["scan_timeout"] or None
    preset = dataclasses.replace(base or Preset(name=name), name=name, source=source, **values)
    validate(preset)
    return preset


# Bounds on every numeric value, and why. A value outside them is a mistake the scan would
# otherwise turn into a hang or a storm: a rate of 1e-300 waits forever for its first token,
# NaN compares false with everything (so it slipped past "> 0"), TOML's `inf` disables a
# timeout, and 10**18 attempts against a broken server never end.
MIN_RATE = 0.1
"""Requests/s: one call every 10 s. Lower cannot scan even one account in reasonable time
(roles, credentials and a ListClusters per region are ~20 calls), so it is a typo, not a plan."""
MAX_WORKERS = 10_000
"""Far above what one machine's sockets and one user token's ~20 rps portal quota can use."""
MAX_ATTEMPTS = 100
"""Tries per call; with backoff_max ≤ 300 s even this many leave each call bounded."""
MAX_BACKOFF = 300.0
"""The longest wait between two tries: AWS's Retry-After hints are seconds, not minutes."""
MAX_SECONDS = 86_400.0
"""Any other timeout or recovery time: a day. Above that a value only hides a hang."""


def _number_checks(preset: Preset) -> list[tuple[str, object, bool, str]]:
    def finite(value: float) -> bool:
        return math.isfinite(value)

    def seconds(value: float, *, low: float = 0.0, strict: bool = False,
                high: float = MAX_SECONDS) -> bool:
        above = value > low if strict else value >= low
        return finite(value) and above and value <= high

    def rate(value: float) -> bool:
        return finite(value) and value >= MIN_RATE

    timeout = preset.scan_timeout
    return [
        ("workers", preset.workers, 1 <= preset.workers <= MAX_WORKERS,
         f"must be at least 1 and at most {MAX_WORKERS}"),
        ("portal_rps", preset.portal_rps, rate(preset.portal_rps),
         f"must be a number of requests/s of at least {MIN_RATE}"),
        ("eks_rps", preset.eks_rps, rate(preset.eks_rps),
         f"must be a number of requests/s of at least {MIN_RATE}"),
        ("call_timeout", preset.call_timeout, seconds(preset.call_timeout, strict=True),
         f"must be above 0 and at most {MAX_SECONDS:.0f} seconds"),
        ("attempts", preset.attempts, 1 <= preset.attempts <= MAX_ATTEMPTS,
         f"must be at least 1 and at most {MAX_ATTEMPTS}"),
        ("backoff_initial", preset.backoff_initial,
         seconds(preset.backoff_initial, high=MAX_BACKOFF),
         f"must be 0 or more and at most {MAX_BACKOFF:.0f} seconds"),
        ("backoff_max", preset.backoff_max,
         seconds(preset.backoff_max, low=preset.backoff_initial, high=MAX_BACKOFF),
         f"must be ≥ backoff_initial and at most {MAX_BACKOFF:.0f} seconds"),
        ("throttle_recovery_s", preset.throttle_recovery_s, seconds(preset.throttle_recovery_s),
         f"must be 0 or more and at most {MAX_SECONDS:.0f} seconds"),
        ("scan_timeout", timeout, timeout is None or seconds(timeout, strict=True),
         f"must be 0 (none) or a number of seconds up to {MAX_SECONDS:.0f}"),
    ]


def check_values(preset: Preset) -> tuple[str, str] | None:
    """The first out-of-range value as ``(key, message)``, or None when all are in range."""
    for key, value, ok, rule in _number_checks(preset):
        if not ok:
            return key, f"{key} {rule}, not {value!r}"
    return None


def validate(preset: Preset) -> None:
    """Raise ConfigError, naming the file and key, when a value is out of range."""
    problem = check_values(preset)
    if problem is not None:
        raise ConfigError(f"preset {preset.source}: {problem[1]}")


def _load_file(
    path: Path, name: str, env: Mapping[str, str] | None, seen: tuple[str, ...]
) -> Preset:
    data = _read_toml(path)
    base: Preset | None = None
    base_name = data.get("base")
    if base_name is not None:
        if not isinstance(base_name, str):
            raise ConfigError(f"preset {path}: base must be a preset name")
        if base_name in seen:
            raise ConfigError(f"preset {path}: base {base_name!r} refers back to itself")
        base = _load_named(base_name, env, (*seen, name))
    elif name != DEFAULT_PRESET:
        # Keys a preset leaves out keep the default preset's values.
        files = _preset_files(env)
        if DEFAULT_PRESET in files and DEFAULT_PRESET not in seen:
            base = _load_named(DEFAULT_PRESET, env, (*seen, name))
    return parse_preset(data, name=name, source=str(path), base=base)


def _load_named(name: str, env: Mapping[str, str] | None, seen: tuple[str, ...]) -> Preset:
    files = _preset_files(env)
    if name not in files:
        known = ", ".join(sorted(files)) or "none"
        raise ConfigError(f"unknown preset {name!r} (known: {known}; or give a path to a .toml)")
    return _load_file(files[name], name, env, seen)


def load_preset(name_or_path: str | None = None, env: Mapping[str, str] | None = None) -> Preset:
    """A preset by name (shipped or user) or by path to a ``.toml`` file."""
    spec = name_or_path or DEFAULT_PRESET
    looks_like_path = spec.endswith(".toml") or os.sep in spec or spec.startswith(".")
    if looks_like_path:
        path = Path(spec).expanduser()
        return _load_file(path, path.stem, env, ())
    return _load_named(spec, env, ())


def list_presets(env: Mapping[str, str] | None = None) -> list[Preset]:
    return [_load_named(name, env, ()) for name in preset_names(env)]


def with_overrides(
    preset: Preset,
    *,
    workers: int | None = None,
    portal_rps: float | None = None,
    eks_rps: float | None = None,
    call_timeout: float | None = None,
    scan_timeout: float | None = None,
    retries: int | None = None,
) -> Preset:
    """The preset with command-line flags laid over it (None leaves a value as is)."""
    changes: dict[str, Any] = {}
    if workers is not None:
        changes["workers"] = workers
    if portal_rps is not None:
        changes["portal_rps"] = float(portal_rps)
    if eks_rps is not None:
        changes["eks_rps"] = float(eks_rps)
    if call_timeout is not None:
        changes["call_timeout"] = float(call_timeout)
    if scan_timeout is not None:
        changes["scan_timeout"] = float(scan_timeout) or None
    if retries is not None:
        changes["attempts"] = retries + 1
    if not changes:
        return preset
    updated = dataclasses.replace(preset, **changes)
    problem = check_values(updated)
    if problem is not None:
        # A bad flag is a usage mistake, not a broken file: exit 2 either way. Name the flag
        # when a flag set the value, the preset file when it came from there.
        key, message = problem
        if key in changes:
            raise UsageError(f"bad flag value {_FLAGS[key]}: {message}")
        raise ConfigError(f"preset {preset.source}: {message}")
    return updated


# The scan flag that sets each preset key (--retries sets attempts as retries + 1).
_FLAGS = {
    "workers": "--workers", "portal_rps": "--rate", "eks_rps": "--eks-rate",
    "call_timeout": "--call-timeout", "scan_timeout": "--timeout", "attempts": "--retries",
}
