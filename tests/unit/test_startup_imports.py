"""What `ekstrio scan` imports before its first API call: modules only some runs need stay out.

Every scan pays its start-up CPU, so modules needed only by an option (``-o yaml``, ``--query``,
``--access``, ``--diff``), by a terminal (the progress line) or by a rare event (an SSO token
refresh) are imported when first used. This runs the real command in a fresh interpreter up to
the point where it needs a sign-in (none in the isolated home: exit 3, no network), and lists
what it imported.
"""

from __future__ import annotations

import os
import subprocess
import sys

# Module: the option or event that needs it (and what it cost on the scan path, CPU with
# bytecode cached, 2-core box, Python 3.11).
ON_FIRST_USE = {
    "yaml": "-o yaml (~15 ms with its C loader)",
    "jmespath": "--query (~2.5 ms)",
    "ekstrio.access": "--access, or a document with access in it (~10 ms with the next three)",
    "ekstrio.access_live": "--access live",
    "ekstrio.aws.eks_access": "--access",
    "ekstrio.aws.sts": "--access",
    "ekstrio.aws.oidc": "an SSO token refresh (~2.5 ms)",
    "ekstrio.scan_diff": "--diff (~2 ms)",
    "rich.progress": "the progress line, on a terminal only (~8 ms with rich.table, rich.live)",
}

PROBE = (
    "import sys\n"
    "from ekstrio.cli import run\n"
    "code = run(['scan', '-o', 'table', '--no-save', '--start-url',\n"
    "            'https://d-0000000000.awsapps.com/start', '--sso-region', 'us-east-1'])\n"
    "print(code, sorted(m for m in sys.argv[1:] if m in sys.modules))\n"
)


def test_a_plain_scan_imports_no_module_only_an_option_needs() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, *ON_FIRST_USE], env={**os.environ},
                          capture_output=True, text=True, check=False, timeout=120)
    assert "not signed in" in done.stderr, done.stderr  # it got as far as the sign-in
    assert done.stdout.strip() == "3 []", {
        module: ON_FIRST_USE.get(module) for module in done.stdout.split("[", 1)[-1]
        .strip("]\n").replace("'", "").split(", ") if module}
