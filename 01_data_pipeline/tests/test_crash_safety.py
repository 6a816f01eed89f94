"""kill -9 safety: a writer SIGKILLed at any moment leaves a readable, valid store.

A child process rewrites the stored sample in a loop (the same rows shifted by +k, same vintage:
the newest write wins, so every partition is rewritten each round) and is killed after various
delays. After each kill every partition must read and validate and hold one consistent round,
leftover ``.tmp-*`` files must be ignored by reads, and the manifest must be readable (or rebuilt).
A final normal ingest must leave exactly the content of a clean run.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.config import Settings
from edip_pipeline.ingest import ingest_dataset
from edip_pipeline.schema import KEY, validate
from edip_pipeline.sources.sample import SAMPLE_DATASET
from edip_pipeline.store import Store, frame_hash

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

WRITER = textwrap.dedent(
    """
    import sys
    from edip_pipeline.sources.sample import sample_frame
    from edip_pipeline.store import Store

    store = Store()
    base = sample_frame()
    first = int(sys.argv[1])  # a round number no earlier child used
    print("ready", flush=True)
    k = first - 1
    while True:
        k += 1
        store.write("load_national", base.assign(value=base["value"] + k))
        print(f"done {k}", flush=True)
    """
)
#: delays counted from the start of the process (some land during the imports)
FROM_START = [0.2, 0.5, 0.9, 1.4]
#: delays counted from "ready" (the first write starts right after it)
FROM_READY = [0.05, 0.3, 0.45, 0.6, 0.75, 0.95, 1.2]
MAX_EXTRA_KILLS = 20


def run_and_kill(env: dict[str, str], first: int, delay: float, from_ready: bool) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(first)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if from_ready:
            line = proc.stdout.readline() if proc.stdout else ""
            assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")
        time.sleep(delay)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return out.split()


def check_store(
    root: Path, settings: Settings, reference: pd.DataFrame
) -> tuple[bool, dict[int, int]]:
    """Validate a store left by a kill; return (caught mid-write?, round stored per partition)."""
    store = Store(root, settings=settings)
    parts = store.partitions("load_national")
    assert parts == [2018, 2019, 2020]
    offsets = {}
    frames = []
    for year in parts:
        part = pd.read_parquet(root / "interim" / "load_national" / f"year={year}" / "part.parquet")
        validate(part)
        joined = part.merge(reference, on=KEY, suffixes=("", "_ref"), validate="1:1")
        assert len(joined) == len(part)  # same grid as the clean store
        shift = joined["value"].to_numpy() - joined["value_ref"].to_numpy()
        assert np.allclose(shift, shift[0]), f"partition {year} mixes two writes"
        offsets[year] = round(float(shift[0]))
        frames.append(part)
    # a version is visible only when complete: never some years of one write, some of another
    assert len(set(offsets.values())) == 1, f"a torn multi-year write is visible: {offsets}"
    # leftovers of an interrupted write are never read as data
    tmp = [p for p in (root / "interim").rglob("*") if p.name.startswith(".tmp-")]
    unfinished = [v for v in store.versions.root.glob("*") if not (v / "entry.json").is_file()]
    read = store.read("load_national")
    assert frame_hash(read) == frame_hash(
        pd.concat(frames, ignore_index=True).sort_values(KEY).reset_index(drop=True)
    )
    # the entry read (no lock taken) is the one of the data read
    entry = store.manifest()["datasets"]["load_national"]
    assert entry["rows"] == len(read)
    assert entry["partitions"] == {
        str(y): frame_hash(f) for y, f in zip(parts, frames, strict=True)
    }
    summary = json.loads(store.manifest_path.read_text())["datasets"]["load_national"]
    stale = summary["content_hash"] != entry["content_hash"]
    return bool(tmp or unfinished or stale), offsets


@pytest.mark.timeout(240)
def test_sigkill_during_writes_never_corrupts_the_store(settings: Settings, tmp_path: Path) -> None:
    clean_root = tmp_path / "clean"
    clean = Store(clean_root, settings=settings)
    report = ingest_dataset(
        "sample", SAMPLE_DATASET, start="2019-01-01", end="2021-01-01", store=clean
    )
    assert report.ok, report.error
    reference = clean.read("load_national")

    root = tmp_path / "killed"
    # the sample stored once (its version link kept), then rewritten by the child
    shutil.copytree(clean_root, root, symlinks=True)
    env = {**os.environ, "EDIP_DATA_DIR": str(root), "EDIP_PARAMS_FILE": str(settings.params_file)}

    plan = [(d, False) for d in FROM_START] + [(d, True) for d in FROM_READY]
    rng = random.Random(20240607)
    caught_mid_write = 0
    rewrites = 0
    previous = {2018: 0, 2019: 0, 2020: 0}
    for i in range(len(plan) + MAX_EXTRA_KILLS):
        if i >= len(plan):  # a slow machine: go on until the writes were caught in the act
            if caught_mid_write and rewrites >= 3:
                break
            plan.append((rng.uniform(0.3, 4.0), True))
        delay, from_ready = plan[i]
        first = 1000 * (i + 1)
        out = run_and_kill(env, first, delay, from_ready)
        torn, rounds = check_store(root, settings, reference)
        caught_mid_write += torn
        # after "done k" every partition holds round k or k+1; before it, the previous child's
        # rounds or this child's first one
        done = [int(x) for x in out if x.isdigit()]
        allowed = {max(done), max(done) + 1} if done else {*previous.values(), first}
        assert set(rounds.values()) <= allowed, (done, rounds)
        previous = rounds
        rewrites += any(r >= first for r in rounds.values())
    assert caught_mid_write, "no kill landed inside a write: widen the delays"
    assert rewrites >= 3, "too few kills came after a rewrite reached the store"

    # a leftover temporary file and a truncated manifest: still ignored / rebuilt
    stray = root / "interim" / "load_national" / "year=2020" / ".tmp-crashed.parquet"
    stray.write_bytes(b"PAR1 torn")
    store = Store(root, settings=settings)
    store.manifest_path.write_text('{"datasets": {"load_nat')
    entry = store.manifest()["datasets"]["load_national"]
    assert entry["rows"] == len(reference)
    assert store.partitions("load_national") == [2018, 2019, 2020]

    # a normal full ingest afterwards gives exactly the clean store's content
    final = ingest_dataset(
        "sample", SAMPLE_DATASET, start="2019-01-01", end="2021-01-01", store=store
    )
    assert final.ok, final.error
    assert frame_hash(store.read("load_national")) == frame_hash(reference)
    ours = store.manifest()["datasets"]["load_national"]
    theirs = clean.manifest()["datasets"]["load_national"]
    assert ours["content_hash"] == theirs["content_hash"]
    assert ours["partitions"] == theirs["partitions"]
    for year in (2018, 2019, 2020):
        validate(
            pd.read_parquet(root / "interim" / "load_national" / f"year={year}" / "part.parquet")
        )
    # the next run removed what the killed writes left behind
    assert not [p for p in (root / "interim").rglob("*") if p.name.startswith(".tmp-")]
    assert all((v / "entry.json").is_file() for v in store.versions.root.iterdir())
    assert len(list(store.versions.root.iterdir())) <= 2  # current + previous
