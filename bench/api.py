"""API benchmark: ``/v1/forecast`` of the real service against a bare onnxruntime endpoint.

Both run in the same run, on the same sample store and the same champion: the real service is
``edip serve`` (uvicorn, one worker) with a real MLflow registry and a real trained LightGBM
champion and its SQLite prediction log; the bare endpoint is a FastAPI app that loads the same
ONNX model, builds the same features from the same (cached) store and returns the P50 — no
logging, no middleware, no metrics. The ratio of their throughputs is the cost of what the
service adds. Two scenarios:

* ``cached`` — every client asks for the same origin (the latest day-ahead forecast, the usual
  load): the service answers from its forecast cache, the bare endpoint from an LRU of its own,
  so the ratio isolates the service's own overhead (validation, request log, metrics, JSON);
* ``cold`` — a distinct origin per request: no cache answers, both sides build the features
  and run the model every time (the worst case, dominated by the feature build);
* ``spread`` — right after the start, 32 clients over 300 distinct origins (each asked for
  several times, in a shuffled order): the cold-start stampede of issue 15, where single-flight
  builds each origin once and the others wait for it.

Then the cost of durable answers (``EDIP_LOG_WAL``: an answer waits for its group's commit, one
fsync shared by the requests that arrived together) is measured: the cached scenario at 16
concurrent with it on and off.

Both servers are up together and driven in turn, level by level, ``--rounds`` times for the cached
scenario: on a shared 2-core machine the background load comes and goes, and alternating makes it
weigh on both sides alike. At each concurrency (1, 16, 32) it sends a warm-up then a fixed number
of requests (one asyncio process on uvloop, a keep-alive connection per client, requests
rendered beforehand and answers parsed by hand: a cheap load generator, since it shares the
cores with the servers it measures) and prints p50/p99 latency and requests/second, and for the API the mean time spent
inside it (its own latency histogram, from ``/metrics``) and its share of the latency the clients
saw (the rest is the client, the network and the wait for a core). Then it stops the API (SIGTERM: the log writer flushes) and
counts the distinct request ids in the log store against the 200 answers: ``lost records: N``.
Targets on 2 cores: ratio ≥ 0.8 and p99 < 50 ms at 16 concurrent (cached); zero lost records.
Figures are printed, never asserted.

    python bench/api.py [--requests 400] [--warmup 50] [--levels 1,16,32] [--rounds 3]
        [--horizon 24] [--scenarios cached,cold,spread] [--spread-origins 300] [--no-wal-cost]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx
import numpy as np
import pandas as pd

log = logging.getLogger("bench.api")

#: first origin of the cold scenario: far enough into the sample (2019-01-01 …) for the lags
FIRST_ORIGIN = pd.Timestamp("2019-03-01T00:00:00+00:00")
#: the one origin of the cached scenario (every client asking for the latest day-ahead forecast)
CACHED_ORIGIN = pd.Timestamp("2020-12-30T11:00:00+00:00")
#: longest a level's requests may take together (a server that stops answering fails the run)
DRIVE_TIMEOUT_S = 600.0
T = TypeVar("T")


# -- the bare endpoint --------------------------------------------------------------------------
def bare_app() -> Any:
    """FastAPI + onnxruntime, nothing else: the champion, the same features, the P50."""
    from fastapi import FastAPI

    from edip_api.core.config import Settings
    from edip_api.services.model_manager import ModelManager
    from edip_pipeline.config import Settings as PipelineSettings
    from edip_pipeline.config import load_params
    from edip_pipeline.features import build_features
    from edip_pipeline.features.calendar import rolling_pairs
    from edip_pipeline.store import Store

    settings = Settings()
    params = load_params(settings.params_file)
    store = Store(
        settings.data_dir,
        params,
        PipelineSettings(data_dir=settings.data_dir, params_file=settings.params_file),
        cache_reads=True,
    )
    model = ModelManager(settings, params.features).reload()
    if model.is_fallback:
        raise RuntimeError(f"the bare endpoint needs the champion: {model.info.reason}")
    app = FastAPI()

    @functools.lru_cache(maxsize=512)
    def p50_of(o: pd.Timestamp, horizon: int) -> tuple[pd.DatetimeIndex, np.ndarray]:
        targets = pd.DatetimeIndex(rolling_pairs([o], horizon, "1h")["target_time"])
        frame = build_features(store, o, targets, model.feature_params).frame
        return targets, model.predict(frame)[:, 1]

    @app.get("/ready")
    def ready() -> dict[str, bool]:
        return {"ready": True}

    @app.get("/v1/forecast")
    def forecast(origin: datetime, horizon: int = 24) -> dict[str, Any]:
        o = pd.Timestamp(origin).tz_convert("UTC").floor("h")
        targets, p50 = p50_of(o, horizon)
        return {
            "origin": o.isoformat(),
            "points": [
                {"target_time": t.isoformat(), "p50": float(v)}
                for t, v in zip(targets, p50, strict=True)
            ],
        }

    return app


@contextmanager
def running_bare(env: dict[str, str], port: int, log_path: Path) -> Iterator[str]:
    """The bare endpoint in its own uvicorn process (like the service: one process)."""
    from edip_testkit.platform import wait_ready

    with log_path.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, __file__, "--serve-bare", "--port", str(port)],
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process=process, log_path=log_path, timeout_s=120)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass(frozen=True)
class Scenario:
    """Which origins the clients ask for, how many requests, at which concurrencies."""

    name: str
    cold: bool
    requests: int
    warmup: int
    levels: list[int]
    spread: int = 0  # > 0: requests cycle over this many distinct origins (shuffled)


# -- the load generator -------------------------------------------------------------------------
@dataclass
class Level:
    """The figures of one (server, concurrency) run."""

    server: str
    concurrency: int
    latencies_s: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    server_s: float = 0.0  # time inside the API (its middleware's histogram), timed requests
    server_n: int = 0

    def add(self, latencies: list[float], statuses: list[int], wall_s: float) -> None:
        self.latencies_s += latencies
        self.statuses += statuses
        self.wall_s += wall_s

    @property
    def server_share(self) -> float:
        """Mean time inside the server over the mean latency the clients saw (the rest is the
        client, the network and the wait for a core: on 2 cores the load generator competes)."""
        if not self.server_n or not self.latencies_s:
            return np.nan
        return (self.server_s / self.server_n) / float(np.mean(self.latencies_s))

    @property
    def ok(self) -> int:
        return sum(s == 200 for s in self.statuses)

    def percentile_ms(self, q: float) -> float:
        return float(np.percentile(self.latencies_s, q) * 1000) if self.latencies_s else np.nan

    @property
    def rps(self) -> float:
        return self.ok / self.wall_s if self.wall_s else 0.0


async def drive(
    url: str, origins: list[pd.Timestamp], concurrency: int, horizon: int
) -> tuple[list[float], list[int], list[str], float]:
    """Send one GET per origin with ``concurrency`` in flight; latencies, statuses, request ids.

    One asyncio process (uvloop) with ``concurrency`` keep-alive connections, each sending
    requests rendered once beforehand and reading the status line, the headers and the
    ``Content-Length`` bytes of the body (:func:`_exchange`). Why not an HTTP client library:
    the load generator shares the 2 cores with both servers, and aiohttp's per-request
    machinery cost several times this (its CPU was a fifth of a core at 1,000 requests/s,
    taken from whichever server it measured, unevenly). The whole body is read; the request id
    comes from the ``X-Request-ID`` header (the API sends it with every answer; the bare
    endpoint has none).
    """
    from edip_testkit.platform import TEST_API_KEY

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    # with the key, as the loop calls it: answers are logged and not rate-limited
    tail = f"Host: {host}:{port}\r\nX-API-Key: {TEST_API_KEY}\r\n\r\n".encode()
    pending = deque(
        f"GET /v1/forecast?{urlencode({'origin': o.isoformat(), 'horizon': horizon})} "
        f"HTTP/1.1\r\n".encode()
        + tail
        for o in origins
    )
    latencies: list[float] = []
    statuses: list[int] = []
    request_ids: list[str] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while pending:
                request = pending.popleft()
                start = time.perf_counter()
                try:
                    status, rid, body = await _exchange(reader, writer, request)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    log.warning("request failed: %r", exc)
                    statuses.append(0)
                    writer.close()  # a fresh connection for the next request
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                latencies.append(time.perf_counter() - start)
                statuses.append(status)
                if status == 200:
                    request_ids.append(rid)
                elif len(statuses) - len(request_ids) <= 3:
                    log.warning("%s answered %s: %s", url, status, body[:300])
        finally:
            writer.close()

    start = time.perf_counter()
    async with asyncio.timeout(DRIVE_TIMEOUT_S):
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    return latencies, statuses, request_ids, wall


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, str, bytes]:
    """One request on a keep-alive connection: (status, X-Request-ID, body). Both servers
    answer with a ``Content-Length`` (a chunked answer raises ValueError)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, rid = -1, ""
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"x-request-id":
            rid = value.strip().decode()
    if length < 0:
        raise ValueError(f"no Content-Length in the answer: {head[:300]!r}")
    return status, rid, await reader.readexactly(length)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop (what both servers run on too) when it is installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def origins_of(scenario: Scenario, i: int) -> list[pd.Timestamp]:
    """The origins of level ``i`` (warm-up first): the same for every server."""
    per_level = scenario.warmup + scenario.requests
    if scenario.spread:  # many clients over a few hundred new origins, repeated
        first = FIRST_ORIGIN + pd.Timedelta(days=200 + 30 * i)
        distinct = list(pd.date_range(first, periods=scenario.spread, freq="h"))
        cycled = [distinct[k % len(distinct)] for k in range(per_level)]
        return [cycled[k] for k in np.random.default_rng(i).permutation(per_level)]
    if scenario.cold:  # a distinct origin per request: no cache can answer
        first = FIRST_ORIGIN + pd.Timedelta(hours=i * per_level)
        return list(pd.date_range(first, periods=per_level, freq="h"))
    return [CACHED_ORIGIN] * per_level


