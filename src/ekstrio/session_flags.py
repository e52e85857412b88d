"""The four session flags of ``login``, ``logout``, ``scan`` and ``kubeconfig``, declared once.

``--profile``, ``--sso-session``, ``--start-url`` and ``--sso-region`` pick the IAM Identity
Center session (:class:`~ekstrio.model.SessionChoice` below the CLI). Each is one
``Annotated`` type with its help text and help group, and a command lists the four as plain
keyword parameters of these types, named ``profile``, ``sso_session``, ``start_url`` and
``sso_region``. Why not one dataclass flattened into each command (``Parameter(name="*")``):
cyclopts' config sources (``config.toml`` keys, ``EKSTRIO_*`` variables, see
:mod:`ekstrio.user_config`) bind to a command's own parameter names, and did not reach the
fields of a flattened dataclass. Plain parameters keep them bound; the types keep one
declaration.

``ekstrio token`` (kubectl's exec plugin, its own argv in :mod:`ekstrio.token_fast`) names a
cached sign-in, reads no AWS config and has no ``--profile``: it does not use these.
"""

from __future__ import annotations

from typing import Annotated

from cyclopts import Group, Parameter

SESSION = Group("Session", sort_key=1)

Profile = Annotated[str | None, Parameter(
    group=SESSION,
    help="AWS config profile whose SSO settings to use (default: AWS_PROFILE, else the only "
    "sso-session).")]
SsoSession = Annotated[str | None, Parameter(
    group=SESSION, help="Name of an [sso-session NAME] section in ~/.aws/config.")]
StartUrl = Annotated[str | None, Parameter(
    group=SESSION,
    help="IAM Identity Center start URL, without any config file (needs --sso-region).")]
SsoRegion = Annotated[str | None, Parameter(
    group=SESSION, help="Region of IAM Identity Center, with --start-url.")]
