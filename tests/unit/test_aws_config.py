"""~/.aws/config: sections, env precedence, and which SSO session a command uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from ekstrio import aws_config
from ekstrio.errors import ConfigError, UsageError
from ekstrio.model import SsoSession

CONFIG = """\
[default]
region = eu-central-1

[profile dev]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Admin
region = eu-west-1
services = local

[profile legacy]
sso_start_url = https://d-legacy.awsapps.com/start
sso_region = us-west-2
sso_account_id = 111122223333
sso_role_name = ReadOnly

[profile plain]
region = us-east-2
endpoint_url = http://127.0.0.1:9/
ca_bundle = ~/corp-ca.pem

[sso-session corp]
sso_start_url = https://d-corp.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access, codewhisperer:completions

[services local]
eks =
  endpoint_url = http://127.0.0.1:4566
sso_oidc =
  endpoint_url = http://127.0.0.1:4567
"""

CORP = SsoSession("https://d-corp.awsapps.com/start", "us-east-1", "corp",
                  ("sso:account:access", "codewhisperer:completions"))
LEGACY = SsoSession("https://d-legacy.awsapps.com/start", "us-west-2", None)


@pytest.fixture
def config_file(isolated_home: Path) -> Path:
    path = isolated_home / ".aws" / "config"
    path.parent.mkdir()
    path.write_text(CONFIG)
    return path


def resolve(env: dict[str, str] | None = None, **flags: str) -> SsoSession:
    env = env or {}
    cfg = aws_config.load(env=env)
    return aws_config.resolve_session(cfg, env=env, **flags)  # type: ignore[arg-type]


def test_sections_are_parsed(config_file: Path) -> None:
    cfg = aws_config.load(env={})
    assert set(cfg.profiles) == {"default", "dev", "legacy", "plain"}
    assert set(cfg.sso_sessions) == {"corp"}
    assert cfg.services_sections["local"]["eks"] == {"endpoint_url": "http://127.0.0.1:4566"}
    assert cfg.path == config_file
    assert cfg.display_path == "~/.aws/config"


def test_aws_config_file_is_honoured(isolated_home: Path) -> None:
    other = isolated_home / "elsewhere.ini"
    other.write_text("[sso-session x]\nsso_start_url = https://x.awsapps.com/start\n"
                     "sso_region = ap-south-1\n")
    env = {"AWS_CONFIG_FILE": str(other)}
    assert resolve(env) == SsoSession("https://x.awsapps.com/start", "ap-south-1", "x")


def test_missing_file_is_empty(isolated_home: Path) -> None:
    cfg = aws_config.load(env={})
    assert cfg.profiles == {}
    with pytest.raises(ConfigError, match=r"no IAM Identity Center session in ~/\.aws/config"):
        aws_config.resolve_session(cfg, env={})


def test_profile_properties_follow_chosen_profile(config_file: Path) -> None:
    cfg = aws_config.load(env={})
    assert cfg.region == "eu-central-1"
    dev = cfg.with_profile("dev")
    assert dev.region == "eu-west-1"
    assert dev.services["sso_oidc"] == {"endpoint_url": "http://127.0.0.1:4567"}
    assert dev.endpoint_url is None
    plain = aws_config.load(env={"AWS_PROFILE": "plain"})
    assert plain.endpoint_url == "http://127.0.0.1:9/"
    assert plain.ca_bundle == str(config_file.parent.parent / "corp-ca.pem")
    assert plain.services == {}


def test_env_region_and_ca_bundle_win(config_file: Path) -> None:
    cfg = aws_config.load(env={"AWS_DEFAULT_REGION": "sa-east-1", "AWS_CA_BUNDLE": "/ca.pem"})
    assert cfg.region == "sa-east-1"
    assert cfg.ca_bundle == "/ca.pem"
    cfg = aws_config.load(env={"AWS_DEFAULT_REGION": "sa-east-1", "AWS_REGION": "ca-west-1"})
    assert cfg.region == "ca-west-1"


def test_endpoints_resolve_accepts_the_services_mapping(config_file: Path) -> None:
    from ekstrio.aws import endpoints

    cfg = aws_config.load(env={}).with_profile("dev")
    ep = endpoints.resolve("sso-oidc", "us-east-1", env={}, config_services=cfg.services,
                           config_endpoint_url=cfg.endpoint_url)
    assert ep.url == "http://127.0.0.1:4567"


# --- resolution order -------------------------------------------------------------------------


def test_start_url_flag_is_ad_hoc_and_keyed_like_legacy(config_file: Path) -> None:
    got = resolve({"AWS_PROFILE": "dev"}, start_url="https://adhoc.awsapps.com/start",
                  sso_region="eu-north-1")
    assert got == SsoSession("https://adhoc.awsapps.com/start", "eu-north-1", None)
    assert got.cache_key == "https://adhoc.awsapps.com/start"


def test_start_url_region_from_portal_host(isolated_home: Path) -> None:
    got = resolve(start_url="https://ssoins-123.portal.eu-west-3.app.aws/")
    assert got.region == "eu-west-3"


def test_start_url_without_region_is_usage_error(isolated_home: Path) -> None:
    with pytest.raises(UsageError, match="--start-url needs --sso-region"):
        resolve(start_url="https://adhoc.awsapps.com/start")
    with pytest.raises(UsageError, match="--sso-region goes with --start-url"):
        resolve(sso_region="us-east-1")
    with pytest.raises(UsageError, match="either --start-url or --sso-session"):
        resolve(start_url="https://a.awsapps.com/start", sso_region="x", sso_session="corp")


def test_sso_session_flag_beats_profile(config_file: Path) -> None:
    assert resolve({"AWS_PROFILE": "legacy"}, sso_session="corp") == CORP


def test_profile_with_sso_session(config_file: Path) -> None:
    assert resolve(profile="dev") == CORP


def test_legacy_profile(config_file: Path) -> None:
    assert resolve(profile="legacy") == LEGACY


def test_aws_profile_beats_aws_default_profile(config_file: Path) -> None:
    assert resolve({"AWS_PROFILE": "legacy", "AWS_DEFAULT_PROFILE": "dev"}) == LEGACY
    assert resolve({"AWS_DEFAULT_PROFILE": "legacy"}) == LEGACY


def test_profile_flag_beats_env(config_file: Path) -> None:
    assert resolve({"AWS_PROFILE": "legacy"}, profile="dev") == CORP


def test_only_sso_session_is_the_default(config_file: Path) -> None:
    assert resolve() == CORP


def test_several_sessions_need_a_choice(isolated_home: Path) -> None:
    path = isolated_home / "c.ini"
    path.write_text("[sso-session a]\nsso_start_url=https://a.awsapps.com/start\nsso_region=x\n"
                    "[sso-session b]\nsso_start_url=https://b.awsapps.com/start\nsso_region=y\n")
    with pytest.raises(ConfigError, match=r"several sso-sessions \(a, b\); choose one"):
        resolve({"AWS_CONFIG_FILE": str(path)})


def test_default_profile_with_sso_keys_is_used_when_no_session(isolated_home: Path) -> None:
    path = isolated_home / "c.ini"
    path.write_text("[default]\nsso_start_url = https://d.awsapps.com/start\nsso_region = x\n")
    assert resolve({"AWS_CONFIG_FILE": str(path)}) == SsoSession(
        "https://d.awsapps.com/start", "x", None)


# --- errors name file, section and key --------------------------------------------------------


def _write(home: Path, text: str) -> dict[str, str]:
    path = home / "cfg"
    path.write_text(text)
    return {"AWS_CONFIG_FILE": str(path)}


def test_missing_sso_region(isolated_home: Path) -> None:
    env = _write(isolated_home, "[sso-session corp]\nsso_start_url = https://c.awsapps.com/s\n")
    with pytest.raises(ConfigError) as info:
        resolve(env)
    assert str(info.value) == "~/cfg: [sso-session corp] is missing sso_region"


def test_legacy_profile_missing_key(isolated_home: Path) -> None:
    env = _write(isolated_home, "[profile p]\nsso_start_url = https://c.awsapps.com/s\n")
    with pytest.raises(ConfigError, match=r"\[profile p\] is missing sso_region$"):
        resolve(env, profile="p")


def test_unknown_profile(config_file: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve(profile="nope")
    assert str(info.value).startswith("~/.aws/config: no profile 'nope'; add a [profile nope]")
    with pytest.raises(ConfigError, match=r"no profile 'nope' \(from AWS_PROFILE\)"):
        resolve({"AWS_PROFILE": "nope"})


def test_unknown_sso_session(config_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"no \[sso-session nope\] section \(sso-sessions found: "
                                          r"corp\)"):
        resolve(sso_session="nope")


def test_profile_naming_missing_session(isolated_home: Path) -> None:
    env = _write(isolated_home, "[profile p]\nsso_session = gone\n")
    with pytest.raises(ConfigError,
                       match=r"\[profile p\] has sso_session = gone, but there is no "
                             r"\[sso-session gone\] section"):
        resolve(env, profile="p")


def test_conflicting_keys(isolated_home: Path) -> None:
    env = _write(isolated_home, "[profile p]\nsso_session = s\nsso_region = eu-west-1\n"
                 "[sso-session s]\nsso_start_url = https://s.awsapps.com/start\n"
                 "sso_region = us-east-1\n")
    with pytest.raises(ConfigError, match=r"\[profile p\] has sso_region = eu-west-1, which "
                                          r"conflicts with \[sso-session s\] sso_region"):
        resolve(env, profile="p")


def test_profile_without_sso(config_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[profile plain\] has neither sso_session"):
        resolve(profile="plain")


def test_bad_start_url_in_config(isolated_home: Path) -> None:
    env = _write(isolated_home, "[sso-session s]\nsso_start_url = d-123\nsso_region = x\n")
    with pytest.raises(ConfigError, match="sso_start_url must be an https:// URL"):
        resolve(env)


def test_services_reference_to_missing_section(isolated_home: Path) -> None:
    env = _write(isolated_home, "[profile p]\nservices = gone\n")
    cfg = aws_config.load(env=env).with_profile("p")
    with pytest.raises(ConfigError, match=r"services = gone, but there is no \[services gone\]"):
        _ = cfg.services


@pytest.mark.parametrize(("text", "fragment"), [
    ("region = x\n[default]\n", "line 1: a key before any [section] header"),
    ("[default]\nregion = x\n[default]\n", "line 3: section [default] appears twice"),
    ("[default]\nregion = x\nregion = y\n", "line 3: key 'region' appears twice in [default]"),
    ("[default]\n[broken\n", "line 2"),
])
def test_malformed_ini_is_one_line(isolated_home: Path, text: str, fragment: str) -> None:
    env = _write(isolated_home, text)
    with pytest.raises(ConfigError) as info:
        aws_config.load(env=env)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("~/cfg: malformed INI: ")
    assert fragment in message
