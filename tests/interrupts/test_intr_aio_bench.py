"""bench/aio.py runs and reports what it promises (tiny settings: this checks the bench's structure,
never its figures: rates and latencies depend on the machine's load and belong to the bench)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "aio.py"


def test_bench_aio_reports_latency_rates_and_ratios_for_both_writers():
    out = subprocess.run(
        [sys.executable, str(BENCH), "--samples", "40", "--gap-us", "0", "--duration", "0.02",
         "--max-rate", "10000", "--tries", "1", "--queue-bytes", "65536"],
        capture_output=True, text=True, timeout=120, check=True).stdout
    result = json.loads(out)
    consumers = {"threaded", "aio_asyncio", "aio_callbacks"}
    for mode in ("process", "thread"):
        latency = result["latency_us"][mode]
        assert consumers | {"asyncio_floor"} <= set(latency)  # the floor: latency only
        for stats in latency.values():
            assert stats["samples"] == 40
            assert 0 <= stats["p50"] <= stats["p99"] <= stats["max"]
        rates = result["max_rate_without_loss"][mode]["queue_1365_records"]
        assert consumers <= set(rates)
        for found in rates.values():
            assert isinstance(found["edges_per_s"], int) and found["edges_per_s"] >= 0
            assert found["first_failing"] is None or isinstance(found["first_failing"], int)
        steps = result["rate_steps"][mode]["queue_1365_records"]["aio_asyncio"]
        assert steps and all(step["achieved"] > 0 and step["lost"] >= 0 for step in steps)
    assert "latency_p50_aio_asyncio_over_threaded_process_writer" in result["ratios"]
    assert "latency_p50_asyncio_floor_over_threaded_process_writer" in result["ratios"]
    assert result["uvloop"] is None or "aio_uvloop" in result["latency_us"]["process"]
