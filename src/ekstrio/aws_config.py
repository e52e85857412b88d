"""The AWS config file (``~/.aws/config`` or ``$AWS_CONFIG_FILE``), read like the AWS CLI v2.

Sections: ``[default]``, ``[profile NAME]``, ``[sso-session NAME]``, ``[services NAME]``
(whose keys hold indented sub-keys, ``eks =\\n  endpoint_url = …``).

:func:`resolve_session` decides which IAM Identity Center session a command
uses; every problem is one :class:`~ekstrio.errors.ConfigError` (or
:class:`~ekstrio.errors.UsageError` for flags) naming the file, section and key.
Nothing here writes a file.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ekstrio.errors import ConfigError, UsageError
from ekstrio.model import SsoSession

__all__ = ["AwsConfig", "config_path", "load", "parse", "resolve_session"]

Section = Mapping[str, str]


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$AWS_CONFIG_FILE`` (``~`` expanded) or ``~/.aws/config``."""
    env = os.environ if env is None else env
    explicit = env.get("AWS_CONFIG_FILE")
    if explicit:
        return Path(os.path.expanduser(explicit))
    return Path(os.path.expanduser("~")) / ".aws" / "config"


def _display(path: Path) -> str:
    """The path as a user would type it (``~/.aws/config``)."""
    home = Path(os.path.expanduser("~"))
    try:
        return "~/" + str(path.relative_to(home))
    except ValueError:
        return str(path)


def _section_label(profile: str) -> str:
    return "[default]" if profile == "default" else f"[profile {profile}]"


