"""Where ekstrio keeps its cache: ``$XDG_CACHE_HOME/ekstrio``, else ``~/.cache/ekstrio``.

The one rule for that folder. The saved scan and the list cache (:mod:`ekstrio.inventory`) and
``ekstrio token``'s ExecCredential cache (:mod:`ekstrio.exec_cache`) live under it, so they move
together when a user points ``XDG_CACHE_HOME`` somewhere else.

Standard library only, and not even pathlib: ``ekstrio token`` calls it before every kubectl
request.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # mypy treats any name TYPE_CHECKING as true; `typing` costs ms here
if TYPE_CHECKING:
    from collections.abc import Mapping


def cache_home(env: Mapping[str, str]) -> str:
    """ekstrio's cache folder for ``env`` (``$HOME`` of ``env``, else the process's home)."""
    base = env.get("XDG_CACHE_HOME") or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ekstrio")
