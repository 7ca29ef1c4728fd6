"""Date-times, times and durations of the column-wise conversion.

Each kind keeps its values as the text the COPY sink writes for the per-cell path's values
(``datetime.isoformat()``, ``time.isoformat()``, ``"D days S seconds U microseconds"``), built
with Arrow string kernels from the groups of a strict pattern. Python values are built from
that text only when something asks for them.

Time zones: the offset of a date-time under ``USE_TZ`` is asked of the current time zone
itself (Python's ``zoneinfo``), once per distinct wall-clock time of the chunk. Arrow's own
time-zone kernels are not used: they ignore the rule a zone file states for the years after
its last listed change (Europe/Paris in July 2050 would be +01:00), which ``zoneinfo`` follows.
"""

from __future__ import annotations

import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.utils import timezone

_STRING_NULL = pa.scalar(None, pa.string())
_CLOCK = (
    r"(?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9])"
    r"(?::(?P<second>[0-5][0-9])(?:\.(?P<fraction>[0-9]{1,6}))?)?"
)
# Years 1000 to 9998: in years 1 and 9999 the per-cell path refuses some moments (their UTC
# time would fall outside the years Python holds).
_YEAR = "(?:[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
_TIME = "^%s$" % _CLOCK
_DATETIME = r"^(?P<date>%s-[0-9]{2}-[0-9]{2})[ T]%s$" % (_YEAR, _CLOCK)
# Django reads "2 03:04:05.5" as 2 days, 3 hours, 4 minutes and 5.5 seconds; "04:05" would
# be minutes and seconds, which PostgreSQL reads otherwise: such cells go per cell.
_DURATION = (
    r"^(?:(?P<days>[0-9]{1,6}) )?(?P<hours>[0-9]{1,2}):(?P<minutes>[0-9]{2}):"
    r"(?P<seconds>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,6}))?$"
)
_MINUTE_US = 60_000_000
_DAY_US = 86_400_000_000


def _groups(text: pa.Array, pattern: str) -> dict[str, pa.Array]:
    """The named groups of ``pattern`` in ``text``: null where it does not match."""
    found = pc.extract_regex(text, pattern)
    valid = pc.is_valid(found)
    return {
        field.name: pc.if_else(valid, pc.struct_field(found, [index]), _STRING_NULL)
        for index, field in enumerate(found.type)
    }


