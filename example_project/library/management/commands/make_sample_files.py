"""Write sample files to import into the library demo.

    python manage.py make_sample_files               # the small files
    python manage.py make_sample_files --rows 1000000  # plus books_big.csv, for trying COPY

Files are deterministic for a given --seed. They reference each other: import authors.csv first,
then any of the books files (their "Author" column holds an author's name).
"""

import csv
import datetime
import random
import time
import unicodedata
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

HEADER = ["ISBN", "Title", "Author", "Price", "Published", "In stock", "Pages"]

FIRST_NAMES = [
    "Ada", "Amélie", "Björn", "Chiara", "Dmitri", "Élodie", "Farah", "Gustav", "Hiroshi",
    "Inés", "Jonas", "Kateřina", "Lars", "Maëlle", "Nikolaj", "Óscar", "Priya", "Rosa",
    "Søren", "Thabo", "Ulrike", "Václav", "Wen", "Zoë",
]  # fmt: skip
LAST_NAMES = [
    "Abara", "Bergström", "Castaño", "Dvořák", "Eriksen", "Fontaine", "García", "Håkansson",
    "Ibáñez", "Jansen", "Kowalczyk", "Lefèvre", "Müller", "Nørgaard", "O'Brien", "Pérez",
    "Quintero", "Rossi", "Schröder", "Tanaka", "Urquhart", "Vasquez", "Weiß", "Yilmaz",
]  # fmt: skip
COUNTRIES = [
    "Brazil", "Czechia", "Denmark", "France", "Germany", "Italy", "Japan", "Norway",
    "Poland", "South Africa", "Spain", "Sweden", "Türkiye", "United Kingdom",
]  # fmt: skip
ADJECTIVES = [
    "Silent", "Crimson", "Forgotten", "Endless", "Hidden", "Golden", "Broken", "Distant",
    "Quiet", "Burning", "Frozen", "Wandering", "Last", "Secret", "Bitter", "Luminous",
]  # fmt: skip
NOUNS = [
    "River", "Garden", "Winter", "Harbour", "Orchard", "Lighthouse", "Archive", "Mountain",
    "Summer", "Library", "Station", "Forest", "Island", "Letter", "Bridge", "Season",
]  # fmt: skip
# Titles of the cp1252 file: every accent here (and the euro sign, 0x80 in cp1252) must encode.
CP1252_TITLES = [
    "Œuvres complètes", "Café au lait à 3 €", "Señor Muñoz y la niña", "Über die Brücke",
    "Ælfric's Ærende", "Déjà vu à Besançon", "Smørrebrød für alle", "Señales del año",
    "Naïve façade", "Crème brûlée", "Straße nach Süden", "Fjäll och sjö",
]  # fmt: skip

# For e-mail addresses: what NFKD does not take apart.
ASCII = str.maketrans({" ": ".", "'": None, "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe"})
N_AUTHORS = 40
N_BOOKS = 200
BIG_ISBN_OFFSET = 100_000_000  # books_big.csv can have up to 899,999,999 rows.


def isbn13(prefix, number):
    """Return a valid ISBN-13 made of a 3-digit prefix, a 9-digit number and its check digit."""
    digits = f"{prefix}{number:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


