"""Console entry point.

``ekstrio token`` is what kubectl runs before every request, so it must not pay
for importing cyclopts, rich, httpx2 or trio: it is routed to a lean parser
before anything else is imported.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["token"] and not {"-h", "--help"} & set(argv):
        from ekstrio.token_fast import main as token_main

        sys.exit(token_main(argv[1:]))
    from ekstrio.cli import main as cli_main

    cli_main(argv)


if __name__ == "__main__":
    main()