def _join(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _clock(groups: dict[str, pa.Array]) -> pa.Array:
    """The clock of ``groups`` as ``time.isoformat()`` writes it: HH:MM:SS[.ffffff]."""
    second = groups["second"]
    second = pc.if_else(pc.equal(second, ""), "00", second)
    fraction = pc.utf8_rpad(groups["fraction"], width=6, padding="0")
    shown = pc.if_else(pc.equal(fraction, "000000"), "", _join(".", fraction))
    return _join(groups["hour"], ":", groups["minute"], ":", second, shown)


def real_dates(text: pa.Array) -> pa.Array:
    """The ISO 8601 dates of ``text`` as dates; null where none exists (2024-02-30)."""
    parsed = pc.cast(
        pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32()
    )
    # Arrow's strptime rolls 2024-02-30 over to March: keep only dates that print back as
    # given (a date's cast to text is ISO 8601, and far cheaper than strftime).
    same = pc.fill_null(pc.equal(pc.cast(parsed, pa.string()), text), False)
    return pc.if_else(same, parsed, None)


def cast_time(text: pa.Array) -> pa.Array:
    return _clock(_groups(text, _TIME))


def time_values(values: list[Any]) -> list[Any]:
    parse = datetime.time.fromisoformat
    return [None if value is None else parse(value) for value in values]


def time_text(value: Any) -> Any:
    return None if value is None else value.isoformat()


def native_time(cell: Any) -> Any:
    # A time cell of a spreadsheet (never aware): what the per-cell path keeps.
    if cell.__class__ is datetime.time and cell.tzinfo is None and not cell.fold:
        return cell.isoformat()
    return None


def cast_datetime(text: pa.Array) -> pa.Array:
    groups = _groups(text, _DATETIME)
    day = groups["date"]
    naive = _join(day, "T", _clock(groups))
    naive = pc.if_else(pc.is_valid(real_dates(day)), naive, _STRING_NULL)
    if not settings.USE_TZ:
        return naive
    return _with_offsets(naive, timezone.get_current_timezone())


def _with_offsets(naive: pa.Array, zone: Any) -> pa.Array:
    """``naive`` with the UTC offset ``zone`` gives each, as ``isoformat()`` writes it.

    Null where the per-cell path's value would not be certain: a wall-clock time that does
    not exist or is ambiguous in ``zone`` (the per-cell path explains it), or an offset that
    is not whole minutes (local mean times before 1900, written with seconds).
    """
    moments = pc.cast(naive, pa.timestamp("us"))
    distinct = pc.unique(moments)
    offsets: list[int | None] = []
    for moment in distinct.to_pylist():
        if moment is None:
            offsets.append(None)
            continue
        offset = zone.utcoffset(moment)
        if offset is None or offset != zone.utcoffset(moment.replace(fold=1)):
            offsets.append(None)
            continue
        microseconds = offset // datetime.timedelta(microseconds=1)
        offsets.append(microseconds // _MINUTE_US if microseconds % _MINUTE_US == 0 else None)
    minutes = pa.array(offsets, pa.int64()).take(pc.index_in(moments, value_set=distinct))
    size = pc.abs(minutes)
    hours = pc.divide(size, 60)
    two = {"width": 2, "padding": "0"}
    shown = _join(
        pc.if_else(pc.less(minutes, 0), "-", "+"),
        pc.utf8_lpad(pc.cast(hours, pa.string()), **two),
        ":",
        pc.utf8_lpad(pc.cast(pc.subtract(size, pc.multiply(hours, 60)), pa.string()), **two),
    )
    return _join(naive, shown)


def native_datetime(cell: Any) -> Any:
    # A date-time cell alone is never taken as it is: its offset is asked for the whole
    # column at once (native_datetimes), and a column of mixed cells goes per cell.
    return None


def native_datetimes(cells: list[Any], classes: set[type]) -> pa.Array | None:
    """The text of a column of naive date-time cells (or empty), as a spreadsheet gives it.

    None when another class is among them, or an aware or second-fold date-time (whose
    per-cell value keeps its own tzinfo or fold).
    """
    if classes != {datetime.datetime}:
        return None
    for cell in cells:
        if cell is not None and (cell.tzinfo is not None or cell.fold):
            return None
    moments = pa.array(cells, pa.timestamp("us"))
    # "2024-03-01 10:00:00.000000": a text of the kind's pattern, which cast_datetime
    # writes as the per-cell path's value (and nulls outside years 1000 to 9998).
    return cast_datetime(pc.cast(moments, pa.string()))


def datetime_values(values: list[Any]) -> list[Any]:
    parse = datetime.datetime.fromisoformat
    if not settings.USE_TZ:
        return [None if value is None else parse(value) for value in values]
    zone = timezone.get_current_timezone()
    return [None if value is None else parse(value).astimezone(zone) for value in values]


def datetime_text(value: Any) -> Any:
    if value is None:
        return None
    if value.tzinfo is not None and value.tzinfo is not timezone.get_current_timezone():
        # An offset given in the cell: its value keeps that offset, which the text of the
        # column's other values (in the current time zone) would lose.
        raise ValueError("a date-time in another time zone")
    return value.isoformat()


def cast_duration(text: pa.Array) -> pa.Array:
    groups = _groups(text, _DURATION)
    days = pc.cast(pc.if_else(pc.equal(groups["days"], ""), "0", groups["days"]), pa.int64())
    total = pc.multiply(days, _DAY_US)
    for name, unit in (("hours", 3600), ("minutes", 60), ("seconds", 1)):
        total = pc.add(total, pc.multiply(pc.cast(groups[name], pa.int64()), unit * 1_000_000))
    fraction = pc.utf8_rpad(groups["fraction"], width=6, padding="0")
    total = pc.add(total, pc.cast(fraction, pa.int64()))
    # Never negative (the pattern has no sign): a division truncating is timedelta's floor.
    whole_days = pc.divide(total, _DAY_US)
    rest = pc.subtract(total, pc.multiply(whole_days, _DAY_US))
    seconds = pc.divide(rest, 1_000_000)
    microseconds = pc.subtract(rest, pc.multiply(seconds, 1_000_000))
    return _join(
        pc.cast(whole_days, pa.string()),
        " days ",
        pc.cast(seconds, pa.string()),
        " seconds ",
        pc.cast(microseconds, pa.string()),
        " microseconds",
    )


def duration_values(values: list[Any]) -> list[Any]:
    found: list[Any] = []
    for value in values:
        if value is None:
            found.append(None)
            continue
        days, _d, seconds, _s, microseconds, _m = value.split(" ")
        found.append(
            datetime.timedelta(
                days=int(days), seconds=int(seconds), microseconds=int(microseconds)
            )
        )
    return found


def duration_text(value: Any) -> Any:
    if value is None:
        return None
    return "%d days %d seconds %d microseconds" % (value.days, value.seconds, value.microseconds)
