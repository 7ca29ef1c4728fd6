"""The shared strings of a workbook for the streaming reader: a list, one UTF-8 buffer, or a
temporary file read a group at a time, as the part's size asks."""

from __future__ import annotations

import array
import itertools
import operator
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from bulk_admin.peek import _shared_string_items
from bulk_admin.sources.xlsx_cells import _check_chunk, _OtherLayout, _text
from bulk_admin.sources.xlsx_parts import _MAX_PENDING, _contents, _fast_then_expat
from bulk_admin.workbook import Workbook

_SST = re.compile(rb"<(\w+:)?sst(?:\s[^>]*?)?(/?)>")
_PLAIN_ITEM = re.compile(rb'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>')

# Above this many unpacked bytes, a shared-strings part is kept as one UTF-8 buffer; above
# the second, in a temporary file.
_COMPACT_STRINGS = 8 * 1024 * 1024
_SPILLED_STRINGS = 48 * 1024 * 1024


def _shared_strings(workbook: Workbook) -> Sequence[str]:
    """Return the workbook's shared strings, kept as the part's size asks."""
    part = workbook.shared_strings_part()
    if part is None:
        return []
    items = _string_items(workbook, part)
    size = workbook.unpacked_size(part)
    if size > _SPILLED_STRINGS:
        return _SpilledStrings(items)
    if size > _COMPACT_STRINGS:
        return _StringTable(items)
    return list(items)


def _string_items(workbook: Workbook, part: str) -> Iterator[str]:
    """Yield the shared strings: plain items by a pattern, the whole part by expat otherwise."""
    yield from _fast_then_expat(
        lambda: _plain_strings(workbook, part), lambda: _shared_string_items(workbook), str
    )


def _plain_strings(workbook: Workbook, part: str) -> Iterator[list[str]]:
    """Yield the items of a shared-strings part that holds only plain ``<si><t>`` items, a
    list at a time."""
    pending = b""
    ended = False
    for block in _contents(workbook, part, _SST, b"</sst>", set()):
        if ended:
            if block.strip():
                raise _OtherLayout
            continue
        data = pending + block if pending else block
        end = data.find(b"</sst>")
        if end != -1:
            if data[end + 6 :].strip():
                raise _OtherLayout  # something after the root: expat reads to the end
            items = _plain_items(data[:end])
            ended = True
            continue
        cut = data.rfind(b"</si>")
        if cut == -1:
            if len(data) > _MAX_PENDING:
                raise _OtherLayout
            pending = data
            continue
        pending = data[cut + 5 :]
        yield _plain_items(data[: cut + 5])
    if not ended:
        raise _OtherLayout
    yield items


def _plain_items(chunk: bytes) -> list[str]:
    texts = _PLAIN_ITEM.findall(chunk)
    if chunk.count(b"<") != 4 * len(texts):
        raise _OtherLayout  # rich text, phonetic hints, empty items, comments...
    try:
        _check_chunk(chunk)
        return [_text(text) if b"&" in text or b"\r" in text else text.decode() for text in texts]
    except UnicodeDecodeError:
        raise _OtherLayout from None


class _Strings(Sequence[str]):
    """A sequence of strings stored otherwise than a list: subclasses give ``_get``."""

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("string index out of range")
        return self._get(index)

    def _get(self, index: int) -> str:
        raise NotImplementedError


class _StringTable(_Strings):
    """Strings kept as one UTF-8 buffer and the offset where each begins (4 bytes a string).

    A list of a million distinct strings costs about 75 bytes each besides their text.
    """

    _offsets: array.array[int]

    def __init__(self, texts: Iterable[str]):
        buffer = bytearray()
        offsets = array.array("I", [0])  # 8 bytes an offset only past 4 GiB of text
        items = iter(texts)
        while batch := list(map(str.encode, itertools.islice(items, 4096))):
            ends = list(itertools.accumulate(map(len, batch), initial=len(buffer)))[1:]
            if ends[-1] >= 2**32 and offsets.typecode == "I":
                offsets = array.array("q", offsets)
            offsets.extend(ends)
            buffer += b"".join(batch)
        self._buffer = bytes(buffer)
        self._offsets = offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _get(self, index: int) -> str:
        return self._buffer[self._offsets[index] : self._offsets[index + 1]].decode()

    def take(self, indices: list[int]) -> list[str]:
        """The strings at ``indices`` (each in range), in C: one pass of maps."""
        offsets = self._offsets
        starts = map(offsets.__getitem__, indices)
        stops = map(offsets.__getitem__, map((1).__add__, indices))
        return list(map(bytes.decode, map(self._buffer.__getitem__, map(slice, starts, stops))))


class _SpilledStrings(_Strings):
    """Strings kept in a temporary file, in groups of ``_GROUP``, with only the groups' offsets
    in memory (8 bytes a group) and the groups read last.

    Each string is its UTF-8 length (4 bytes) and text. A group is read whole with one
    ``os.pread``: the strings a sheet uses first are numbered first, so a row's strings lie
    in the groups its neighbours just read.
    """

    def __init__(self, texts: Iterable[str]):
        # Closed by close(), when the stream ends.
        self._file = tempfile.TemporaryFile(prefix="bulk_admin-strings-")  # noqa: SIM115
        self._starts = array.array("Q")
        self._count = 0
        written = 0
        pending = bytearray()
        for text in texts:
            if not self._count % _GROUP:
                self._starts.append(written + len(pending))
            data = text.encode()
            pending += len(data).to_bytes(4, "little")
            pending += data
            self._count += 1
            if len(pending) >= _WRITE_BLOCK:
                self._file.write(pending)
                written += len(pending)
                pending = bytearray()
        self._file.write(pending)
        self._file.flush()
        self._size = written + len(pending)
        self._groups: dict[int, list[str]] = {}

    def __len__(self) -> int:
        return self._count

    def _get(self, index: int) -> str:
        group, offset = divmod(index, _GROUP)
        texts = self._groups.get(group)
        if texts is None:
            texts = self._read_group(group)
            if len(self._groups) >= _GROUPS_KEPT:
                self._groups.clear()
            self._groups[group] = texts
        return texts[offset]

    def take(self, indices: list[int]) -> list[str]:
        """The strings at ``indices`` (each in range): each group they need read once."""
        if not indices:
            return []
        groups, offsets = zip(*map(divmod, indices, itertools.repeat(_GROUP)), strict=True)
        kept = self._groups
        missing = set(groups).difference(kept)
        if missing and len(kept) + len(missing) > _GROUPS_KEPT:
            kept.clear()
            missing = set(groups)
        for group in missing:
            kept[group] = self._read_group(group)
        return list(map(operator.getitem, map(kept.__getitem__, groups), offsets))

    def _read_group(self, group: int) -> list[str]:
        starts = self._starts
        start = starts[group]
        end = starts[group + 1] if group + 1 < len(starts) else self._size
        data = os.pread(self._file.fileno(), end - start, start)
        texts = []
        position = 0
        while position < len(data):
            length = int.from_bytes(data[position : position + 4], "little")
            position += 4
            texts.append(data[position : position + length].decode())
            position += length
        return texts

    def close(self) -> None:
        self._file.close()


_GROUP = 16
_GROUPS_KEPT = 1024
_WRITE_BLOCK = 1024 * 1024
