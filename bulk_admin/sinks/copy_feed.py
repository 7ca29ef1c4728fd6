"""The feed of a streamed ``COPY`` on psycopg2: a file object filled from another thread."""

from __future__ import annotations

import queue
import threading
from typing import Any


class _Feed:
    """A file object for psycopg2's ``copy_expert``, fed chunk by chunk from another thread.

    At most two chunks wait in the queue, so memory stays bounded while PostgreSQL is slower
    than the conversion.
    """

    def __init__(self) -> None:
        self.queue: queue.Queue[bytes | None | BaseException] = queue.Queue(maxsize=2)
        self.buffer = memoryview(b"")
        self.done = False
        self.error: BaseException | None = None
        self.finished = threading.Event()

    def run(self, cursor: Any, sql: str) -> None:
        try:
            cursor.copy_expert(sql, self)
        except BaseException as error:  # reported by close(), in the importer's thread
            self.error = error
        finally:
            self.finished.set()

    def put(self, data: bytes) -> None:
        while not self.finished.is_set():
            try:
                self.queue.put(data, timeout=0.1)
                return
            except queue.Full:
                continue
        # The COPY has ended early: the server refused a row. close() raises its error.

    def close(self, aborted: bool) -> None:
        self.put(_ABORT if aborted else None)  # type: ignore[arg-type]

    def read(self, size: int = -1) -> bytes:
        while not self.buffer and not self.done:
            item = self.queue.get()
            if item is None:
                self.done = True
            elif isinstance(item, BaseException):
                raise item
            else:
                self.buffer = memoryview(item)
        if size < 0:
            size = len(self.buffer)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return bytes(data)


_ABORT = RuntimeError("bulk_admin import aborted")
