"""Compute the next items of an iterator on a worker thread while the caller uses this one.

The importer reads and validates batch N+1 (polars releases the GIL) while batch N is
being written; on two cores this overlaps most of the validation with the database.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


class _Done:
    pass


@dataclass(frozen=True, slots=True)
class _Item(Generic[T]):
    value: T


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` in order, produced up to ``depth`` ahead on a worker thread.

    An exception raised while producing is raised here, at the item where it happened.
    Closing the returned generator early stops the worker.
    """
    slots: queue.Queue[_Item[T] | _Failed | _Done] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: _Item[T] | _Failed | _Done) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for value in items:
                if not offer(_Item(value)):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            offer(_Failed(exc))
            return
        offer(_Done())

    worker = threading.Thread(target=produce, name="nextmove-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            entry = slots.get()
            if isinstance(entry, _Done):
                return
            if isinstance(entry, _Failed):
                raise entry.error
            yield entry.value
    finally:
        stop.set()
        worker.join()
