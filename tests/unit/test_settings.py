"""Presets: shipped ones, user ones, paths, flags over them, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ekstrio.errors import ConfigError, UsageError
from ekstrio.settings import (
    Preset,
    builtin_presets_dir,
    list_presets,
    load_preset,
    preset_names,
    user_presets_dir,
    with_overrides,
)


def write_user_preset(home: Path, name: str, text: str) -> Path:
    folder = home / ".config" / "ekstrio" / "presets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def test_shipped_presets_keep_their_meaning() -> None:
    assert {"default", "conservative", "aggressive"} <= set(preset_names())
    default, slow, fast = (load_preset(n) for n in ("default", "conservative", "aggressive"))
    # Conservative: fewer workers, slower pacing, more retries, longer timeouts.
    assert slow.workers < default.workers < fast.workers
    assert slow.portal_rps < default.portal_rps < fast.portal_rps
    assert slow.eks_rps < default.eks_rps < fast.eks_rps
    assert slow.attempts > default.attempts
    # Aggressive meets throttling sooner (it paces above the documented quotas), so it
    # keeps enough retries not to lose clusters to it.
    assert slow.attempts > fast.attempts >= default.attempts
    assert slow.call_timeout > default.call_timeout > fast.call_timeout
    assert slow.backoff_max > default.backoff_max > fast.backoff_max
    # The default paces at the documented quotas: portal 20 rps, EKS 10 rps per scope.
    assert (default.portal_rps, default.eks_rps) == (20.0, 10.0)
    assert default.scan_timeout is None


def test_no_preset_means_default() -> None:
    assert load_preset(None) == load_preset("default")


def test_presets_ship_from_the_repository_folder_in_a_checkout() -> None:
    folder = builtin_presets_dir()
    assert (folder / "default.toml").is_file()


def test_user_preset_inherits_default_and_shadows_by_name(isolated_home: Path) -> None:
    write_user_preset(isolated_home, "team", 'description = "ours"\nworkers = 7\n')
    team = load_preset("team")
    assert team.workers == 7
    assert team.portal_rps == load_preset("default").portal_rps  # not set: default's value
    assert team.source.endswith("team.toml")
    write_user_preset(isolated_home, "aggressive", "workers = 3\n")
    assert load_preset("aggressive").workers == 3
    assert "team" in [p.name for p in list_presets()]


def test_user_preset_with_a_base(isolated_home: Path) -> None:
    write_user_preset(isolated_home, "gentle", 'base = "conservative"\nworkers = 2\n')
    gentle = load_preset("gentle")
    assert gentle.workers == 2
    assert gentle.attempts == load_preset("conservative").attempts


def test_preset_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("eks_rps = 3\nscan_timeout = 120\n")
    preset = load_preset(str(path))
    assert preset.name == "mine"
    assert preset.eks_rps == 3.0
    assert isinstance(preset.eks_rps, float)
    assert preset.scan_timeout == 120.0


def test_user_presets_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert user_presets_dir() == tmp_path / "cfg" / "ekstrio" / "presets"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert user_presets_dir() == Path.home() / ".config" / "ekstrio" / "presets"


@pytest.mark.parametrize(("text", "words"), [
    ("workers = [", "not valid TOML"),
    ("wrokers = 4", "unknown key 'wrokers'"),
    ('workers = "many"', "workers must be an integer"),
    ("workers = true", "workers must be an integer"),
    ("workers = 0", "workers must be at least 1"),
    ("eks_rps = -1", "eks_rps must be a number of requests/s of at least 0.1"),
    ("backoff_initial = 5\nbackoff_max = 1", "backoff_max must be ≥ backoff_initial"),
    ('base = "bad"', "unknown preset 'bad'"),
    ('base = "loop"', "refers back to itself"),
])
def test_malformed_presets_are_one_line_config_errors(isolated_home: Path, text: str,
                                                      words: str) -> None:
    write_user_preset(isolated_home, "loop", text)
    with pytest.raises(ConfigError) as info:
        load_preset("loop")
    message = str(info.value)
    assert words in message
    assert "\n" not in message
    assert "loop.toml" in message or "unknown preset" in message


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown preset 'nope' \(known: aggressive, "):
        load_preset("nope")


def test_missing_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_preset(str(tmp_path / "absent.toml"))


def test_flags_override_the_preset() -> None:
    base = load_preset("default")
    assert with_overrides(base) is base
    changed = with_overrides(base, workers=5, portal_rps=2, eks_rps=1.5, call_timeout=3,
                             scan_timeout=60, retries=0)
    assert (changed.workers, changed.portal_rps, changed.eks_rps) == (5, 2.0, 1.5)
    assert (changed.call_timeout, changed.scan_timeout, changed.attempts) == (3.0, 60.0, 1)
    assert with_overrides(base, scan_timeout=0).scan_timeout is None


def test_bad_flag_values_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="workers must be at least 1"):
        with_overrides(load_preset("default"), workers=0)
    with pytest.raises(UsageError, match="attempts must be at least 1"):
        with_overrides(load_preset("default"), retries=-1)


def test_as_dict_lists_values_without_source() -> None:
    values = Preset(name="x").as_dict()
    assert "source" not in values
    assert values["name"] == "x"
    assert Preset(name="x", attempts=4).retries == 3


def test_presets_command_lists_values_as_json(capsys: pytest.CaptureFixture[str],
                                              isolated_home: Path) -> None:
    import json

    from ekstrio.cli import run

    write_user_preset(isolated_home, "team", 'description = "ours"\nworkers = 7\n')
    assert run(["presets", "-o", "json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert {"default", "conservative", "aggressive", "team"} <= set(listed)
    assert listed["team"]["workers"] == 7
    assert listed["default"]["portal_rps"] == 20.0
    assert listed["team"]["source"].endswith("team.toml")


def test_presets_command_table(capsys: pytest.CaptureFixture[str]) -> None:
    from ekstrio.cli import run

    assert run(["presets", "-o", "table"]) == 0
    out = capsys.readouterr().out
    assert "conservative" in out
    assert "portal" in out


def test_a_broken_user_preset_is_a_one_line_error_for_the_presets_command(
        capsys: pytest.CaptureFixture[str], isolated_home: Path) -> None:
    from ekstrio.cli import run

    write_user_preset(isolated_home, "bad", "workers = [")
    assert run(["presets", "-o", "json"]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err
    assert len(err.strip().splitlines()) == 1


# Every numeric key against the values that slipped through "> 0" checks: a rate so low the
# first token never comes, NaN (false in every comparison), TOML's inf, absurd sizes.
@pytest.mark.parametrize(("text", "key"), [
    ("portal_rps = 1e-300", "portal_rps"),
    ("eks_rps = 1e-300", "eks_rps"),
    ("eks_rps = 0.05", "eks_rps"),
    ("portal_rps = nan", "portal_rps"),
    ("portal_rps = inf", "portal_rps"),
    ("eks_rps = -inf", "eks_rps"),
    ("call_timeout = nan", "call_timeout"),
    ("call_timeout = inf", "call_timeout"),
    ("call_timeout = 1e300", "call_timeout"),
    ("workers = 1000000000000", "workers"),
    ("attempts = 1000000000", "attempts"),
    ("backoff_initial = nan", "backoff_initial"),
    ("backoff_initial = -1", "backoff_initial"),
    ("backoff_max = inf", "backoff_max"),
    ("backoff_max = 1e9", "backoff_max"),
    ("throttle_recovery_s = nan", "throttle_recovery_s"),
    ("throttle_recovery_s = inf", "throttle_recovery_s"),
    ("scan_timeout = nan", "scan_timeout"),
    ("scan_timeout = inf", "scan_timeout"),
    ("scan_timeout = -5", "scan_timeout"),
])
def test_numbers_out_of_range_are_one_line_config_errors(isolated_home: Path, text: str,
                                                         key: str) -> None:
    write_user_preset(isolated_home, "odd", text + "\n")
    with pytest.raises(ConfigError) as info:
        load_preset("odd")
    message = str(info.value)
    assert "odd.toml" in message
    assert f": {key} must" in message
    assert "\n" not in message


def test_the_rate_floor_itself_is_accepted(isolated_home: Path) -> None:
    from ekstrio.settings import MIN_RATE

    write_user_preset(isolated_home, "slow", f"portal_rps = {MIN_RATE}\neks_rps = {MIN_RATE}\n")
    assert load_preset("slow").eks_rps == MIN_RATE


@pytest.mark.parametrize(("flags", "words"), [
    ({"portal_rps": 1e-300}, "bad flag value --rate: portal_rps must"),
    ({"eks_rps": float("nan")}, "bad flag value --eks-rate: eks_rps must"),
    ({"eks_rps": float("inf")}, "bad flag value --eks-rate: eks_rps must"),
    ({"call_timeout": float("inf")}, "bad flag value --call-timeout: call_timeout must"),
    ({"scan_timeout": float("nan")}, "bad flag value --timeout: scan_timeout must"),
    ({"retries": 10**9}, "bad flag value --retries: attempts must"),
])
def test_flag_values_out_of_range_name_the_flag(flags: dict[str, float], words: str) -> None:
    with pytest.raises(UsageError) as info:
        with_overrides(load_preset("default"), **flags)  # type: ignore[arg-type]
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_a_preset_that_is_not_utf8_is_one_line(isolated_home: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from ekstrio.cli import run

    path = write_user_preset(isolated_home, "latin", "")
    path.write_bytes('description = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin\.toml is not UTF-8 text \(byte 18\)"):
        load_preset("latin")
    assert run(["scan", "--preset", str(path)]) == 2
    err = capsys.readouterr().err
    assert "is not UTF-8" in err
    assert len(err.strip().splitlines()) == 1
