"""scan_gc: the collector is set for a scan and put back as it was."""

from __future__ import annotations

import gc

import pytest

from ekstrio.gc_tuning import YOUNG_THRESHOLD, scan_gc


def test_a_scan_freezes_what_exists_and_collects_the_young_less_often() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with scan_gc():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (max(YOUNG_THRESHOLD, before[0]), *before[1:])
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_settings_are_put_back_when_the_scan_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), scan_gc():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
