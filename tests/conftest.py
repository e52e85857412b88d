"""Suite-wide isolation: no test sees the developer's ~/.aws, ~/.kube or AWS_* variables."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import stamina

# respx 0.23 patches whatever `import httpx` gives it when respx is first imported. The product
# imports `httpx2` (and never aliases), so the test session makes `httpx` mean httpx2 BEFORE respx
# loads: pyproject's addopts disable respx's auto-loaded plugin (`-p no:respx`, which would load
# it before any conftest) and it is loaded here, after the alias. Tests import `httpx2`.
httpx2.alias_httpx()

# A suite started in the background by a non-interactive shell (`sh -c "pytest &"`, as a CI or
# landing script may) inherits SIGINT *ignored*, and an ignored signal stays ignored through
# exec: every `ekstrio` a Ctrl-C test starts would ignore the SIGINT it is sent and hang. With
# Python's own handler here, the children start with SIGINT at its default again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# respx.plugin: the `respx_mock` fixture and marker. Shared fixtures: tests/sim_fixtures.py (the
# local AWS emulator: `sim`, `make_sim`) and tests/auth_fixtures.py (signed-in sessions).
pytest_plugins = ["respx.plugin", "sim_fixtures", "auth_fixtures"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("AWS_", "KUBECONFIG", "KUBERNETES_EXEC_INFO", "EKSTRIO_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    # botocore, used by some tests as a peer, must not probe the instance metadata service.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_COLOR", "1")
    return home


@pytest.fixture
def live_retries() -> Iterator[None]:
    """Retries on and stamina's test mode off, whatever another test or plugin set globally;
    both restored afterwards. Retry tests need the real backoff (trio's autojump clock makes
    it free) and the real attempt count. Modules ask for it with
    ``pytestmark = pytest.mark.usefixtures("live_retries")``."""
    was_active = stamina.is_active()
    stamina.set_active(True)
    try:
        with stamina.set_testing(False):
            yield
    finally:
        stamina.set_active(was_active)
