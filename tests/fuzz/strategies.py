"""Hypothesis strategies for the hostile inputs of issue 12, family by family."""

from hypothesis import strategies as st

from tests.fuzz.xlsx import Cell, column_letters, workbook_bytes

ENCODINGS = [
    "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "latin-1",
    "cp1251", "koi8-r", "shift_jis", "euc-jp", "gb18030", "big5", "iso-8859-7", "mac-roman",
    "cp437",
]  # fmt: skip
ENCODING_OPTIONS = [
    "auto", "utf-8", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-32", "hex", "base64",
    "zlib", "rot13", "bz2", "uu", "quopri", "undefined", "punycode", "idna", "unicode_escape",
    "raw_unicode_escape", "nonsense", "",
]  # fmt: skip
HEADERS = {
    "testapp.Book": [
        "isbn", "title", "author", "author__name", "price", "published", "in_stock", "pages",
        "rating", "genre", "website", "metadata", "uid", "notes", "created", "id",
    ],
    "testapp.Event": ["id", "name", "starts", "duration", "at", "attendees", "ref"],
}  # fmt: skip
HOSTILE_TEXT = [
    "", " ", "\t", "1", "0", "-1", "1.5", "1,5", "1e999999999", "1e2000000", "-1e999999",
    "9" * 100_000, "1E-999999999", "0x10", "NaN", "inf", "-Infinity", "1_000", "²", "١٢٣",
    "0001-01-01 00:00", "0001-01-01", "9999-12-31T23:59:59-05:00", "9999-12-31 23:59:59",
    "2024-02-30", "2024-03-31 02:30", "24:00", "25:61", "999999999 days",
    "-999999999 days, 0:00:00",
    "P1000000000D", "1 day", "00:00:00.0000001", "true", "FALSE", "yes", "x",
    "a\x00b", "\x00", "\x01\x02", "=1+1", "@SUM(A1)", "+1", "-cmd", '"', '""', "'", "\r", "\n",
    "\ufeff", "\u2028", "\ud7ff", "\ue000", "\U0001f600", "é" * 300, "{", '{"a": 1}', "[1, 2",
    "null", "00000000-0000-0000-0000-000000000000", "not-a-uuid", "http://", "ftp://x", "<b>x</b>",
    "#DIV/0!", "#N/A", "Ann", "111",
]  # fmt: skip
HOSTILE_NUMBERS = [
    0, 1, -1, 1.5, 1e308, -1e308, 1e-308, 5e-324, 2**63, -(2**63) - 1, 10**30, 2958465.9999999,
    2958466, -1, -693594, 60, 0.5, 1e16, 123456789012345678,
]  # fmt: skip
EXCEL_ERRORS = [
    "#NULL!",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#N/A",
    "#GETTING_DATA",
    "",
]


def text_cells():
    return st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=30))


@st.composite
def table(draw, model):
    known = HEADERS[model]
    headers = draw(
        st.lists(st.one_of(st.sampled_from(known), st.text(max_size=12)), min_size=1, max_size=8)
    )
    rows = draw(
        st.lists(
            st.lists(text_cells(), min_size=0, max_size=len(headers) + 2), min_size=0, max_size=12
        )
    )
    return [headers, *rows]


def _csv_text(rows, delimiter):
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


@st.composite
def mutations(draw, data):
    """Apply a few byte-level mutations to ``data``."""
    data = bytearray(data)
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            data += draw(st.binary(min_size=1, max_size=8))
            continue
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "repeat", "special"]))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "repeat":
            piece = data[at : at + draw(st.integers(1, 64))]
            data[at:at] = piece * draw(st.integers(1, 50))
        else:
            data[at:at] = draw(
                st.sampled_from(
                    [b"\x00", b'"', b"\r", b"\n", b"\xff\xfe", b"\xef\xbb\xbf", b"PK\x03\x04"]
                )
            )
    return bytes(data)


@st.composite
def csv_files(draw, model):
    rows = draw(table(model))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    encoding = draw(st.sampled_from(ENCODINGS))
    data = _csv_text(rows, delimiter).encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = draw(mutations(data))
    return data


@st.composite
def xlsx_cells(draw):
    kind = draw(
        st.sampled_from(["n", "s", "inlineStr", "str", "b", "e", "d", "date", "formula-error"])
    )
    if kind == "n":
        return Cell(repr(draw(st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.floats()))), "n")
    if kind == "date":  # a date-styled number: the reader turns it into a date
        return Cell(
            repr(draw(st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.floats()))), "n", style=1
        )
    if kind in ("s", "inlineStr", "str"):
        value = draw(text_cells())
        # XML cannot carry most control characters; Excel writes them as _xHHHH_.
        value = "".join(c if c >= " " or c in "\t\n\r" else "_x%04X_" % ord(c) for c in value)
        value = "".join(
            c for c in value if not 0xD800 <= ord(c) <= 0xDFFF and c not in "\ufffe\uffff"
        )
        return Cell(value, kind)
    if kind == "b":
        return Cell(draw(st.sampled_from(["0", "1", "2", "true", ""])), "b")
    if kind == "d":
        return Cell(
            draw(st.sampled_from(["2024-01-01T00:00:00", "0000-01-01", "99999-01-01", "x"])), "d"
        )
    error = draw(st.sampled_from(EXCEL_ERRORS))
    if kind == "formula-error":
        return Cell(error, "e", formula="1/0")
    return Cell(error, "e")


