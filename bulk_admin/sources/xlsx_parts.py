"""The parts of an XLSX archive as the streaming reader reads them: the plain prolog checked
by expat, then blocks of what follows an opening tag; a fast path that falls back to expat."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any, Protocol
from xml.etree import ElementTree

from bulk_admin.sources.xlsx_cells import _OtherLayout
from bulk_admin.workbook import XML_ERRORS, Workbook

_ENCODING = re.compile(rb"<\?xml[^>]*\bencoding\s*=\s*[\"']([^\"']*)[\"']")
_MAIN_NAMESPACE = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_BOM = b"\xef\xbb\xbf"
# What comes before <sheetData> (the sheet's properties, views, columns) is read whole.
_MAX_PROLOG = 4 * 1024 * 1024
# A row (or string item) longer than this without its end is not in the common layout.
_MAX_PENDING = 64 * 1024 * 1024


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
