"""prefetched keeps order, surfaces the producer's errors, and stops when closed."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from nextmove.foundation.prefetch import prefetched


def test_items_arrive_in_order() -> None:
    assert list(prefetched(range(1_000), depth=3)) == list(range(1_000))


def test_items_are_produced_on_another_thread() -> None:
    threads: list[str] = []

    def produce() -> Iterator[int]:
        for number in range(3):
            threads.append(threading.current_thread().name)
            yield number

    assert list(prefetched(produce())) == [0, 1, 2]
    assert set(threads) == {"nextmove-prefetch"}


def test_an_error_is_raised_where_it_happened() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("batch 3 is broken")

    received: list[int] = []
    with pytest.raises(ValueError, match="batch 3 is broken"):
        for item in prefetched(produce()):
            received.append(item)
    assert received == [1, 2]


def test_closing_early_stops_the_producer() -> None:
    produced: list[int] = []

    def produce() -> Iterator[int]:
        for number in range(10_000):
            produced.append(number)
            yield number

    stream = prefetched(produce(), depth=2)
    assert next(stream) == 0
    stream.close()
    assert len(produced) < 10
    assert not any(t.name == "nextmove-prefetch" for t in threading.enumerate())