def _env_profile(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(profile, variable it came from): AWS_PROFILE beats AWS_DEFAULT_PROFILE (CLI v2 order)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        value = env.get(name, "").strip()
        if value:
            return value, name
    return None, None


@dataclass(frozen=True)
class AwsConfig:
    """A parsed config file plus the environment it is read with.

    ``profile_name`` is the chosen profile (``--profile``, else AWS_PROFILE,
    else AWS_DEFAULT_PROFILE; None means ``default``). The properties
    ``region``, ``endpoint_url``, ``services`` and ``ca_bundle`` answer for it.
    """

    path: Path
    profiles: Mapping[str, Section] = field(default_factory=dict)
    sso_sessions: Mapping[str, Section] = field(default_factory=dict)
    services_sections: Mapping[str, Mapping[str, Section]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    profile_name: str | None = None
    profile_origin: str | None = None

    @property
    def display_path(self) -> str:
        return _display(self.path)

    def with_profile(self, name: str | None, origin: str = "--profile") -> AwsConfig:
        """This config with ``name`` chosen (None keeps the environment's choice)."""
        if name is None:
            return self
        return replace(self, profile_name=name, profile_origin=origin)

    def profile(self, name: str | None = None) -> Section:
        """The chosen (or named) profile's keys. An explicitly chosen profile must exist."""
        wanted = name or self.profile_name
        if wanted is None:
            return self.profiles.get("default", {})
        section = self.profiles.get(wanted)
        if section is None:
            origin = f" (from {self.profile_origin})" if self.profile_origin and not name else ""
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ConfigError(
                f"{self.display_path}: no profile {wanted!r}{origin}; "
                f"add a {_section_label(wanted)} section (profiles found: {known})"
            )
        return section

    def _get(self, key: str) -> str | None:
        value = self.profile().get(key, "").strip()
        return value or None

    @property
    def region(self) -> str | None:
        """AWS_REGION, AWS_DEFAULT_REGION, then the profile's ``region`` (CLI v2 order)."""
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            value = self.env.get(name, "").strip()
            if value:
                return value
        return self._get("region")

    @property
    def endpoint_url(self) -> str | None:
        """The profile's ``endpoint_url`` (for :func:`ekstrio.aws.endpoints.resolve`)."""
        return self._get("endpoint_url")

    @property
    def services(self) -> Mapping[str, Section]:
        """The profile's ``[services X]`` section: config key → ``{"endpoint_url": …}``."""
        name = self._get("services")
        if name is None:
            return {}
        section = self.services_sections.get(name)
        if section is None:
            raise ConfigError(
                f"{self.display_path}: {_section_label(self.profile_name or 'default')} "
                f"services = {name}, but there is no [services {name}] section"
            )
        return section

    @property
    def ca_bundle(self) -> str | None:
        """AWS_CA_BUNDLE, then the profile's ``ca_bundle``."""
        value = self.env.get("AWS_CA_BUNDLE", "").strip()
        return os.path.expanduser(value or self._get("ca_bundle") or "") or None


def _parse_nested(value: str) -> dict[str, str]:
    """``\\n  endpoint_url = http://…`` → ``{"endpoint_url": "http://…"}`` (botocore's rule)."""
    nested: dict[str, str] = {}
    for line in value.splitlines():
        if not line.strip():
            continue
        key, sep, val = line.partition("=")
        if sep:
            nested[key.strip()] = val.strip()
    return nested


def parse(text: str, path: Path, env: Mapping[str, str] | None = None) -> AwsConfig:
    """Parse config text; malformed INI is a one-line :class:`ConfigError`."""
    env = dict(os.environ if env is None else env)
    parser = configparser.RawConfigParser(strict=True)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise ConfigError(f"{_display(path)}: malformed INI: {_ini_problem(exc)}") from exc

    profiles: dict[str, dict[str, str]] = {}
    sessions: dict[str, dict[str, str]] = {}
    services: dict[str, dict[str, dict[str, str]]] = {}
    for section in parser.sections():
        items = {k: v.strip() for k, v in parser.items(section)}
        words = section.split(None, 1)
        if section.strip() == "default":
            # `[profile default]` and `[default]` both name the default profile; merge.
            profiles.setdefault("default", {}).update(items)
        elif len(words) == 2 and words[0] == "profile":
            profiles.setdefault(words[1].strip(), {}).update(items)
        elif len(words) == 2 and words[0] == "sso-session":
            sessions[words[1].strip()] = items
        elif len(words) == 2 and words[0] == "services":
            services[words[1].strip()] = {
                k: _parse_nested(v) for k, v in parser.items(section)
            }
        # Other sections (`[plugins]`, `[foo]` without "profile") mean nothing here.
    profile, origin = _env_profile(env)
    return AwsConfig(path=path, profiles=profiles, sso_sessions=sessions,
                     services_sections=services, env=env,
                     profile_name=profile, profile_origin=origin)


def _ini_problem(exc: configparser.Error) -> str:
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno}: a key before any [section] header"
    if isinstance(exc, configparser.DuplicateSectionError):
        return f"line {exc.lineno}: section [{exc.section}] appears twice"
    if isinstance(exc, configparser.DuplicateOptionError):
        return f"line {exc.lineno}: key {exc.option!r} appears twice in [{exc.section}]"
    if isinstance(exc, configparser.ParsingError):
        lines = [str(lineno) for lineno, _ in exc.errors]
        return f"line {', '.join(lines)}: not a [section] header nor a key = value line"
    return str(exc).splitlines()[0]


def load(path: Path | None = None, env: Mapping[str, str] | None = None) -> AwsConfig:
    """Read ``path`` (default :func:`config_path`); a missing file is an empty config."""
    env = os.environ if env is None else env
    path = Path(path) if path is not None else config_path(env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"{_display(path)}: cannot read: {reason}") from exc
    return parse(text, path, env)


# --- which SSO session ----------------------------------------------------------------------

_PORTAL_REGION = re.compile(r"^[a-z0-9-]+\.portal\.([a-z0-9-]+)\.app\.aws$")


def _scopes(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(s.strip() for s in value.split(",") if s.strip())


def _check_url(url: str, where: str) -> str:
    url = url.strip()
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"{where}: sso_start_url must be an https:// URL, got {url!r}")
    return url


def _session_from_section(cfg: AwsConfig, name: str) -> SsoSession:
    section = cfg.sso_sessions.get(name)
    if section is None:
        known = ", ".join(sorted(cfg.sso_sessions)) or "none"
        raise ConfigError(
            f"{cfg.display_path}: no [sso-session {name}] section (sso-sessions found: {known})"
        )
    where = f"{cfg.display_path}: [sso-session {name}]"
    for key in ("sso_start_url", "sso_region"):
        if not section.get(key):
            raise ConfigError(f"{where} is missing {key}")
    return SsoSession(
        start_url=_check_url(section["sso_start_url"], where),
        region=section["sso_region"],
        name=name,
        scopes=_scopes(section.get("sso_registration_scopes")),
    )


def _session_from_profile(cfg: AwsConfig, name: str) -> SsoSession:
    section = cfg.profile(name)
    label = _section_label(name)
    where = f"{cfg.display_path}: {label}"
    session_name = section.get("sso_session", "").strip()
    if session_name:
        if session_name not in cfg.sso_sessions:
            raise ConfigError(
                f"{where} has sso_session = {session_name}, "
                f"but there is no [sso-session {session_name}] section"
            )
        session = _session_from_section(cfg, session_name)
        # botocore refuses a profile whose keys disagree with its sso-session's.
        for key, value in cfg.sso_sessions[session_name].items():
            own = section.get(key, "").strip()
            if own and own != value.strip():
                raise ConfigError(
                    f"{where} has {key} = {own}, which conflicts with "
                    f"[sso-session {session_name}] {key} = {value}"
                )
        return session
    start_url = section.get("sso_start_url", "").strip()
    region = section.get("sso_region", "").strip()
    if not start_url and not region:
        raise ConfigError(
            f"{where} has neither sso_session nor sso_start_url; "
            f"it is not an IAM Identity Center profile"
        )
    for key, value in (("sso_start_url", start_url), ("sso_region", region)):
        if not value:
            raise ConfigError(f"{where} is missing {key}")
    return SsoSession(start_url=_check_url(start_url, where), region=region, name=None,
                      scopes=_scopes(section.get("sso_registration_scopes")))


def _region_from_start_url(url: str) -> str | None:
    host = re.sub(r"^https?://", "", url).split("/", 1)[0].split(":", 1)[0]
    match = _PORTAL_REGION.match(host)
    return match.group(1) if match else None


def resolve_session(
    cfg: AwsConfig,
    *,
    start_url: str | None = None,
    sso_region: str | None = None,
    sso_session: str | None = None,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> SsoSession:
    """The IAM Identity Center session to use, in this order:

    1. ``--start-url`` (+ ``--sso-region``): ad hoc, keyed like a legacy profile;
    2. ``--sso-session NAME``;
    3. ``--profile NAME``, else AWS_PROFILE, else AWS_DEFAULT_PROFILE: the
       profile's ``sso_session``, or its legacy ``sso_start_url``/``sso_region``;
    4. the only ``[sso-session]`` in the file (or a ``[default]`` with SSO keys).
    """
    if env is not None:
        cfg = replace(cfg, env=dict(env))
        if cfg.profile_origin in (None, "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            env_profile, origin = _env_profile(cfg.env)
            cfg = replace(cfg, profile_name=env_profile, profile_origin=origin)

    if start_url is not None:
        if sso_session is not None:
            raise UsageError("give either --start-url or --sso-session, not both")
        url = start_url.strip()
        if not re.match(r"^https?://[^/\s]+", url):
            raise UsageError(f"--start-url must be an https:// URL, got {start_url!r}")
        region = sso_region or _region_from_start_url(url)
        if not region:
            raise UsageError("--start-url needs --sso-region (the IAM Identity Center region)")
        return SsoSession(start_url=url, region=region, name=None)
    if sso_region is not None:
        raise UsageError("--sso-region goes with --start-url")

    if sso_session is not None:
        return _session_from_section(cfg, sso_session)

    if profile is not None:
        return _session_from_profile(cfg, profile)
    if cfg.profile_name is not None:
        if cfg.profile_name not in cfg.profiles:
            cfg.profile()  # raises: names the variable the profile came from
        return _session_from_profile(cfg, cfg.profile_name)

    if len(cfg.sso_sessions) == 1:
        return _session_from_section(cfg, next(iter(cfg.sso_sessions)))
    if len(cfg.sso_sessions) > 1:
        names = ", ".join(sorted(cfg.sso_sessions))
        raise ConfigError(
            f"{cfg.display_path} has several sso-sessions ({names}); "
            f"choose one with --sso-session NAME"
        )
    default = cfg.profiles.get("default", {})
    if default.get("sso_session") or default.get("sso_start_url"):
        return _session_from_profile(cfg, "default")
    raise ConfigError(
        f"no IAM Identity Center session in {cfg.display_path}: "
        f"pass --start-url URL --sso-region REGION, --sso-session NAME or --profile NAME"
    )
