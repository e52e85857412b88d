"""The command line: the only place that turns results and errors into exit codes.

Each sub-command lives in ``ekstrio.commands.<name>`` and is registered lazily
(by import path, :mod:`ekstrio.app`), so ``ekstrio token`` and ``ekstrio --help`` import
only what they use. Command functions return an ``int`` exit code and raise
:class:`~ekstrio.errors.EkstrioError` for expected failures; :func:`main` maps
those to one line on stderr and the error's exit code.

Exit codes: :class:`~ekstrio.errors.ExitCode` (0 success; 1 finished with failures; 2 usage
or configuration; 3 authentication needed or denied; 130 interrupted).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import cyclopts

from ekstrio.app import COMMANDS, build_app
from ekstrio.errors import EkstrioError, ExitCode


def _say_error(text: str) -> None:
    # The CLI's one error line; stderr, never a traceback.
    sys.stderr.write(f"ekstrio: error: {text}\n")


def _first_ekstrio_error(exc: BaseException) -> BaseException:
    """The first EkstrioError (or KeyboardInterrupt) inside exception groups, else ``exc``.

    The one place groups are unwrapped. Every nursery (the scan's tree, the scan runtime's
    Ctrl-C watcher, the sign-in's loopback server, the access checks) raises what escapes it
    in a group, and nested nurseries nest groups; below this point a group keeps every
    failure, for a caller that wants them all (``except*``, ``pytest``'s ``group_contains``).
    Only here is one needed: one error line and one exit code. A group with no EkstrioError
    in it is a bug and is re-raised whole, traceback and all.
    """
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _first_ekstrio_error(inner)
            if isinstance(found, EkstrioError | KeyboardInterrupt):
                return found
    return exc


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, and return its exit code."""
    from ekstrio import logs

    verbosity, tokens = logs.split_flags(list(sys.argv[1:] if argv is None else argv))
    logs.configure(verbosity)
    try:
        command = tokens[0] if tokens and tokens[0] in COMMANDS else None
        if command == "scan":
            from ekstrio.commands.scan import bare_access_flag

            tokens = bare_access_flag(tokens)
        elif command == "profiles":
            from ekstrio.commands.profiles import old_spelling

            tokens = old_spelling(tokens)
        result = build_app(command)(
            tokens,
            result_action="return_value",
            exit_on_error=False,
            print_error=False,
        )
    except cyclopts.CycloptsError as exc:
        _say_error(str(exc).strip().splitlines()[0])
        return ExitCode.USAGE
    except KeyboardInterrupt:
        sys.stderr.write("ekstrio: interrupted\n")
        return ExitCode.INTERRUPTED
    except BaseException as exc:
        found = _first_ekstrio_error(exc)
        if isinstance(found, KeyboardInterrupt):
            sys.stderr.write("ekstrio: interrupted\n")
            return ExitCode.INTERRUPTED
        if isinstance(found, EkstrioError):
            _say_error(str(found))
            return found.exit_code
        raise
    if result is None:
        return ExitCode.OK
    if isinstance(result, bool) or not isinstance(result, int):
        return ExitCode.OK
    return result


def main(argv: Sequence[str] | None = None) -> None:
    sys.exit(run(argv))
