"""Which IAM Identity Center session to use, its endpoints, and how to sign it in again."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ekstrio import aws_config
from ekstrio.aws import endpoints
from ekstrio.aws.endpoints import Endpoint
from ekstrio.model import SessionChoice, SsoSession


def resolve(
    choice: SessionChoice | None = None, *, env: Mapping[str, str] | None = None
) -> tuple[aws_config.AwsConfig, SsoSession]:
    """Read the config and pick the session the flags name (see
    :func:`aws_config.resolve_session`).

    The returned config has ``profile`` chosen, so its ``endpoint_url``,
    ``services`` and ``ca_bundle`` are that profile's.
    """
    env = os.environ if env is None else env
    choice = choice or SessionChoice()
    cfg = aws_config.load(env=env).with_profile(choice.profile)
    session = aws_config.resolve_session(cfg, start_url=choice.start_url,
                                         sso_region=choice.sso_region,
                                         sso_session=choice.sso_session,
                                         profile=choice.profile, env=env)
    return cfg, session


def oidc_endpoint(session: SsoSession, cfg: aws_config.AwsConfig | None = None) -> Endpoint:
    return _endpoint("sso-oidc", session, cfg)


def portal_endpoint(session: SsoSession, cfg: aws_config.AwsConfig | None = None) -> Endpoint:
    return _endpoint("sso", session, cfg)


def _endpoint(service: str, session: SsoSession, cfg: aws_config.AwsConfig | None) -> Endpoint:
    if cfg is None:
        return endpoints.resolve(service, session.region)
    return endpoints.resolve(service, session.region, env=cfg.env,
                             config_endpoint_url=cfg.endpoint_url,
                             config_services=cfg.services)


def login_hint(session: SsoSession, *, profile: str | None = None) -> str:
    """The exact command that signs this session in again."""
    if session.name is not None:
        return f"ekstrio login --sso-session {session.name}"
    if profile:
        return f"ekstrio login --profile {profile}"
    return f"ekstrio login --start-url {session.start_url} --sso-region {session.region}"
