"""``ekstrio token``: the exec plugin kubectl runs before every request.

It prints an ExecCredential holding a ``k8s-aws-v1.`` token and must cost almost nothing, so it
is routed here by ``ekstrio.__main__`` before cyclopts is imported, parses its own small argv
(:mod:`ekstrio.exec_plugin`) and imports only the standard library on the cached path:

* **cached**: the ExecCredential is kept per (cluster, region, account, role, SSO session) in a
  0600 file under ``$XDG_CACHE_HOME/ekstrio/tokens/`` (:mod:`ekstrio.exec_cache`) until one
  minute before it expires;
* **cold**: role credentials come from :mod:`ekstrio.token_credentials` (the AWS CLI's
  role-credential cache, else the portal's GetRoleCredentials over ``urllib``, with the
  requests, answers and errors of ``ekstrio.aws``); the token is then presigned by the pure
  SigV4 signer (:mod:`ekstrio.aws.eks_token`).

When sign-in is needed it prints ONE line on stderr naming the command to run and exits 3; bad
arguments print one line and exit 2. Tokens never appear on stderr.

``EKSTRIO_STS_ENDPOINT_FOR_TOKENS`` (tests and demos only) replaces the STS host inside the token
so that the local emulator can verify it; real EKS rejects such tokens, and
``AWS_ENDPOINT_URL_STS`` is deliberately ignored for that reason.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

from ekstrio import exec_cache
from ekstrio.errors import EkstrioError, ExitCode
from ekstrio.exec_plugin import exec_api_version, exec_credential, parse_args

# Every import here runs before each kubectl request: typing, dataclasses (which pulls in
# inspect), pathlib and contextlib cost a few ms each, so the cached path does without them and
# mypy reads this constant (it treats any name TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from ekstrio.exec_plugin import TokenArgs

# aws.eks_token.STS_OVERRIDE_ENV, spelled out: importing eks_token (and its signer) would cost
# the cached path; tests/unit/test_eks_token.py checks the two agree.
STS_OVERRIDE_ENV = "EKSTRIO_STS_ENDPOINT_FOR_TOKENS"


def cache_path(args: TokenArgs, env: Mapping[str, str]) -> str:
    """One file per identity; the STS override is part of the key so emulator tokens and real
    ones never share a file."""
    return exec_cache.entry_path({
        "cluster": args.cluster, "cluster_id": args.cluster_id, "region": args.region,
        "account": args.account_id, "role": args.role, "sso_session": args.sso_session,
        "start_url": args.start_url, "sso_region": args.sso_region,
        "sts": env.get(STS_OVERRIDE_ENV) or None,
    }, env)


def produce(args: TokenArgs, env: Mapping[str, str], now: datetime) -> tuple[str, datetime]:
    """A token and its expiry: from the cache when fresh, else newly signed (and cached)."""
    path = cache_path(args, env)
    if args.use_cache:
        hit = exec_cache.load_cached(path, now)
        if hit is not None:
            return hit
    from ekstrio.aws.eks_token import presign
    from ekstrio.token_credentials import role_credentials

    creds = role_credentials(args, env, now)
    signed = presign(creds, args.cluster_id or args.cluster, args.region,
                     endpoint_url=env.get(STS_OVERRIDE_ENV) or None)
    exec_cache.save_cached(path, signed.token, signed.expires_at,
                           args.sso_session or args.start_url)
    return signed.token, signed.expires_at


def main(argv: list[str]) -> int:
    """Run ``ekstrio token ARGS``: ExecCredential on stdout, one line on stderr on failure."""
    env = os.environ
    if {"-v", "-vv", "--verbose", "--debug"} & set(argv):
        from ekstrio import logs
        from ekstrio.aws import urllib_send

        verbosity, argv = logs.split_flags(argv)
        logs.configure(verbosity)
        urllib_send.debug_http = verbosity.http
    try:
        args = parse_args(argv)
        api_version, warning = exec_api_version(env)
        if warning:
            sys.stderr.write(warning + "\n")
        token, expires_at = produce(args, env, datetime.now(UTC))
    except EkstrioError as exc:
        text = str(exc)
        line = text if text.startswith("ekstrio") else f"ekstrio token: {text}"
        sys.stderr.write(line.splitlines()[0] if line else "ekstrio token: failed")
        sys.stderr.write("\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    sys.stdout.write(exec_credential(api_version, token, expires_at) + "\n")
    sys.stdout.flush()
    return ExitCode.OK
