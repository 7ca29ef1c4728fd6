"""The streaming XLSX reader: typed rows parsed as the sheet's part is unpacked.

python-calamine loads a whole sheet before giving its first row, and openpyxl's read-only
mode spends about 20 µs of Python on each cell. This reader parses the part block by block as
the archive unpacks it, so its memory holds one block of the sheet and the shared strings:

- what comes before ``<sheetData>`` is parsed by expat and must be plain (the main namespace
  on the root ``<worksheet>``, no comment, DOCTYPE, entity or row);
- after it, cells in the layout the common writers use (Excel, LibreOffice, openpyxl,
  XlsxWriter: no namespace prefix, the reference first, a ``<v>`` value or an inline
  ``<is><t>`` text) are read by one regular expression per row, in C;
- every ``<`` of a piece (about 64 KiB of rows) must belong to a cell or row read that way
  (one count per piece), and the piece must hold nothing expat would read otherwise or
  refuse (a namespace declaration, CDATA, an undefined entity, bytes that are not UTF-8 or
  not XML characters, attributes written twice); a part holding anything else is read again
  from its start by expat, as :mod:`bulk_admin.peek` reads the first rows, and the rows
  already given are skipped. So is a part with a row out of order or beyond Excel's limits:
  expat's path says where, or finds it was only in a comment.

Both paths give the cells :func:`bulk_admin.peek.peek_rows` gives (text, int or float, bool,
a date, a datetime when it has a time), and an Excel error cell as a row error;
``tests/test_xlsx_stream.py`` compares them. Nothing is allocated according to what the file
declares, not even for a far row number.
"""

from __future__ import annotations

import array
import itertools
import operator
import os
import re
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any, Protocol, overload
from xml.etree import ElementTree

from django.utils.translation import gettext as _

from bulk_admin.exceptions import SourceError
from bulk_admin.peek import _date_styles, _raw_rows, _shared_string_items
from bulk_admin.sources.batches import Records
from bulk_admin.sources.xlsx_cells import _Cells, _check_chunk, _OtherLayout, _text
from bulk_admin.sources.xlsx_rows import _rows_of
from bulk_admin.workbook import XML_ERRORS, Workbook, _damaged

_SHEET_DATA = re.compile(rb"<(\w+:)?sheetData\s*(/?)>")
_SST = re.compile(rb"<(\w+:)?sst(?:\s[^>]*?)?(/?)>")
_PLAIN_ITEM = re.compile(rb'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>')
_ENCODING = re.compile(rb"<\?xml[^>]*\bencoding\s*=\s*[\"']([^\"']*)[\"']")
_MAIN_NAMESPACE = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_BOM = b"\xef\xbb\xbf"
# What comes before <sheetData> (the sheet's properties, views, columns) is read whole.
_MAX_PROLOG = 4 * 1024 * 1024
_PIECE = 64 * 1024
# Records read by expat are handed over this many at a time.
_EXPAT_BATCH = 1024
# A row longer than this without its end is not in the common layout.
_MAX_PENDING = 64 * 1024 * 1024


def stream_records(workbook: Workbook, sheet: str) -> Records:
    """Return the records of ``sheet``, row 1 first, rows the file leaves out as ``[]``;
    also a piece's list at a time (:class:`~bulk_admin.sources.batches.Records`)."""
    return Records(_record_lists(workbook, sheet))


def _record_lists(workbook: Workbook, sheet: str) -> Iterator[list[Any]]:
    part = workbook.part_of(sheet) or ""
    if not workbook.has_part(part):
        raise _damaged(_("the part of sheet “%(sheet)s” is missing") % {"sheet": sheet})
    strings = _shared_strings(workbook)
    cells = _Cells(strings, _date_styles(workbook), workbook.date1904())
    try:
        given = 0
        try:
            for batch in _common_layout(workbook, part, cells):
                # Counts of empty rows stay counts: a far row number costs no memory.
                yield batch.records if isinstance(batch, _WithEmptyRows) else batch
                given += len(batch)
        except _OtherLayout:
            # The rest through expat, which gives the same records (those given skipped).
            rest = map(
                cells.record, itertools.islice(_raw_rows(workbook, part, None), given, None)
            )
            while True:
                batch: list[Any] = []
                try:
                    batch.extend(itertools.islice(rest, _EXPAT_BATCH))
                except Exception:
                    # The records before the one that fails first: the error names its row.
                    if batch:
                        yield batch
                    raise
                if not batch:
                    return
                yield batch
    finally:
        if isinstance(strings, _SpilledStrings):
            strings.close()


