"""Records a list at a time, as a reader that reads a piece of its file at a time has them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, TypeVar

_T = TypeVar("_T")


def lists(items: Iterator[_T], size: int) -> Iterator[list[_T]]:
    """Yield ``items`` ``size`` at a time. If reading one fails, the items read before it are
    yielded first, then the error is raised: as item by item, it names the right row."""
    while True:
        batch: list[_T] = []
        try:
            batch.extend(itertools.islice(items, size))
        except Exception:
            if batch:
                yield batch
            raise
        if not batch:
            return
        yield batch


class Records:
    """The records of a reader that yields them a list at a time.

    ``batches`` yields lists of records, in which an int stands for that many empty records
    (the rows a sheet leaves out, which cost no memory). Iterated, this gives one record at a
    time, ``[]`` for each row left out; :meth:`batches` gives the lists not iterated yet, the
    rest of the current one first, so that the importer reads them with no Python per row.
    """

    def __init__(self, batches: Iterator[list[Any]]):
        self._batches = batches
        self._batch: list[Any] = []
        self._index = 0

    def __iter__(self) -> Records:
        return self

    def __next__(self) -> list[Any]:
        while True:
            while self._index >= len(self._batch):
                self._batch = next(self._batches)
                self._index = 0
            record = self._batch[self._index]
            if record.__class__ is not int:
                self._index += 1
                return record  # type: ignore[no-any-return]
            if record > 1:
                self._batch[self._index] = record - 1
                return []
            self._index += 1
            if record == 1:
                return []

    def batches(self) -> Iterator[list[Any]]:
        """Yield the lists of records not iterated yet."""
        rest = self._batch[self._index :]
        self._batch, self._index = [], 0
        if rest:
            yield rest
        yield from self._batches

    def close(self) -> None:
        close = getattr(self._batches, "close", None)
        if close is not None:
            close()
