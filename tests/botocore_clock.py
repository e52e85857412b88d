"""Sign with botocore at a chosen time, whatever botocore version is installed.

botocore 1.40.x reads the signing time through ``botocore.auth.get_current_datetime()``;
earlier versions (the declared floor included) call ``datetime.datetime.utcnow()`` in
``botocore.auth`` directly. The lowest-versions CI step runs the tests against the floor.
"""

from __future__ import annotations

import contextlib
import datetime as _datetime
import types
from collections.abc import Iterator
from unittest import mock


@contextlib.contextmanager
def botocore_signing_time(when: _datetime.datetime) -> Iterator[None]:
    """botocore signs as if it were ``when`` (naive UTC, as botocore uses)."""
    import botocore.auth

    naive = when.replace(tzinfo=None)
    if hasattr(botocore.auth, "get_current_datetime"):
        with mock.patch.object(botocore.auth, "get_current_datetime", return_value=naive):
            yield
        return

    class _Frozen(_datetime.datetime):
        @classmethod
        def utcnow(cls) -> _datetime.datetime:  # type: ignore[override]
            return naive

    # Only botocore.auth's own name for the module is replaced, not the datetime module.
    shim = types.SimpleNamespace(datetime=_Frozen, timezone=_datetime.timezone,
                                 timedelta=_datetime.timedelta)
    with mock.patch.object(botocore.auth, "datetime", shim):
        yield
