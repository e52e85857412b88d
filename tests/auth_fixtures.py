"""Fixtures for tests that need a signed-in IAM Identity Center session against the sim.

Registered through ``pytest_plugins`` in tests/conftest.py; they build on the ``sim`` fixture of
tests/sim_fixtures.py.

* ``sim_config``: ``~/.aws/config`` with ``[sso-session sim]`` (the sim's start URL and region)
  and a ``[profile sim]`` using it; ``AWS_ENDPOINT_URL_*`` from the sim in the environment.
  Returns the :class:`~ekstrio.model.SsoSession`. No token yet (for sign-in tests).
* ``signed_in``: the same plus a token file, exactly as ``ekstrio login`` / ``aws sso login``
  would leave it (``sim.issue_token()``, 8 h, not refreshable). Returns the SsoSession.
* ``use_sim(handle)``: the same as ``sim_config`` for a sim made with ``make_sim(...)``.
* ``signed_in_by_start_url()``: a ``signed_in`` fixture for a module to assign to ``signed_in``,
  signed in as ``ekstrio login --start-url`` leaves it (:func:`sign_in_with_start_url`).
* ``write_sim_config(sim, home)`` / ``write_sim_token(sim, session, expires_in=…)``: the
  helpers behind them, importable as ``from auth_fixtures import write_sim_token``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ekstrio.aws import token_cache
from ekstrio.model import SsoSession

SESSION_NAME = "sim"


def write_sim_config(sim: Any, home: Path, *, name: str = SESSION_NAME,
                     extra: str = "") -> SsoSession:
    """Write ``~/.aws/config`` for the sim and return its session."""
    config = home / ".aws" / "config"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f"[profile {name}]\n"
        f"sso_session = {name}\n"
        f"region = {sim.sso_region}\n"
        f"\n"
        f"[sso-session {name}]\n"
        f"sso_start_url = {sim.start_url}\n"
        f"sso_region = {sim.sso_region}\n"
        f"sso_registration_scopes = sso:account:access\n"
        f"{extra}"
    )
    return SsoSession(sim.start_url, sim.sso_region, name, ("sso:account:access",))


def write_sim_token(sim: Any, session: SsoSession, *, expires_in: int = 8 * 3600) -> Path:
    """Cache a token the sim accepts for ``session`` (AWS CLI file name and fields)."""
    access_token = sim.issue_token(expires_in)
    token = token_cache.CachedToken(
        access_token=access_token,
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
        region=session.region,
        start_url=session.start_url,
    )
    return token_cache.save_sso_token(session, token)


@pytest.fixture
def use_sim(monkeypatch: pytest.MonkeyPatch,
            isolated_home: Path) -> Callable[..., SsoSession]:
    """``use_sim(handle)``: point the environment and ``~/.aws/config`` at that sim
    (for sims from ``make_sim``); returns the session."""

    def configure(handle: Any, *, name: str = SESSION_NAME, extra: str = "") -> SsoSession:
        for key, value in handle.env.items():
            monkeypatch.setenv(key, value)
        return write_sim_config(handle, isolated_home, name=name, extra=extra)

    return configure


@pytest.fixture
def sim_config(sim: Any, use_sim: Callable[..., SsoSession]) -> SsoSession:
    return use_sim(sim)


@pytest.fixture
def signed_in(sim: Any, sim_config: SsoSession) -> SsoSession:
    write_sim_token(sim, sim_config)
    return sim_config


def sign_in_with_start_url(sim: Any, monkeypatch: pytest.MonkeyPatch) -> SsoSession:
    """A token in the AWS CLI cache as `ekstrio login --start-url` leaves it (no config file),
    and the sim's endpoints in the environment. Returns the (legacy-style) session."""
    session = SsoSession(start_url=sim.start_url, region=sim.sso_region)
    token_cache.save_sso_token(session, token_cache.CachedToken(
        access_token=sim.issue_token(), expires_at=datetime.now(UTC) + timedelta(hours=1),
        region=sim.sso_region, start_url=sim.start_url))
    for name, value in sim.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    return session


def signed_in_by_start_url() -> Any:
    """A ``signed_in`` fixture (assign it to ``signed_in``): :func:`sign_in_with_start_url`."""

    @pytest.fixture(name="signed_in")
    def signed_in(sim: Any, monkeypatch: pytest.MonkeyPatch) -> SsoSession:
        return sign_in_with_start_url(sim, monkeypatch)

    return signed_in