def server_seconds(url: str) -> tuple[float, int]:
    """Sum and count of the API's ``/v1/forecast`` latency histogram (its own clock)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics", timeout=30).text
    total, count = 0.0, 0
    for family in text_string_to_metric_families(text):
        if family.name != "edip_request_latency_seconds":
            continue
        for sample in family.samples:
            if sample.labels.get("route") != "/v1/forecast":
                continue
            if sample.name.endswith("_sum"):
                total = sample.value
            elif sample.name.endswith("_count"):
                count = int(sample.value)
    return total, count


def run_levels(
    servers: dict[str, str],
    scenario: Scenario,
    horizon: int,
    request_ids: dict[str, list[str]],
    rounds: int = 1,
) -> dict[str, list[Level]]:
    """Per level, warm-up then timed requests on each server in turn, ``rounds`` times (the
    servers alternate, so a load that comes and goes on the machine weighs on both alike).
    Only a cached scenario repeats rounds: a cold one would find its origins cached."""
    out: dict[str, list[Level]] = {name: [] for name in servers}
    rounds = rounds if not (scenario.cold or scenario.spread) else 1
    warmup = scenario.warmup
    for i, concurrency in enumerate(scenario.levels):
        origins = origins_of(scenario, i)
        levels = {name: Level(name, concurrency) for name in servers}
        for _ in range(rounds):
            for name, url in servers.items():
                level = levels[name]
                _, _, warm_ids, _ = run_async(drive(url, origins[:warmup], concurrency, horizon))
                before = server_seconds(url) if name != "bare" else (0.0, 0)
                lat, statuses, ids, wall = run_async(
                    drive(url, origins[warmup:], concurrency, horizon)
                )
                if name != "bare":
                    after = server_seconds(url)
                    level.server_s += after[0] - before[0]
                    level.server_n += after[1] - before[1]
                request_ids.setdefault(name, []).extend(warm_ids + ids)
                level.add(lat, statuses, wall)
        for name, level in levels.items():
            out[name].append(level)
    return out


def measure_wal_cost(
    env: dict[str, str], root: Path, args: argparse.Namespace
) -> tuple[Level, Level]:
    """The cached scenario at 16 concurrent, answers waiting for their rows' durability or not
    (``EDIP_LOG_WAL``; fresh log stores), the two APIs up together and driven in turn."""
    from edip_testkit.platform import running_api

    scenario = Scenario("wal", False, args.requests, args.warmup, [16])
    with ExitStack() as stack:
        servers = {}
        for flag in ("true", "false"):
            extra = {
                **env,
                "EDIP_LOG_WAL": flag,
                "EDIP_DATABASE_URL": f"sqlite:///{root / f'wal-{flag}.db'}",
                "EDIP_LOG_SPILL_DIR": str(root / f"spill-{flag}"),
            }
            api = stack.enter_context(running_api(extra, log_path=root / f"api-wal-{flag}.log"))
            servers[f"wal={flag}"] = api.url
        levels = run_levels(servers, scenario, args.horizon, {}, args.rounds)
    return levels["wal=true"][0], levels["wal=false"][0]


# -- the log check ------------------------------------------------------------------------------
def logged_request_ids(db_path: Path) -> tuple[set[str], int]:
    """Distinct request ids and row count of the prediction log (SQLite)."""
    with sqlite3.connect(db_path) as conn:
        ids = {row[0] for row in conn.execute("SELECT DISTINCT request_id FROM predictions")}
        (rows,) = conn.execute("SELECT COUNT(*) FROM predictions").fetchone()
    return ids, int(rows)


# -- the run ------------------------------------------------------------------------------------
def report(scenario: Scenario, levels: list[Level], bare: list[Level], rounds: int) -> None:
    rows = []
    for api_level, bare_level in zip(levels, bare, strict=True):
        rows.append(
            {
                "concurrency": api_level.concurrency,
                "API ok": f"{api_level.ok}/{len(api_level.statuses)}",
                "API p50 ms": round(api_level.percentile_ms(50), 1),
                "API p99 ms": round(api_level.percentile_ms(99), 1),
                "API req/s": round(api_level.rps, 1),
                "API server ms": round(api_level.server_s / api_level.server_n * 1000, 1)
                if api_level.server_n
                else np.nan,
                "server share": round(api_level.server_share, 2),
                "bare p50 ms": round(bare_level.percentile_ms(50), 1),
                "bare p99 ms": round(bare_level.percentile_ms(99), 1),
                "bare req/s": round(bare_level.rps, 1),
                "ratio (API/bare req/s)": round(api_level.rps / bare_level.rps, 2)
                if bare_level.rps
                else np.nan,
            }
        )
    table = pd.DataFrame(rows).set_index("concurrency")
    what = (
        f"{scenario.spread} distinct origins, each asked several times, shuffled"
        if scenario.spread
        else "a distinct origin per request: features built every time, on both sides"
        if scenario.cold
        else f"one origin ({CACHED_ORIGIN.isoformat()}): answered from each side's cache"
    )
    rounds = 1 if scenario.cold or scenario.spread else rounds
    print(  # noqa: T201
        f"\n## {scenario.name}: GET /v1/forecast, logging on, versus the bare endpoint\n"
        f"{what}; {scenario.requests} timed + {scenario.warmup} warm-up requests per level and "
        f"server, {rounds} round(s) alternating the servers; API server ms: mean time inside "
        "the API (its latency histogram), server share: that over the mean latency seen\n"
    )
    print(table.to_markdown())  # noqa: T201


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="timed requests per level")
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests per level")
    parser.add_argument("--levels", default="1,16,32", help="concurrency levels")
    parser.add_argument(
        "--cold-requests", type=int, default=100, help="timed requests per level, cold scenario"
    )
    parser.add_argument(
        "--scenarios",
        default="cached,cold,spread",
        help="cached (one origin), cold (distinct origins), spread (32 clients, 300 origins)",
    )
    parser.add_argument("--spread-origins", type=int, default=300, help="origins of spread")
    parser.add_argument("--spread-requests", type=int, default=600, help="requests of spread")
    parser.add_argument("--spread-level", type=int, default=32, help="concurrency of spread")
    parser.add_argument(
        "--wal-cost",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the cached scenario at 16 concurrent with EDIP_LOG_WAL=false",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternations of the servers per cached level"
    )
    parser.add_argument("--horizon", type=int, default=24, help="hours per forecast")
    parser.add_argument("--n-estimators", type=int, default=60, help="trees of the champion")
    parser.add_argument("--keep", type=Path, default=None, help="work directory to keep")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def serve_bare(port: int) -> None:
    """The ``--serve-bare`` child process of :func:`running_bare`."""
    import uvicorn

    uvicorn.run(bare_app(), host="127.0.0.1", port=port, log_level="warning")


def scenarios_of(args: argparse.Namespace) -> list[Scenario]:
    """The ``--scenarios`` asked for, with their request counts and levels."""
    levels = [int(x) for x in args.levels.split(",")]
    known = {
        "cached": Scenario("cached", False, args.requests, args.warmup, levels),
        "cold": Scenario("cold", True, args.cold_requests, max(1, args.warmup // 5), levels),
        "spread": Scenario(
            "spread", True, args.spread_requests, 0, [args.spread_level], args.spread_origins
        ),
    }
    return [known[name] for name in args.scenarios.split(",")]


@dataclass
class Run:
    """What the measuring phase leaves for the reports."""

    bare: list[list[Level]]
    served: list[list[Level]]
    api_ids: list[str]
    stop_code: int
    wal_cost: tuple[Level, Level] | None


def measure(args: argparse.Namespace, scenarios: list[Scenario], root: Path) -> Run:
    """Set up the platform, drive the bare endpoint then the API, stop it, then the WAL cost."""
    from edip_testkit.platform import (
        free_port,
        mlflow_with_champion,
        platform_env,
        running_api,
        sample_store,
    )

    t0 = time.perf_counter()
    with (
        sample_store(root / "data") as store,
        mlflow_with_champion(root / "mlflow", store, n_estimators=args.n_estimators) as registry,
    ):
        env = platform_env(store, registry, root / "edip_log.db", EDIP_MODEL_POLL_S="30")
        print(  # noqa: T201
            f"set-up (sample store, MLflow, champion v{registry.champion_version}): "
            f"{time.perf_counter() - t0:.0f} s; cores: {os.cpu_count()}; horizon {args.horizon} h"
        )
        ids: dict[str, list[str]] = {}
        with (
            running_bare(env, free_port(), root / "bare.log") as bare_url,
            running_api(env, log_path=root / "api.log") as api,
        ):
            servers = {"bare": bare_url, "api": api.url}
            runs = [run_levels(servers, sc, args.horizon, ids, args.rounds) for sc in scenarios]
            # SIGTERM: uvicorn runs the lifespan shutdown, which drains the log writer (uvicorn
            # then re-raises the signal, hence an exit code of -15 after a clean shutdown)
            stop_code = api.stop()
        bare = [run["bare"] for run in runs]
        served = [run["api"] for run in runs]
        api_ids = ids.get("api", [])
        wal_cost = measure_wal_cost(env, root, args) if args.wal_cost else None
    return Run(bare, served, api_ids, stop_code, wal_cost)


def report_wal_cost(on: Level, off: Level) -> None:
    print(  # noqa: T201
        "\n## durability cost (cached origin, 16 concurrent): answers wait for their group's "
        "commit (EDIP_LOG_WAL=true) or not\n"
        f"EDIP_LOG_WAL=true: {on.rps:.1f} req/s, p50 {on.percentile_ms(50):.1f} ms, "
        f"p99 {on.percentile_ms(99):.1f} ms; EDIP_LOG_WAL=false: {off.rps:.1f} req/s, "
        f"p50 {off.percentile_ms(50):.1f} ms, p99 {off.percentile_ms(99):.1f} ms; "
        f"throughput kept with durable answers: {on.rps / off.rps:.2f}"
    )


def report_log_check(run: Run, db_path: Path, horizon: int) -> None:
    """Every accepted request id against the log store after the API stopped: lost records."""
    accepted = {rid for rid in run.api_ids if rid}
    logged, rows = logged_request_ids(db_path)
    lost = len(accepted - logged)
    print(  # noqa: T201
        f"\nAPI stopped (exit {run.stop_code}); 200 answers: {len(run.api_ids)} "
        f"({len(accepted)} distinct request ids); logged request ids: {len(logged)}, "
        f"prediction rows: {rows} (expected {len(run.api_ids) * horizon})"
    )
    print(f"lost records: {lost}")  # noqa: T201
    if logged - accepted:
        print(f"records without an accepted request: {len(logged - accepted)}")  # noqa: T201


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.serve_bare:
        serve_bare(args.port)
        return
    scenarios = scenarios_of(args)
    root = args.keep or Path(tempfile.mkdtemp(prefix="edip-bench-api-"))
    root.mkdir(parents=True, exist_ok=True)
    run = measure(args, scenarios, root)
    for scenario, api_levels, bare_levels in zip(scenarios, run.served, run.bare, strict=True):
        report(scenario, api_levels, bare_levels, args.rounds)
    if run.wal_cost is not None:
        report_wal_cost(*run.wal_cost)
    report_log_check(run, root / "edip_log.db", args.horizon)
    print(f"work directory: {root}")  # noqa: T201


if __name__ == "__main__":
    main()