@st.composite
def xlsx_files(draw, model):
    headers = draw(st.lists(st.sampled_from(HEADERS[model]), min_size=1, max_size=6))
    rows = [headers] + draw(
        st.lists(st.lists(st.one_of(st.none(), xlsx_cells()), max_size=8), max_size=10)
    )
    options = {}
    lie = draw(
        st.sampled_from(
            [
                "none",
                "rows",
                "far-cell",
                "wide-cell",
                "strings",
                "dimension",
                "sheet-xml",
                "archive",
            ]
        )
    )
    if lie == "rows":
        numbers = sorted(
            draw(
                st.lists(
                    st.integers(1, 2**32 + 5), min_size=len(rows), max_size=len(rows), unique=True
                )
            )
        )
        options["row_numbers"] = numbers
    elif lie == "far-cell":
        row = draw(
            st.sampled_from([1_048_576, 1_048_577, 10_000_000, 4_294_967_295, 999_999, 200_000])
        )
        column = draw(st.sampled_from([1, 26, 27, 16_384, 16_385, 20_000]))
        rows.append([Cell("1", "n", ref="%s%d" % (column_letters(column), row))])
    elif lie == "wide-cell":
        rows.append(
            [
                Cell(
                    "1",
                    "n",
                    ref=draw(st.sampled_from(["XFD1048576", "XFE1", "AAAA1", "ZZ9", "A0", "a1"])),
                )
            ]
        )
    elif lie == "strings":
        options["declared_strings"] = draw(
            st.sampled_from([0, 5, 2_000_000_000, 18446744073709551615, 10**30, -1])
        )
    elif lie == "dimension":
        options["dimension"] = draw(
            st.sampled_from(["A1:XFD1048576", "A1:A1", "ZZZZ99999999", ""])
        )
    data = workbook_bytes(rows, **options)
    if lie == "sheet-xml":
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = {name: archive.read(name) for name in archive.namelist()}
        parts["xl/worksheets/sheet1.xml"] = draw(mutations(parts["xl/worksheets/sheet1.xml"]))
        data = workbook_bytes([], parts=parts)
    elif lie == "archive":
        data = draw(mutations(data))
    return data


@st.composite
def options(draw, model, kind):
    args = []
    headers = HEADERS[model]
    if draw(st.integers(0, 4)) == 0:
        args += ["--encoding", draw(st.sampled_from(ENCODING_OPTIONS))]
    if draw(st.integers(0, 5)) == 0:
        args += [
            "--delimiter",
            draw(st.sampled_from(["auto", ",", ";", "tab", "ab", "\\t", "\x00", '"'])),
        ]
    if kind == "xlsx" and draw(st.integers(0, 4)) == 0:
        args += [
            "--sheet",
            draw(st.sampled_from(["1", "0", "2", "-1", "Sheet1", "nope", "99999999999999999999"])),
        ]
    if draw(st.integers(0, 6)) == 0:
        args += ["--format", draw(st.sampled_from(["auto", "csv", "xlsx"]))]
    if draw(st.booleans()):
        args += ["--on-conflict", draw(st.sampled_from(["error", "skip", "update"]))]
    if draw(st.integers(0, 3)) == 0:
        args += ["--key", draw(st.sampled_from(headers + ["nope"]))]
    if draw(st.integers(0, 3)) == 0:
        args += [
            "--map",
            "%s=%s" % (draw(st.text(max_size=5)), draw(st.sampled_from(headers + ["x__y"]))),
        ]
    if draw(st.booleans()):
        args.append("--skip-invalid")
    if draw(st.integers(0, 3)) == 0:
        args.append("--dry-run")
    if draw(st.integers(0, 8)) == 0:
        args += [
            "--batch-size",
            draw(st.sampled_from(["1", "0", "-5", "x", "99999999999999999999"])),
        ]
    if draw(st.integers(0, 5)) == 0:
        args += ["--sink", draw(st.sampled_from(["auto", "bulk_create", "copy"]))]
    return args


@st.composite
def inputs(draw):
    """Return ``(kind, data, args, settings)`` for one run of ``bulk_import``."""
    model = draw(st.sampled_from(sorted(HEADERS)))
    kind = draw(st.sampled_from(["csv", "xlsx"]))
    data = draw(csv_files(model) if kind == "csv" else xlsx_files(model))
    readers = ["calamine", "openpyxl", "stream"]
    settings = {"BULK_ADMIN_XLSX_READER": draw(st.sampled_from(readers))}
    if draw(st.integers(0, 3)) == 0:
        settings["TIME_ZONE"] = draw(
            st.sampled_from(["UTC", "Pacific/Kiritimati", "America/New_York"])
        )
    if draw(st.integers(0, 5)) == 0:
        settings["USE_TZ"] = False
    return model, kind, data, draw(options(model, kind)), settings
