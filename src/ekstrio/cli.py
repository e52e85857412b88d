"""The command line: the only place that turns results and errors into exit codes.

Each sub-command lives in ``ekstrio.commands.<name>`` and is registered lazily
(by import path), so ``ekstrio token`` and ``ekstrio --help`` import only what
they use. Command functions return an ``int`` exit code and raise
:class:`~ekstrio.errors.EkstrioError` for expected failures; :func:`main` maps
those to one line on stderr and the error's exit code.

Exit codes: :class:`~ekstrio.errors.ExitCode` (0 success; 1 finished with failures; 2 usage
or configuration; 3 authentication needed or denied; 130 interrupted).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import cyclopts

from ekstrio import __version__
from ekstrio.errors import EkstrioError, ExitCode

# name: (import path, one-line summary for `ekstrio --help`). Commands are registered by
# import path so that a run imports only the command it runs; that one command is registered
# as the real function, so `ekstrio COMMAND --help` shows its whole docstring.
COMMANDS: dict[str, tuple[str, str]] = {
    "login": ("ekstrio.commands.login:login",
              "Sign in to IAM Identity Center and cache the token like the AWS CLI does."),
    "logout": ("ekstrio.commands.login:logout",
               "Sign out: revoke the SSO token and remove cached tokens and credentials."),
    "scan": ("ekstrio.commands.scan:scan",
             "Find every EKS cluster in every account, role and region you can reach."),
    "kubeconfig": ("ekstrio.commands.kubeconfig:kubeconfig",
                   "Write kubeconfig contexts for the clusters of the last scan."),
    "token": ("ekstrio.commands.token:token",
              "Print an ExecCredential for kubectl (the exec plugin)."),
    "profiles": ("ekstrio.commands.profiles:profiles",
                 "Write AWS config profiles for every account and role."),
    "presets": ("ekstrio.commands.presets:presets", "List the presets and their values."),
    "demo": ("ekstrio.commands.demo:demo",
             "Run a scan against a local emulated AWS organisation, end to end."),
    "sim": ("ekstrio.commands.sim:app",
            "The local AWS emulator (SSO, OIDC, EKS, STS) for tests and demos."),
    "config": ("ekstrio.commands.config:config",
               "Show the defaults in effect (config file, EKSTRIO_* variables) and their source."),
    "completion": ("ekstrio.commands.completion:completion",
                   "Print a shell completion script (bash, zsh or fish)."),
}


def build_app(command: str | None = None) -> cyclopts.App:
    """The CLI, with ``command`` (the one about to run) imported and the others lazy."""
    app = cyclopts.App(
        name="ekstrio",
        version=__version__,
        help="Find every EKS cluster you can reach through IAM Identity Center (AWS SSO), "
        "across every account, role and region, and write kubeconfig for them.\n\n"
        "Every command also takes -v (progress events), -vv (debug) and --debug (also one "
        "line per HTTP call, secrets redacted), logged on stderr with UTC timestamps.",
    )
    from ekstrio import user_config

    if command in user_config.CONFIGURED:
        user_config.check_file(user_config.config_path())
    sources = user_config.sources()
    for name, (target, summary) in COMMANDS.items():
        # Defaults from EKSTRIO_* and config.toml reach only the commands that document them.
        options: dict[str, Any] = {"config": sources} if name in user_config.CONFIGURED else {}
        if name == command:
            module, attribute = target.split(":")
            app.command(getattr(importlib.import_module(module), attribute), name=name,
                        **options)
        else:
            app.command(target, name=name, help=summary, **options)
    return app


def _say_error(text: str) -> None:
    # The CLI's one error line; stderr, never a traceback.
    sys.stderr.write(f"ekstrio: error: {text}\n")


def _first_ekstrio_error(exc: BaseException) -> BaseException:
    """Unwrap exception groups once: the first EkstrioError inside, else the group."""
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
