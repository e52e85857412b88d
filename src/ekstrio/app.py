"""The cyclopts App: the command table, registered lazily (``cli`` runs it; ``completion``
lists it)."""

from __future__ import annotations

import importlib
from typing import Any

import cyclopts

from ekstrio import __version__

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
    "access": ("ekstrio.commands.access:access",
               "Check kubeconfig contexts live: can kubectl get in, and as whom?"),
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
