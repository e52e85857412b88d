"""-v / -vv / --debug on every command, with UTC timestamps."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

from ekstrio import logs
from ekstrio.cli import run
from ekstrio.logs import Verbosity, split_flags

STAMP = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    logs.configure(Verbosity())


@pytest.mark.parametrize(("tokens", "want", "rest"), [
    (["scan"], Verbosity(0, False), ["scan"]),
    (["scan", "-v"], Verbosity(1, False), ["scan"]),
    (["-v", "logout", "--verbose"], Verbosity(2, False), ["logout"]),
    (["kubeconfig", "-vv", "--dry-run"], Verbosity(2, False), ["kubeconfig", "--dry-run"]),
    (["scan", "--debug"], Verbosity(2, True), ["scan"]),
    (["sim", "serve", "--", "-v"], Verbosity(0, False), ["sim", "serve", "--", "-v"]),
])
def test_split_flags(tokens: list[str], want: Verbosity, rest: list[str]) -> None:
    assert split_flags(tokens) == (want, rest)


@pytest.mark.parametrize(("verbosity", "seen"), [
    (Verbosity(0), {"warn"}),
    (Verbosity(1), {"warn", "info"}),
    (Verbosity(2), {"warn", "info", "debug"}),
    (Verbosity(2, http=True), {"warn", "info", "debug", "http"}),
])
def test_levels(verbosity: Verbosity, seen: set[str]) -> None:
    stream = io.StringIO()
    logs.configure(verbosity, stream)
    logging.getLogger("ekstrio.scan").warning("warn")
    logging.getLogger("ekstrio.scan").info("info")
    logging.getLogger("ekstrio.auth").debug("debug")
    logging.getLogger(logs.HTTP_LOGGER).debug("http")
    logging.getLogger("httpx2").warning("not ours")
    lines = stream.getvalue().splitlines()
    assert {line.rsplit(": ", 1)[-1] for line in lines} == seen
    if verbosity.level:
        assert all(re.match(STAMP, line) for line in lines), lines
    else:
        assert lines == ["ekstrio: warn"]


def test_every_command_accepts_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["presets", "-o", "json", "-vv"]) == 0
    assert run(["--debug", "presets", "-o", "json"]) == 0
    assert capsys.readouterr().out.count('"name"') >= 6


def test_account_label() -> None:
    assert logs.account_label("prod", "123456789012") == "prod (123456789012)"
    assert logs.account_label(None, "123456789012") == "123456789012"
