"""``ekstrio completion SHELL``: print a shell completion script (cyclopts generates it)."""

from __future__ import annotations

import sys
from typing import Literal

Shell = Literal["bash", "zsh", "fish"]


def completion(shell: Shell, /) -> int:
    """Print the completion script for SHELL (bash, zsh or fish) on stdout.

    Load it once per shell session, or save it where your shell looks for completions:

        eval "$(ekstrio completion bash)"                  # ~/.bashrc
        ekstrio completion zsh > ~/.zfunc/_ekstrio          # with fpath+=~/.zfunc in ~/.zshrc
        ekstrio completion fish > ~/.config/fish/completions/ekstrio.fish

    Parameters
    ----------
    shell
        bash, zsh or fish.
    """
    from ekstrio.app import build_app

    # The script lists every command's flags, so build the whole CLI (commands stay lazy:
    # cyclopts reads their signatures, nothing runs).
    sys.stdout.write(build_app().generate_completion(prog_name="ekstrio", shell=shell))
    return 0
