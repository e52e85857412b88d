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


def validate(preset: Preset) -> None:
    """Raise ConfigError when a value is out of range."""
    where = f"preset {preset.source}"
    checks: list[tuple[bool, str]] = [
        (preset.workers >= 1, "workers must be at least 1"),
        (preset.portal_rps > 0, "portal_rps must be above 0"),
        (preset.eks_rps > 0, "eks_rps must be above 0"),
        (preset.call_timeout > 0, "call_timeout must be above 0"),
        (preset.attempts >= 1, "attempts must be at least 1"),
        (preset.backoff_initial >= 0, "backoff_initial must not be negative"),
        (preset.backoff_max >= preset.backoff_initial, "backoff_max must be ≥ backoff_initial"),
        (preset.throttle_recovery_s >= 0, "throttle_recovery_s must not be negative"),
        (preset.scan_timeout is None or preset.scan_timeout > 0, "scan_timeout must be ≥ 0"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"{where}: {message}")


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
    try:
        validate(dataclasses.replace(updated, source="flags"))
    except ConfigError as exc:
        # A bad flag is a usage mistake, not a broken file: exit 2 either way.
        raise UsageError(str(exc).replace("preset flags: ", "bad flag value: ")) from None
    return updated
