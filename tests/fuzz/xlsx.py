"""Write XLSX workbooks part by part: typed cells, styles, and the lies a hostile file tells."""

import io
import zipfile
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="%s" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>' % MAIN
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
# Style 0: general; style 1: a date (built-in number format 14).
STYLES = (
    '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="%s">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>" % MAIN
)


def column_letters(number):
    """1 -> A, 27 -> AA."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class Cell:
    """One ``<c>``: ``kind`` is n (number), s (shared string), str, inlineStr, b, e or d."""

    def __init__(self, value, kind="inlineStr", style=None, formula=None, ref=None):
        self.value, self.kind, self.style, self.formula, self.ref = (
            value,
            kind,
            style,
            formula,
            ref,
        )

    def xml(self, ref, strings):
        attributes = ' r="%s"' % (self.ref or ref)
        if self.kind != "n":
            attributes += ' t="%s"' % self.kind
        if self.style is not None:
            attributes += ' s="%d"' % self.style
        inner = "<f>%s</f>" % escape(self.formula) if self.formula else ""
        if self.kind == "inlineStr":
            inner += "<is><t>%s</t></is>" % escape(str(self.value))
        elif self.kind == "s":
            strings.append(str(self.value))
            inner += "<v>%d</v>" % (len(strings) - 1)
        elif self.value is not None:
            inner += "<v>%s</v>" % escape(str(self.value))
        return "<c%s>%s</c>" % (attributes, inner)


def cell(value):
    """A cell as openpyxl would write ``value``: numbers typed, text shared, None absent."""
    if value is None or isinstance(value, Cell):
        return value
    if isinstance(value, bool):
        return Cell(int(value), "b")
    if isinstance(value, (int, float)):
        return Cell(repr(value), "n")
    return Cell(value, "s")


def sheet_xml(rows, row_numbers=None, dimension=None):
    strings = []
    parts = []
    for index, row in enumerate(rows):
        number = row_numbers[index] if row_numbers else index + 1
        cells = []
        for column, value in enumerate(row, start=1):
            value = cell(value)
            if value is not None:
                cells.append(value.xml("%s%d" % (column_letters(column), number), strings))
        parts.append('<row r="%s">%s</row>' % (number, "".join(cells)))
    dimension = '<dimension ref="%s"/>' % dimension if dimension else ""
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="%s">%s<sheetData>%s</sheetData></worksheet>'
        % (
            MAIN,
            dimension,
            "".join(parts),
        )
    )
    return xml, strings


def shared_strings_xml(strings, declared=None):
    count = len(strings) if declared is None else declared
    items = "".join("<si><t>%s</t></si>" % escape(text) for text in strings)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="%s" count="%s" uniqueCount="%s">%s</sst>'
        % (
            MAIN,
            count,
            count,
            items,
        )
    )


def workbook_bytes(
    rows, *, row_numbers=None, declared_strings=None, dimension=None, sheet=None, parts=None
):
    """Return the bytes of an XLSX workbook with ``rows`` (values or :class:`Cell`).

    ``sheet`` replaces the sheet's XML, ``parts`` adds or replaces parts by name,
    ``declared_strings`` is the count the shared-strings part claims.
    """
    xml, strings = sheet_xml(rows, row_numbers, dimension)
    contents = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": WORKBOOK,
        "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
        "xl/styles.xml": STYLES,
        "xl/worksheets/sheet1.xml": sheet if sheet is not None else xml,
        "xl/sharedStrings.xml": shared_strings_xml(strings, declared_strings),
    }
    contents.update(parts or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data.encode() if isinstance(data, str) else data)
    return buffer.getvalue()
