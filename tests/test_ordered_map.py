"""`ordered_map`: independent items run at once, an item never starts before those it waits for
have finished, results keep the input's order."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.concurrency import ordered_map


def test_an_item_starts_only_after_those_it_waits_for_and_results_keep_input_order() -> None:
    lock = threading.Lock()
    started: dict[int, float] = {}
    finished: dict[int, float] = {}
    running, peak = 0, 0

    def work(i: int) -> int:
        nonlocal running, peak
        with lock:
            started[i] = time.monotonic()
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
            finished[i] = time.monotonic()
        return i * 10

    # 0 <- 1 <- 2 (a chain), 3 and 4 independent, 5 waits for 3
    waits = [[], [0], [1], [], [], [3]]
    assert ordered_map(work, range(6), waits, 3) == [0, 10, 20, 30, 40, 50]
    for item, deps in enumerate(waits):
        assert all(started[item] >= finished[d] for d in deps)
    assert 2 <= peak <= 3


def test_the_first_error_in_input_order_is_raised_after_the_rest_ran() -> None:
    ran: list[int] = []

    def work(i: int) -> int:
        ran.append(i)
        if i in (1, 3):
            raise ValueError(f"item {i}")
        return i

    with pytest.raises(ValueError, match="item 1"):
        ordered_map(work, range(4), [[], [], [], []], 2)
    assert sorted(ran) == [0, 1, 2, 3]


def test_parallelism_one_is_the_plain_loop() -> None:
    order: list[int] = []
    assert ordered_map(lambda i: order.append(i) or i, range(3), [[], [], []], 1) == [0, 1, 2]
    assert order == [0, 1, 2]
