"""``ekstrio token`` as a cyclopts command, so that ``ekstrio token --help`` documents it.

kubectl never comes here: ``ekstrio.__main__`` routes ``ekstrio token ...`` (without --help) to
:mod:`ekstrio.token_fast` before cyclopts is imported. This function rebuilds the same argv and
delegates, so both paths run one implementation.
"""

from __future__ import annotations

from typing import Annotated

from cyclopts import Parameter


def token(
    *,
    cluster: Annotated[str, Parameter(help="EKS cluster name (the token's x-k8s-aws-id).")],
    region: Annotated[str, Parameter(help="The cluster's region; picks the STS host.")],
    account: Annotated[str, Parameter(help="AWS account id of the cluster.")],
    role: Annotated[str, Parameter(help="IAM Identity Center role (permission set) name.")],
    sso_session: Annotated[str | None, Parameter(
        help="[sso-session NAME] whose cached sign-in to use.")] = None,
    start_url: Annotated[str | None, Parameter(
        help="SSO start URL (when there is no sso-session name).")] = None,
    sso_region: Annotated[str | None, Parameter(help="Region of the SSO start URL.")] = None,
    cluster_id: Annotated[str | None, Parameter(
        help="Outposts local cluster id, signed instead of the name.")] = None,
    no_cache: Annotated[bool, Parameter(
        negative=(), help="Sign a new token even if a cached one is still valid.")] = False,
) -> int:
    """Print an ExecCredential with a k8s-aws-v1 token for kubectl (the exec plugin).

    The token is cached until a minute before it expires. Set EKSTRIO_STS_ENDPOINT_FOR_TOKENS
    only to verify tokens against the local emulator: real EKS rejects them.
    """
    from ekstrio.token_fast import main

    argv = ["--cluster", cluster, "--region", region, "--account", account, "--role", role]
    for flag, value in (("--sso-session", sso_session), ("--start-url", start_url),
                        ("--sso-region", sso_region), ("--cluster-id", cluster_id)):
        if value is not None:
            argv += [flag, value]
    if no_cache:
        argv.append("--no-cache")
    return main(argv)