class Command(BaseCommand):
    help = "Write sample CSV and XLSX files for the library demo into sample_files/generated/."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output-dir",
            type=Path,
            default=Path(settings.BASE_DIR) / "sample_files" / "generated",
            help="Where to write the files (default: sample_files/generated/).",
        )
        parser.add_argument(
            "--rows",
            type=int,
            default=0,
            help="Also write books_big.csv with this many rows (streamed; memory stays flat).",
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default: 1).")

    def handle(self, *args, output_dir, rows, seed, **options):
        if not 0 <= rows <= 999_999_999 - BIG_ISBN_OFFSET:
            raise CommandError(f"--rows must be between 0 and {999_999_999 - BIG_ISBN_OFFSET:,}.")
        output_dir.mkdir(parents=True, exist_ok=True)
        self.rng = random.Random(seed)
        authors = self.make_authors()
        books = [self.make_book(isbn13(978, i), authors) for i in range(1, N_BOOKS + 1)]

        self.write_csv(output_dir / "authors.csv", ["name", "email", "country"], authors)
        self.write_csv(output_dir / "books.csv", HEADER, books)
        self.write_xlsx(output_dir / "books.xlsx", books)
        self.write_errors(output_dir / "books_with_errors.csv", authors)
        self.write_cp1252(output_dir / "books_cp1252.csv", authors)
        if rows:
            self.write_big(output_dir / "books_big.csv", rows, authors)

    def done(self, path, rows, note=""):
        self.stdout.write(f"  {path}  ({rows} rows{note})")

    # Data.

    def make_authors(self):
        names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
        authors = []
        for name in self.rng.sample(names, N_AUTHORS):
            login = unicodedata.normalize("NFKD", name.lower().translate(ASCII))
            email = login.encode("ascii", "ignore").decode() + "@example.com"
            authors.append([name, email, self.rng.choice(COUNTRIES)])
        return authors

    def make_book(self, isbn, authors, title=None):
        rng = self.rng
        return [
            isbn,
            title or f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}",
            rng.choice(authors)[0],
            Decimal(rng.randrange(299, 9999)) / 100,
            datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(27_000)),
            rng.random() < 0.8,
            rng.randrange(48, 1200) if rng.random() < 0.9 else None,
        ]

    @staticmethod
    def encodes(text, encoding):
        try:
            text.encode(encoding)
        except UnicodeEncodeError:
            return False
        return True

    @staticmethod
    def as_text(row):
        """Return a books row as CSV text: ISO dates, True/False, an empty cell for None."""
        return ["" if value is None else str(value) for value in row]

    # Files.

    def write_csv(self, path, header, rows):
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(self.as_text(row) for row in rows)
        self.done(path, len(rows))

    def write_xlsx(self, path, books):
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Books")
        sheet.append(HEADER)
        formats = {3: "#,##0.00", 4: "yyyy-mm-dd"}
        for book in books:
            cells = []
            for column, value in enumerate(book):
                cell = WriteOnlyCell(sheet, value=value)
                if column in formats:
                    cell.number_format = formats[column]
                cells.append(cell)
            sheet.append(cells)
        workbook.save(path)
        self.done(path, len(books), ", typed cells: dates, numbers, booleans")

    def write_errors(self, path, authors):
        """Write mostly good rows with a few that the import must reject, row by row."""
        good = [self.make_book(isbn13(979, i), authors) for i in range(1, 21)]
        bad = [
            # (row to change, column, value, what is wrong)
            (2, 4, "2021-02-30", "no such date"),
            (4, 4, "next Tuesday", "not a date"),
            (6, 2, "Nobody Atall", "unknown author"),
            (8, 2, "J. R. R. Unknown", "unknown author"),
            (10, 0, "97800000000001", "ISBN longer than 13 characters"),
            (12, 0, good[0][0], "same ISBN as row 2"),
            (14, 3, "twelve", "not a number"),
            (16, 1, "", "empty title"),
        ]
        rows = [self.as_text(row) for row in good]
        for index, column, value, _ in bad:
            rows[index][column] = value
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(HEADER)
            writer.writerows(rows)
        self.done(path, len(rows), f", {len(bad)} bad")
        for index, column, value, problem in bad:
            # Spreadsheet rows: the header is row 1.
            self.stdout.write(f"      row {index + 2}, {HEADER[column]} {value!r}: {problem}")

    def write_cp1252(self, path, authors):
        """Write a semicolon-delimited cp1252 file, as a spreadsheet on Windows would."""
        authors = [author for author in authors if self.encodes(author[0], "cp1252")]
        books = [
            self.make_book(isbn13(979, 1000 + i), authors, title=title)
            for i, title in enumerate(CP1252_TITLES)
        ]
        with path.open("w", encoding="cp1252", newline="") as f:
            writer = csv.writer(f, delimiter=";")
            writer.writerow(HEADER)
            writer.writerows(self.as_text(row) for row in books)
        self.done(path, len(books), ", cp1252, ';'-delimited")

    def write_big(self, path, rows, authors):
        """Stream `rows` books to a CSV file, one row at a time: memory stays flat."""
        names = [author[0] for author in authors]
        rng = self.rng
        start = time.monotonic()
        # No ISBN collides with books.csv (978...) or the error and cp1252 files (979 0...).
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(HEADER)
            for i in range(1, rows + 1):
                writer.writerow(
                    (
                        isbn13(979, BIG_ISBN_OFFSET + i),
                        f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {i}",
                        names[i % len(names)],
                        f"{rng.randrange(299, 9999) / 100:.2f}",
                        (
                            datetime.date(1950, 1, 1)
                            + datetime.timedelta(days=rng.randrange(27_000))
                        ).isoformat(),
                        "True" if i % 5 else "False",
                        rng.randrange(48, 1200) if i % 10 else "",
                    )
                )
                if i % 1_000_000 == 0:
                    self.stdout.write(f"    {i:,} rows ...")
        size = path.stat().st_size / 1_000_000
        note = f", {size:,.0f} MB in {time.monotonic() - start:.1f} s"
        self.done(path, rows, note)
