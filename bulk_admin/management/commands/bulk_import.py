"""``manage.py bulk_import MODEL FILE``: the import engine from a shell or a script."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from bulk_admin.exceptions import BulkAdminError
from bulk_admin.importer import Importer, ImportOptions
from bulk_admin.mapping import parse_map_options
from bulk_admin.results import ErrorSpool, ImportResult, RowError, format_summary
from bulk_admin.sources import text_encoding

EXIT_INVALID = 1
EXIT_CANNOT_RUN = 2


class Command(BaseCommand):
    help = (
        "Import a CSV or XLSX file into a model (app_label.ModelName): COPY on PostgreSQL, "
        "bulk_create elsewhere. Exit status 0: done; 1: invalid rows, nothing written; "
        "2: the import cannot run."
    )
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        # Option mistakes exit 2 with one line on stderr, like every other "cannot run".
        def error(message: str) -> None:
            raise CommandError(message, returncode=EXIT_CANNOT_RUN)

        parser.error = error  # type: ignore[method-assign]
        return parser

    def run_from_argv(self, argv: list[str]) -> None:
        try:
            super().run_from_argv(argv)
        except CommandError as exc:
            # Raised by the parser, before BaseCommand.run_from_argv handles CommandError.
            self.stderr.write("CommandError: %s" % exc)
            sys.exit(exc.returncode)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model", help="app_label.ModelName")
        parser.add_argument("file", help="CSV or XLSX file")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help="Map a column to a field (repeatable); fk__field looks a foreign key up.",
        )
        parser.add_argument("--sheet", help="XLSX sheet name or 1-based number")
        parser.add_argument("--format", default="auto", choices=["auto", "csv", "xlsx"])
        parser.add_argument("--encoding", default="auto", help="auto or a codec name")
        parser.add_argument("--delimiter", default="auto", help="auto or one character")
        parser.add_argument(
            "--on-conflict",
            default="error",
            choices=["error", "skip", "update"],
            dest="on_conflict",
        )
        parser.add_argument(
            "--key", action="append", default=[], metavar="FIELD", help="Key field (repeatable)"
        )
        parser.add_argument("--skip-invalid", action="store_true", dest="skip_invalid")
        parser.add_argument("--dry-run", action="store_true", dest="dry_run")
        parser.add_argument(
            "--batch-size", type=int, dest="batch_size", help="Rows per bulk_create batch"
        )
        parser.add_argument(
            "--sink",
            default="auto",
            choices=["auto", "copy", "bulk_create"],
            help="How rows are written",
        )
        parser.add_argument(
            "--null",
            action="append",
            default=[],
            metavar="TEXT",
            dest="null_values",
            help="A cell equal to TEXT (after trimming) is empty, in every column (repeatable)",
        )
        parser.add_argument(
            "--date-format",
            action="append",
            default=[],
            metavar="FORMAT",
            dest="date_formats",
            help="strptime format of date cells, tried after ISO 8601 (repeatable)",
        )
        parser.add_argument(
            "--datetime-format",
            action="append",
            default=[],
            metavar="FORMAT",
            dest="datetime_formats",
            help="strptime format of date-and-time cells (repeatable)",
        )
        parser.add_argument(
            "--decimal-separator", metavar="CHAR", dest="decimal_separator", default=None
        )
        parser.add_argument(
            "--thousands-separator", metavar="CHAR", dest="thousands_separator", default=None
        )
        parser.add_argument(
            "--true", action="append", default=[], metavar="WORD", dest="true_values"
        )
        parser.add_argument(
            "--false", action="append", default=[], metavar="WORD", dest="false_values"
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object on stdout")
        parser.add_argument("--database", help="Database alias (default: the router's)")

    def handle(self, *args: Any, **options: Any) -> None:
        self._spool = ErrorSpool()
        try:
            result = self._import(options)
        except CommandError as exc:
            raise CommandError(_one_line(str(exc)), returncode=EXIT_CANNOT_RUN) from None
        except BulkAdminError as exc:
            raise CommandError(_one_line(str(exc)), returncode=EXIT_CANNOT_RUN) from None
        except DatabaseError as exc:
            raise CommandError(
                _one_line("The database cannot be used: %s" % exc), returncode=EXIT_CANNOT_RUN
            ) from None
        except Exception as exc:
            # The transaction rolled back; the user gets one line, never a traceback.
            raise CommandError(
                _one_line(
                    "The import stopped on an unexpected error, so nothing was written "
                    "(%s: %s). Please report it." % (exc.__class__.__name__, exc)
                ),
                returncode=EXIT_CANNOT_RUN,
            ) from exc
        errors: Iterable[RowError] = result.errors
        if result.errors_truncated:
            errors = self._spool.read()  # every error, in the order found
        if options["json"]:
            self._write_json(result, errors)
        else:
            self._write_report(result, errors)
        for hint in result.hints:
            self.stderr.write("hint: %s (%s)" % (hint.message, hint.command_option()))
        self._spool.close()
        if result.invalid and not options["skip_invalid"]:
            sys.exit(EXIT_INVALID)

    def _import(self, options: dict[str, Any]) -> ImportResult:
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be a positive number.")
        if options["encoding"] not in ("auto", ""):
            text_encoding(options["encoding"])  # a codec such as hex or rot13 is refused here
        import_options = ImportOptions(
            mapping=parse_map_options(options["map"]) if options["map"] else None,
            on_conflict=options["on_conflict"],
            keys=options["key"] or None,
            skip_invalid=options["skip_invalid"],
            dry_run=options["dry_run"],
            batch_size=options["batch_size"],
            sink=options["sink"],
            database=options["database"],
            format=options["format"],
            encoding=options["encoding"],
            delimiter=options["delimiter"],
            sheet=options["sheet"],
            null_values=options["null_values"],
            date_formats=options["date_formats"],
            datetime_formats=options["datetime_formats"],
            decimal_separator=options["decimal_separator"],
            thousands_separator=options["thousands_separator"],
            true_values=options["true_values"],
            false_values=options["false_values"],
            # Errors past the first ones go to a file as they are found: an import whose
            # every row is invalid runs in flat memory, and every error is still printed.
            max_errors=_ERRORS_IN_MEMORY,
            on_errors=self._spool.write,
        )
        return Importer(options["model"], options["file"], import_options).run()

    def _write_json(self, result: ImportResult, errors: Iterable[RowError]) -> None:
        # One JSON object on one line, written piece by piece: the errors are streamed.
        data = result.as_dict()
        data.pop("errors")
        mapping = data.pop("mapping")
        head = json.dumps(data, ensure_ascii=False, default=str)[:-1]
        self.stdout.write(head + ', "errors": [', ending="")
        for index, error in enumerate(errors):
            text = json.dumps(error.as_dict(), ensure_ascii=False, default=str)
            self.stdout.write(text if not index else ", " + text, ending="")
        self.stdout.write('], "mapping": %s}' % json.dumps(mapping, ensure_ascii=False))

    def _write_report(self, result: ImportResult, errors: Iterable[RowError]) -> None:
        for error in errors:
            where = "row %s" % error.row if error.row is not None else "file"
            if error.column:
                where += ", column %s" % error.column
            self.stderr.write("%s: %s" % (where, error.message))
        style = self.style.SUCCESS if not result.invalid else self.style.WARNING
        self.stdout.write(style(format_summary(result)))


# Errors kept in memory, sorted by row and column; beyond them, every error is streamed.
_ERRORS_IN_MEMORY = 10_000


def _one_line(message: str) -> str:
    return " ".join(message.split())[:2000]
