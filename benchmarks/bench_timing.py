"""Timing helpers shared by the benchmark scripts: medians, robust to the spikes of a shared machine."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_time(
    fn: Callable[[], object], repeats: int, warmup: int = 1, sync: Callable[[], object] = lambda: None
) -> float:
    """Median seconds per call of ``fn`` over ``repeats`` calls after ``warmup`` calls; ``sync`` runs after
    each call (e.g. ``torch.cuda.synchronize``)."""
    for _ in range(warmup):
        fn()
    sync()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def median_times_alternating(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 3) -> dict[str, float]:
    """Median seconds per call of each function, calling them in turn so that drift of a shared machine hits
    all of them alike (use it when their ratio is what a target compares)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(v) for name, v in samples.items()}
