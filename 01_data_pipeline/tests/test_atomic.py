"""Atomic writes: the target holds the old or the new content, never a partial file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from edip_pipeline.atomic import atomic_write_parquet, atomic_write_text


def test_text_and_parquet_replace_the_target(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "a.txt"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    atomic_write_parquet(frame, tmp_path / "a.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a.parquet"), frame)
    assert not list(tmp_path.rglob(".tmp-*"))


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    atomic_write_parquet(pd.DataFrame({"x": [1.0]}), path)
    with pytest.raises(Exception):  # noqa: B017, PT011 - any writer error
        atomic_write_parquet(pd.DataFrame({"x": [object()]}), path)
    assert pd.read_parquet(path)["x"].tolist() == [1.0]
    assert not list(tmp_path.glob(".tmp-*"))