def starts_in_common_layout(workbook: Workbook, sheet: str) -> bool:
    """Whether the fast path reads the start of ``sheet``: all before ``<sheetData>`` and the
    first piece of rows (the reader ``auto`` reads a sheet in another layout, such as the
    namespace prefixes of the .NET Open XML SDK, with python-calamine: expat is slower)."""
    part = workbook.part_of(sheet) or ""
    if not workbook.has_part(part):
        return True  # the stream says so
    # No shared strings are read for this: an index beyond the table is an empty text.
    cells = _Cells([], _date_styles(workbook), workbook.date1904())
    records = _common_layout(workbook, part, cells)
    try:
        next(records, None)
    except _OtherLayout:
        return False
    except SourceError:
        return True  # a damaged part: the stream says how
    finally:
        records.close()
    return True


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


class _Batch(Protocol):
    """What the fast paths yield: items, counted."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


def _fast_then_expat(
    fast: Callable[[], Iterator[_Batch]],
    expat: Callable[[], Iterator[Any]],
    finish: Callable[[Any], Any],
) -> Iterator[Any]:
    """Yield the items of the lists ``fast()`` yields; if it raises _OtherLayout, go on with
    the items of ``expat()``.

    The items ``fast()`` gave are skipped in ``expat()`` (both give the same items), and each
    other one goes through ``finish``. A list at a time, so that its items cost no Python.
    """
    given = 0
    try:
        for batch in fast():
            yield from batch
            given += len(batch)
        return
    except _OtherLayout:
        pass
    yield from map(finish, itertools.islice(expat(), given, None))


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


def _common_layout(workbook: Workbook, part: str, cells: _Cells) -> Generator[_Batch, None, None]:
    """Yield the records of a part in the common layout, a piece's at a time; raise
    _OtherLayout on anything else.

    A piece's records are given only once all of the piece has been read.
    """
    pending = b""
    next_row = 1
    for block in _contents(workbook, part, _SHEET_DATA, b"</sheetData>", cells.prefixes):
        data = pending + block if pending else block
        end = data.find(b"</sheetData>")
        limit = len(data) if end == -1 else end
        position = 0
        while True:  # rows of about _PIECE bytes at a time: what is held is that much
            cut = data.find(b"</row>", position + _PIECE, limit)
            if cut == -1:
                break
            records, next_row = _read_rows(data[position:cut], cells, next_row)
            yield _expanded(records)
            position = cut + 6
        if end != -1:
            records, next_row = _read_rows(data[position:end], cells, next_row, False)
            yield _expanded(records)
            return
        cut = data.rfind(b"</row>", position)
        if cut == -1:
            if len(data) - position > _MAX_PENDING:
                raise _OtherLayout
            pending = data[position:]
            continue
        pending = data[cut + 6 :]
        records, next_row = _read_rows(data[position:cut], cells, next_row)
        yield _expanded(records)
    # A part that ends before </sheetData>: expat reads it, and says how it is damaged.
    raise _OtherLayout


def _expanded(records: list[Any]) -> _Batch:
    """Return ``records``, a count of empty rows as that many empty records."""
    if not any(map(_is_count, records)):
        return records  # no row left out: the list itself
    return _WithEmptyRows(records)


class _WithEmptyRows:
    """Records and counts of the empty rows between them, iterated as that many empty records:
    a far row number costs no memory."""

    def __init__(self, records: list[Any]):
        self.records = records

    def __len__(self) -> int:
        return sum(record if record.__class__ is int else 1 for record in self.records)

    def __iter__(self) -> Iterator[list[Any]]:
        for record in self.records:
            if record.__class__ is int:
                for _empty in range(record):
                    yield []
            else:
                yield record


_is_count = int.__instancecheck__  # one C call per record


def _contents(
    workbook: Workbook,
    part: str,
    opening: re.Pattern[bytes],
    closing: bytes,
    prefixes: set[bytes],
) -> Iterator[bytes]:
    """Yield the bytes of ``part`` after its ``opening`` tag, block by block.

    An element that closes itself gives ``closing`` alone. _OtherLayout unless everything up
    to the tag is what the common writers put there: UTF-8, the main namespace as the only
    default one, no comment, DOCTYPE (a DTD can give attributes defaults), processing
    instruction, CDATA or entity. The prefixes declared there are added to ``prefixes``.
    """
    data = b""
    blocks = workbook.blocks(part)
    for block in blocks:
        data += block
        tag = opening.search(data)
        if tag is None:
            if len(data) > _MAX_PROLOG:
                raise _OtherLayout
            continue
        _check_prolog(data[: tag.end()], prefixes)
        if tag.group(1):
            raise _OtherLayout
        if tag.group(2):
            yield closing  # <sheetData/>, <sst/>: no items
            return
        yield data[tag.end() :]
        yield from blocks
        return
    raise _OtherLayout


def _check_prolog(prolog: bytes, prefixes: set[bytes]) -> None:
    """Parse everything up to the opening tag with expat; _OtherLayout unless it is plain.

    Plain: UTF-8, well formed, no comment, DOCTYPE, processing instruction, CDATA or entity,
    the opening tag in the main namespace as the root (``<sst>``) or a child of the root
    ``<worksheet>`` (``<sheetData>``), no row or string item before it. The prefixes declared
    on the root go to ``prefixes``: the ones cell attributes may use.
    """
    text = prolog[len(_BOM) :] if prolog.startswith(_BOM) else prolog
    if text.startswith(b"<?xml"):
        declared = _ENCODING.match(text[: text.find(b"?>") + 2])
        if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8"):
            raise _OtherLayout
        text = text[text.find(b"?>") + 2 :]
    if any(mark in text for mark in (b"<!", b"<?", b"]]>", b"&")):
        raise _OtherLayout
    parser: Any = ElementTree.XMLPullParser(events=("start", "end", "start-ns"))
    depth = 0
    tags: list[tuple[int, str]] = []
    namespaces: list[tuple[int, str, str]] = []
    try:
        parser.feed(prolog)
        for event, item in parser.read_events():
            if event == "start-ns":
                namespaces.append((depth, *item))
            elif event == "start":
                tags.append((depth, item.tag))
                depth += 1
            else:
                depth -= 1
    except XML_ERRORS:
        raise _OtherLayout from None
    main = "{%s}" % _MAIN_NAMESPACE.decode()
    root = tags[0][1] if tags else ""
    last_depth, last = tags[-1] if tags else (0, "")
    if last == main + "sst":
        plain = len(tags) == 1
    else:
        plain = root == main + "worksheet" and last == main + "sheetData" and last_depth == 1
    if not plain or any(tag in (main + "row", main + "si") for _depth, tag in tags[:-1]):
        raise _OtherLayout
    on_root = {prefix: uri for depth_, prefix, uri in namespaces if depth_ == 0}
    if on_root.get("") != _MAIN_NAMESPACE.decode() or any(
        depth_ > 0 and prefix == "" for depth_, prefix, _uri in namespaces
    ):
        raise _OtherLayout  # Strict OOXML, another vocabulary, a default redeclared
    if len(set(on_root.values())) != len(on_root):
        raise _OtherLayout  # two prefixes for one namespace: one name could be written twice
    prefixes.update(prefix.encode() for prefix in on_root if prefix)


def _read_rows(
    chunk: bytes, cells: _Cells, next_row: int, open_end: bool = True
) -> tuple[list[Any], int]:
    """Read the rows of ``chunk``: complete rows, the last one's ``</row>`` cut off unless
    ``open_end`` is false (the chunk ends at ``</sheetData>``)."""
    try:
        return _rows_of(chunk, cells, next_row, open_end)
    except (UnicodeDecodeError, ValueError, SourceError):
        # Not UTF-8, a cell that is not what its type says, a row out of order or beyond
        # Excel's limits (maybe only in a comment): expat's path reads the part again row by
        # row, and says which error, if any, is on which row.
        raise _OtherLayout from None
