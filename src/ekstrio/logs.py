"""Diagnostic logging for every command: ``-v``, ``-vv`` and ``--debug``.

Only ekstrio's own loggers are switched on (httpx2 and httpcore2 would print URLs and
headers; ekstrio's lines are written to carry no secret). Levels:

- no flag: warnings only, as ``ekstrio: ...``;
- ``-v``: per-account progress (INFO), with timestamps;
- ``-vv``: everything ekstrio logs at DEBUG except the per-HTTP-call lines;
- ``--debug``: also one line per HTTP attempt (logger ``ekstrio.http``: method, host,
  service and operation, status, attempt, wait, latency, request id), like ``aws --debug``
  without the bodies and headers.

Timestamps are UTC, ISO 8601 with milliseconds, as the AWS CLI's debug log has them.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

HTTP_LOGGER = "ekstrio.http"
_FLAGS = frozenset({"-v", "-vv", "-vvv", "--verbose", "--debug"})


@dataclass(frozen=True, slots=True)
class Verbosity:
    """How much to log: 0 warnings, 1 info, 2 debug; ``http`` adds the per-call lines."""

    level: int = 0
    http: bool = False

    @property
    def logging_level(self) -> int:
        return (logging.WARNING, logging.INFO, logging.DEBUG)[min(self.level, 2)]


def split_flags(tokens: Sequence[str]) -> tuple[Verbosity, list[str]]:
    """Take ``-v``/``-vv``/``--verbose``/``--debug`` out of ``tokens``, wherever they are.

    They mean the same on every command, so they are read before cyclopts parses the rest;
    tokens after ``--`` are left alone.
    """
    level, http = 0, False
    rest: list[str] = []
    for index, arg in enumerate(tokens):
        if arg == "--":
            rest.extend(tokens[index:])
            break
        if arg not in _FLAGS:
            rest.append(arg)
        elif arg == "--debug":
            level, http = 2, True
        elif arg == "--verbose":
            level += 1
        else:
            level += len(arg) - 1
    return Verbosity(level=min(level, 2), http=http), rest


class _UtcFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


_handler: logging.Handler | None = None


def configure(verbosity: Verbosity, stream: TextIO | None = None) -> None:
    """Send ekstrio's log records to ``stream`` (stderr) at the level asked for."""
    global _handler
    logger = logging.getLogger("ekstrio")
    if _handler is not None:
        logger.removeHandler(_handler)
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    if verbosity.level == 0:
        handler.setFormatter(logging.Formatter("ekstrio: %(message)s"))
    else:
        handler.setFormatter(_UtcFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(verbosity.logging_level)
    # Its own level, so the transport's isEnabledFor() check skips the per-call line
    # entirely unless --debug asked for it.
    logging.getLogger(HTTP_LOGGER).setLevel(logging.DEBUG if verbosity.http else logging.WARNING)
    _handler = handler


def account_label(name: str | None, account_id: str | None) -> str:
    """How every message names an account: ``name (id)``, or whichever of them is known."""
    if name and account_id:
        return f"{name} ({account_id})"
    return name or account_id or "?"
