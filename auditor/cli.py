"""The `twilio-audit` command: a thin typer app; each subcommand lives in auditor/commands/.

main() turns every AuditorError (and every refused path, files.FileRefused) into
one line on stderr and its exit code (2 for bad input, 3 for an incomplete
--strict audit) and Ctrl-C into exit 130: a user never sees a traceback for a
problem they can fix. Anything else is a bug: exit 4 (never 1, which means
"findings"), one line saying so, and the traceback in a crash report file.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import sys

import typer

from auditor import __version__
from auditor.commands import (
    audit,
    check,
    collect,
    demo,
    diff,
    history,
    report,
    rules,
    scan,
    watch,
)
from auditor.crash import scrub, write_crash_report
from auditor.errors import AuditorError
from auditor.files import FileRefused
from auditor.text import visible


def _exception_classes(name: str) -> tuple[type[BaseException], ...]:
    """Every copy of a click exception class: typer >= 0.29 vendors click as typer._click
    (and no longer installs click), older typer raises click's own classes."""
    found: list[type[BaseException]] = []
    for module_name in ("typer.exceptions", "typer._click.exceptions", "click.exceptions"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException) and cls not in found:
            found.append(cls)
    return tuple(found)


_ABORT = _exception_classes("Abort")
_USAGE = _exception_classes("ClickException")
_EXIT = _exception_classes("Exit")
_INTERRUPT: tuple[type[BaseException], ...] = (*_ABORT, KeyboardInterrupt)

EXIT_BUG = 4
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="twilio-audit",
    help=(
        "Audit a Twilio account hierarchy for caller IDs Twilio will refuse "
        "(error 13214: Dial callerId neither owned nor verified by the executing account). "
        "Read-only: only GET requests are ever sent.\n\n"
        "Exit codes: 0 clean; 1 findings at or above --fail-on; 2 usage, credential or input "
        "error (one line says what to fix); 3 incomplete audit with --strict; 4 a bug in "
        "twilio-audit (one line names the crash report written); 130 interrupted."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

for _module in (audit, collect, report, diff, history, check, scan, rules, demo, watch):
    app.command(name=_module.NAME, help=_module.HELP)(_module.run)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"twilio-audit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Audit a Twilio account hierarchy for caller IDs Twilio will refuse."""


def error_line(exc: BaseException) -> str:
    """The one line for an input error: no secrets, no control characters, no newline."""
    return "twilio-audit: error: " + visible(scrub(str(exc)))


def entry() -> None:
    """The `twilio-audit` console script and `python -m auditor`: `main` in its own process.

    When the process ends, the interpreter's last full collection would walk every object
    a run left (a million records: half a second) to free memory the exit frees anyway;
    frozen at exit, it does not (atexit runs before that collection).
    """
    atexit.register(gc.freeze)
    main()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit 0 clean, 1 findings, 2 input error, 3 incomplete, 4 bug, 130 Ctrl-C."""
    try:
        rc = app(args=argv, standalone_mode=False)
    except AuditorError as exc:
        print(error_line(exc), file=sys.stderr)
        sys.exit(exc.exit_code)
    except FileRefused as exc:
        print(error_line(exc), file=sys.stderr)
        sys.exit(2)
    except _INTERRUPT:
        print("twilio-audit: interrupted; no partial file was written", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except _USAGE as exc:
        exc.show()  # type: ignore[attr-defined]
        sys.exit(2)
    except _EXIT as exc:
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except Exception as exc:
        _bug(exc, argv)
    sys.exit(rc if isinstance(rc, int) else 0)


def _bug(exc: BaseException, argv: list[str] | None) -> None:
    """Exit 4 with one line naming the crash report (the traceback is in there)."""
    path = write_crash_report(exc, argv)
    where = (
        f"crash report written to {path}"
        if path is not None
        else "no crash report could be written"
    )
    print(
        f"twilio-audit: internal error ({type(exc).__name__}): this is a bug in twilio-audit; "
        f"{visible(str(where))}; please attach it to a bug report",
        file=sys.stderr,
    )
    sys.exit(EXIT_BUG)
