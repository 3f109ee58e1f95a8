"""Bounded parallelism (`--parallelism N`, RECONCILER_PARALLELISM; default 10, as Terraform).

Why: every live read is a network round trip, and APIs without a list call (a lakehouse monitor
has only a GET per table) make a plan of 1,000 objects 1,000 round trips; one at a time that is
the latency times 1,000. At most N requests are in flight, so a plan stays polite to the service.
Results keep the order of the input, whatever finishes first, so plans, reports and errors are
the same at any parallelism.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from reconciler.errors import ReconcilerError

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_PARALLELISM = 10
ENV = "RECONCILER_PARALLELISM"


def default_parallelism() -> int:
    """RECONCILER_PARALLELISM, else 10."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return DEFAULT_PARALLELISM
    try:
        value = int(raw)
    except ValueError:
        raise ReconcilerError(f"{ENV} must be a whole number of at least 1, not {raw!r}") from None
    if value < 1:
        raise ReconcilerError(f"{ENV} must be a whole number of at least 1, not {raw!r}")
    return value


def bounded_map(fn: Callable[[T], R], items: Iterable[T], parallelism: int) -> list[R]:
    """`[fn(item) for item in items]` with at most `parallelism` calls running at once, results
    in input order. An exception is raised as the sequential loop would (the first item's, in
    input order) once every started call has finished."""
    work = list(items)
    if parallelism <= 1 or len(work) <= 1:
        return [fn(item) for item in work]
    with ThreadPoolExecutor(max_workers=min(parallelism, len(work)), thread_name_prefix="reconciler") as pool:
        futures = [pool.submit(fn, item) for item in work]
        errors = [f.exception() for f in futures]
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
    return [f.result() for f in futures]


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], waits_for: Sequence[Iterable[int]], parallelism: int
) -> list[R]:
    """`bounded_map`, where item i starts only once every earlier item `waits_for[i]` names has
    finished (a plan-time order between writes: a rule taking a title another gives up, rules
    created into one group in the spec's order). Ready items start lowest index first, so the
    same input starts in the same order; results are in input order."""
    work = list(items)
    deps = [{j for j in waits_for[i] if 0 <= j < i} for i in range(len(work))]
    if parallelism <= 1 or len(work) <= 1:
        return [fn(item) for item in work]
    results: dict[int, Future[R]] = {}
    running: dict[Future[R], int] = {}
    done: set[int] = set()
    pending = list(range(len(work)))
    with ThreadPoolExecutor(max_workers=min(parallelism, len(work)), thread_name_prefix="reconciler") as pool:
        while pending or running:
            for i in [i for i in pending if deps[i] <= done][: parallelism - len(running)]:
                pending.remove(i)
                results[i] = future = pool.submit(fn, work[i])
                running[future] = i
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                done.add(running.pop(future))
    errors = [results[i].exception() for i in range(len(work))]
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
    return [results[i].result() for i in range(len(work))]
