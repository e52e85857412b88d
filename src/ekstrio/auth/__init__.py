"""Signing in to IAM Identity Center, one job per module.

- :mod:`.session`: which SSO session the flags, environment and ``~/.aws/config`` name, and
  its endpoints;
- :mod:`.provider`: the session's access token, refreshed inside botocore's windows;
- :mod:`.sign_in` (shared), :mod:`.pkce` (authorization code + PKCE, with the loopback
  server of :mod:`.loopback`) and :mod:`.device` (device code): ``ekstrio login``;
- :mod:`.logout`: ``ekstrio logout``.

Prompts go to the ``stderr`` stream passed in; nothing here prints a secret.
"""
