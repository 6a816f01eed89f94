"""A pytest plugin (``-p edip_testkit.ordering``, root pyproject): the longest test files first.

Why: with pytest-xdist a run lasts as long as its longest chain; a 5-minute test file handed out
last keeps one worker busy long after the other has finished. So, under xdist (and only there:
a serial run keeps the path order), the test files are handed out longest first:

* by their measured duration in the previous run (setup + call + teardown of every test, kept in
  pytest's cache, ``.pytest_cache``: one key per top-level directory, so the per-package runs of
  ``make test`` never write the same key at once);
* in a clean checkout, files holding a ``slow``-marked test first (``SLOW_GUESS_S`` each);
* ties (and files never measured) by their number of tests, most first (xdist's own heuristic).

The order within a file is kept; the Makefile passes ``--no-loadscope-reorder`` so that xdist
keeps the files in this order (``--dist loadfile``: one file, one work unit).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

#: seconds assumed for a file holding a ``slow`` test that has not been measured yet
SLOW_GUESS_S = 120.0
CACHE_PREFIX = "edip/file-seconds/"

_seconds: defaultdict[str, float] = defaultdict(float)


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _top(path: str) -> str:
    return path.split("/", 1)[0]


def _cached(config: pytest.Config, tops: set[str]) -> dict[str, float]:
    cache = getattr(config, "cache", None)
    if cache is None:
        return {}
    known: dict[str, float] = {}
    for top in sorted(tops):
        known.update(cache.get(CACHE_PREFIX + top, {}))
    return known


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist: stable-sort the items by their file's expected seconds, longest first."""
    if getattr(config.option, "numprocesses", None) in (None, 0) and not hasattr(
        config, "workerinput"
    ):
        return
    files = {_file(item.nodeid) for item in items}
    known = _cached(config, {_top(f) for f in files})
    slow = {_file(item.nodeid) for item in items if item.get_closest_marker("slow")}
    weight = {f: known.get(f, SLOW_GUESS_S if f in slow else 0.0) for f in files}
    count = Counter(_file(item.nodeid) for item in items)
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        first.setdefault(_file(item.nodeid), i)
    items.sort(
        key=lambda it: (
            -weight[_file(it.nodeid)],
            -count[_file(it.nodeid)],
            first[_file(it.nodeid)],
        )
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[_file(report.nodeid)] += report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Keep the files' measured seconds (the controller's, or a serial run's) for the next run."""
    config = session.config
    cache = getattr(config, "cache", None)
    if cache is None or hasattr(config, "workerinput") or not _seconds:
        return
    by_top: defaultdict[str, dict[str, float]] = defaultdict(dict)
    for path, seconds in _seconds.items():
        by_top[_top(path)][path] = round(seconds, 2)
    for top, measured in by_top.items():
        cache.set(CACHE_PREFIX + top, {**cache.get(CACHE_PREFIX + top, {}), **measured})
