"""Stage 3, convert, column by column: Arrow compute kernels over a chunk's columns.

:class:`ColumnarPlan` converts a chunk one column at a time. For each column a strict
pattern picks the cells whose value is certain (``123`` for an integer, ``2024-05-01`` for
a date, text without a NUL or surrounding-only spaces, ...); those are converted and checked
(max_length, min/max values, decimal digits, choices) with Arrow kernels in native code. Every
other cell (empty, padded with spaces, ``6001.0``, ``1.5e3``, an invalid value, a typed XLSX
cell) goes through the per-cell converter of :mod:`bulk_admin.conversion`, so values and error
messages are the per-cell path's by construction. Fields, validators and ``converters=`` hooks
this module does not know keep the per-cell path for their whole column.

The converted values stay in Arrow arrays: the COPY sink writes them as CSV from native code
(:func:`copy_csv`), and the Python values of :attr:`ColumnarChunk.rows` are built only when
something asks for them (a chunk hook, the bulk_create sink, the key checker).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from django.db import connections

from bulk_admin.conversion.base import (
    ConvertedRow,
    display_value,
)
from bulk_admin.conversion.columns import (
    Values,
    _mask,
    _python,
    _Repeated,
    compile_column,
)
from bulk_admin.conversion.kinds import _MISSING, _Kind
from bulk_admin.conversion.plan import Chunk, missing_related
from bulk_admin.results import RowError

if TYPE_CHECKING:
    from bulk_admin.conversion.plan import Plan
    from bulk_admin.sources import Row


class ColumnarChunk(Chunk):
    """A :class:`~bulk_admin.conversion.Chunk` whose valid rows are held column by column.

    ``rows`` is built from the columns on first use; once it has been read (and maybe
    changed), it is what the sinks write.
    """

    def __init__(
        self,
        plan: Plan,
        row_numbers: list[int],
        columns: list[Values],
        kinds: list[_Kind | None],
        errors: list[RowError],
        invalid: int,
    ):
        super().__init__(errors=errors, invalid=invalid, plan=plan)
        self.row_numbers = row_numbers
        self.columns: list[Values] | None = columns
        self.kinds = kinds
        self._rows: list[ConvertedRow] | None = None

    @property
    def rows(self) -> list[ConvertedRow]:
        if self._rows is None:
            assert self.columns is not None
            python = [
                _python(values, kind)
                for values, kind in zip(self.columns, self.kinds, strict=True)
            ]
            self._rows = [
                (number, list(values))
                for number, values in zip(self.row_numbers, zip(*python, strict=True), strict=True)
            ]
            self.columns = None
        return self._rows

    @rows.setter
    def rows(self, rows: list[ConvertedRow]) -> None:
        self._rows = rows
        self.columns = None

    def __len__(self) -> int:
        return len(self.row_numbers) if self._rows is None else len(self._rows)


class ColumnarPlan:
    """The column-wise conversion of a :class:`~bulk_admin.conversion.Plan`."""

    def __init__(self, plan: Plan, *, converters: Any = None, empty_cells: Any = None):
        self.plan = plan
        self.columns = [
            compile_column(
                column,
                custom_converter=column.mapping.target.field.name in (converters or {}),
                custom_empty=column.mapping.target.field.name in (empty_cells or {}),
                reading=plan.reading,
            )
            for column in plan.columns
        ]
        # {position: (prefetched dict, its lookup values, its keys)} as Arrow arrays.
        self._key_arrays: dict[int, tuple[dict[Any, Any], int, pa.Array, pa.Array]] = {}

    def release_memory(self) -> None:
        """Return the memory Arrow's allocator freed with the last chunk to the system.

        mimalloc and jemalloc, pyarrow's default pools, keep freed pages for reuse; released
        after each chunk, a long import's peak stays that of one chunk (154 → 146 MB for a
        million rows, docs/performance.md), at no measurable cost.
        """
        pa.default_memory_pool().release_unused()

    def convert(self, rows: Sequence[Row]) -> Chunk:
        """Convert ``rows`` column by column and resolve their foreign keys."""
        plan = self.plan
        count = len(rows)
        row_numbers = [number for number, _cells in rows]
        all_cells = [cells for _number, cells in rows]
        width = max(map(len, all_cells), default=0)
        # Rows shorter than the widest (an XLSX row ends at its last cell) end in None.
        by_index = list(itertools.zip_longest(*all_cells)) if width else []
        values: list[Values] = [None] * plan.width
        kinds: list[_Kind | None] = [None] * plan.width
        bad: dict[int, list[RowError]] = {}
        for converter in self.columns:
            column = converter.column
            index = column.mapping.index
            cells = list(by_index[index]) if index < width else [None] * count
            found, errors = converter.convert(cells)
            values[column.position] = found
            kinds[column.position] = converter.kind
            for position, message in errors.items():
                bad.setdefault(position, []).append(
                    RowError(
                        row=row_numbers[position],
                        column=column.mapping.header,
                        field=column.mapping.target.path,
                        value=display_value(cells[position]),
                        message=message,
                    )
                )
        for position, value in plan._constant_fills:
            values[position] = _Repeated(value, count)
        for position, call in plan._callable_fills:
            values[position] = [call() for _row in range(count)]
        found = [error for position in sorted(bad) for error in bad[position]]
        self._resolve_relations(values, kinds, row_numbers, bad, found)
        if bad:
            keep = [position not in bad for position in range(count)]
            row_numbers = [n for n, k in zip(row_numbers, keep, strict=True) if k]
            values = [_keep(column, keep) for column in values]
        return ColumnarChunk(plan, row_numbers, values, kinds, found, len(bad))

    def _resolve_relations(
        self,
        values: list[Values],
        kinds: list[_Kind | None],
        row_numbers: list[int],
        bad: dict[int, list[RowError]],
        errors: list[RowError],
    ) -> None:
        """Replace looked-up values by related keys: one ``index_in`` per relation."""
        plan = self.plan
        fold = connections[plan.using].vendor == "mysql"
        invalid = set(bad)  # rows already invalid are not looked up
        found_errors: dict[int, list[RowError]] = {}
        for relation in plan.relations:
            target = relation.column.target
            assert target.lookup is not None
            position = relation.position
            column = values[position]
            kind = kinds[position]
            vector = isinstance(column, pa.Array) and kind is not None and kind.to_python is None
            if position in plan.prefetched:
                found = plan.prefetched[position]
            else:
                if vector:
                    usable = column.filter(pa.array(_valid_rows(len(column), invalid), pa.bool_()))
                    wanted = {
                        value for value in pc.unique(usable).to_pylist() if value is not None
                    }
                else:
                    wanted = {
                        value
                        for index, value in enumerate(_python(column, kind))
                        if value is not None and index not in invalid
                    }
                found = plan.related_keys(position, target, wanted) if wanted else {}
            keys = None
            if vector:
                keys = self._vector_keys(position, column, found)
            if keys is not None:
                resolved, missing = keys
                looked_up: list[Any] = []
                candidates = [index for index in missing if index not in invalid]
                if candidates:
                    looked_up = column.take(pa.array(candidates, pa.int64())).to_pylist()
            else:
                resolved = None
                looked_up = _python(column, kind)
                candidates = [
                    index
                    for index, key in enumerate(looked_up)
                    if key is not None and index not in invalid
                ]
                looked_up = [looked_up[index] for index in candidates]
            folded = {}
            if fold:
                folded = {
                    (key.casefold() if isinstance(key, str) else key): value
                    for key, value in found.items()
                }
            fixes: list[Any] = []
            for index, key in zip(candidates, looked_up, strict=True):
                value = found.get(key, _MISSING)
                if value is _MISSING and fold and isinstance(key, str):
                    value = folded.get(key.casefold(), _MISSING)
                if value is _MISSING:
                    error = missing_related(relation.column, row_numbers[index], key)
                    found_errors.setdefault(index, []).append(error)
                    value = None
                fixes.append(value)
            if resolved is None:
                keys_list: list[Any] = [None] * len(row_numbers)
                for index, value in zip(candidates, fixes, strict=True):
                    keys_list[index] = value
                values[position] = keys_list
            elif candidates:
                # Keys found only case-insensitively (MySQL) or not at all.
                mask = pa.array(_mask(len(row_numbers), candidates), pa.bool_())
                try:
                    values[position] = pc.replace_with_mask(
                        resolved, mask, pa.array(fixes, resolved.type)
                    )
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                    merged = resolved.to_pylist()
                    for index, value in zip(candidates, fixes, strict=True):
                        merged[index] = value
                    values[position] = merged
            else:
                values[position] = resolved
            kinds[position] = None
        for index, more in found_errors.items():
            bad.setdefault(index, []).extend(more)
            errors.extend(more)

    def _vector_keys(
        self, position: int, column: pa.Array, found: dict[Any, Any]
    ) -> tuple[pa.Array, list[int]] | None:
        """Return the related keys of ``column`` and the indices of the values not found.

        None if Arrow cannot hold the lookup values or keys as one type each (then the
        Python loop resolves them).
        """
        # The prefetched keys, or those the plan remembers from earlier chunks: the same dict,
        # which only grows, so its arrays are built again only when it has grown.
        cached = self._key_arrays.get(position)
        if cached is not None and cached[0] is found and cached[1] == len(found):
            lookup, keys = cached[2], cached[3]
        else:
            try:
                lookup = pa.array(list(found), type=column.type)
                keys = pa.array(list(found.values()))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
                return None
            if lookup.to_pylist() != list(found) or keys.to_pylist() != list(found.values()):
                return None  # e.g. a UUID key Arrow would hold as bytes
            self._key_arrays[position] = (found, len(found), lookup, keys)
        index = pc.index_in(column, value_set=lookup)
        resolved = keys.take(index)
        missing = pc.and_(pc.is_null(index), pc.is_valid(column))
        return resolved, pc.indices_nonzero(missing).to_pylist()


def _valid_rows(size: int, invalid: set[int]) -> list[bool]:
    keep = [True] * size
    for index in invalid:
        keep[index] = False
    return keep


def _keep(column: Values, keep: list[bool]) -> Values:
    if isinstance(column, _Repeated):
        return _Repeated(column.value, sum(keep))
    if isinstance(column, list):
        return [value for value, k in zip(column, keep, strict=True) if k]
    return column.filter(pa.array(keep, pa.bool_()))


# --- COPY ----------------------------------------------------------------------------------


def copy_arrays(chunk: Chunk, formatters: Sequence[Callable[[Any], str]]) -> list[pa.Array]:
    """Return one Arrow array per written field of ``chunk``'s valid rows.

    Values held as Python objects are written as text with ``formatters`` (one per field).
    """
    if isinstance(chunk, ColumnarChunk) and chunk.columns is not None:
        columns: list[Values] = chunk.columns
    else:
        rows = chunk.rows
        columns = [list(column) for column in zip(*(values for _n, values in rows), strict=True)]
        if not columns:
            columns = [[] for _fmt in formatters]
    arrays = []
    for fmt, column in zip(formatters, columns, strict=True):
        if isinstance(column, _Repeated):
            # Formatted once for the chunk.
            text = None if column.value is None else fmt(column.value)
            column = pa.array([text] * column.count, pa.string())
        elif isinstance(column, list):
            column = pa.array(
                [None if value is None else fmt(value) for value in column], pa.string()
            )
        arrays.append(column)
    return arrays


def copy_csv(arrays: list[pa.Array], row_numbers: list[int] | None = None) -> bytes:
    """Return the rows of ``arrays`` as COPY's CSV (NULL unquoted, text always quoted)."""
    names = ["c%d" % index for index in range(len(arrays))]
    if row_numbers is not None:
        arrays = [*arrays, pa.array(row_numbers, pa.int64())]
        names.append("row")
    table = pa.Table.from_arrays(arrays, names=names)
    out = io.BytesIO()
    pa_csv.write_csv(table, out, pa_csv.WriteOptions(include_header=False))
    return out.getvalue()


def chunk_row_numbers(chunk: Chunk) -> list[int]:
    if isinstance(chunk, ColumnarChunk) and chunk.columns is not None:
        return chunk.row_numbers
    return [number for number, _values in chunk.rows]


__all__ = ["ColumnarChunk", "ColumnarPlan", "compile_column", "copy_arrays", "copy_csv"]
