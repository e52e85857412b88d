"""The one error tree of ekstrio.

Every error that ekstrio raises on purpose derives from :class:`EkstrioError`;
foreign errors (httpx2, botocore, OSError, yaml) are translated at the module
boundary with ``raise ... from exc``. The CLI maps each branch to an exit code::

    EkstrioError
    ├── UsageError            bad flags or options                      exit 2
    ├── ConfigError           ~/.aws/config, presets, kubeconfig input  exit 2
    ├── AuthError             sign-in needed, expired or denied         exit 3
    ├── AwsError              an AWS API answered with an error         (data in a scan)
    │   ├── ThrottlingError       429 / throttling codes       retryable
    │   ├── ServerError           5xx                           retryable
    │   ├── AccessDeniedError     403, AccessDeniedException, 401 UnauthorizedException
    │   ├── NotFoundError         404, ResourceNotFoundException
    │   ├── InvalidRequestError   400 InvalidRequest / InvalidParameter / ClientException
    │   └── OidcError             SSO OIDC {"error": ...} answers (pending, slow_down, ...)
    ├── TransportError        connection refused/reset, TLS, protocol   retryable
    │   ├── CallTimeoutError      one call took longer than its budget  retryable
    │   └── ResponseTooLargeError an answer past the body cap (MAX_BODY) not retried
    └── FileWriteError        a user's file could not be written safely exit 1

Messages never contain tokens, keys or secrets.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit statuses of every command (the CLI and the ``token`` fast path)."""

    OK = 0
    PARTIAL = 1  # finished, with failures (a scan's results are still printed)
    USAGE = 2  # bad flags, options or configuration
    AUTH = 3  # sign-in needed, expired or denied
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    BROKEN_PIPE = 141  # 128 + SIGPIPE, as a tool killed by SIGPIPE would report


class EkstrioError(Exception):
    """Root of every error ekstrio raises on purpose."""

    exit_code: int = ExitCode.PARTIAL


class UsageError(EkstrioError):
    """Command-line flags or options are wrong."""

    exit_code = ExitCode.USAGE


class ConfigError(EkstrioError):
    """A configuration file or preset is missing, malformed or inconsistent."""

    exit_code = ExitCode.USAGE


class AuthError(EkstrioError):
    """Sign-in is needed, has expired, or was denied. The message says what to run."""

    exit_code = ExitCode.AUTH


class AwsError(EkstrioError):
    """An AWS API answered with an error.

    ``code`` is the AWS error code (``AccessDeniedException``), ``status`` the
    HTTP status, ``request_id`` AWS's ``x-amzn-RequestId`` when it sent one.
    """

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        status: int = 0,
        request_id: str | None = None,
        service: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.service = service
        self.retry_after = retry_after
        text = f"{service + ': ' if service else ''}{code}"
        if message:
            text += f": {message}"
        if status:
            text += f" (HTTP {status})"
        super().__init__(text)


class ThrottlingError(AwsError):
    """The service throttled the call (429 or a throttling error code)."""


class ServerError(AwsError):
    """The service failed (5xx); retryable."""


class AccessDeniedError(AwsError):
    """The caller is not allowed (403 AccessDenied, 401 Unauthorized, invalid token)."""


class NotFoundError(AwsError):
    """The resource does not exist (404)."""


class InvalidRequestError(AwsError):
    """The request was malformed or a parameter was invalid (400)."""


class OidcError(AwsError):
    """SSO OIDC answered ``{"error": ..., "error_description": ...}``."""


class TransportError(EkstrioError):
    """The HTTP exchange itself failed: connection refused or reset, TLS, protocol."""


class CallTimeoutError(TransportError):
    """One call took longer than its time budget."""


class ResponseTooLargeError(TransportError):
    """An answer was larger than ekstrio reads (``aws.http_client.MAX_BODY``): a broken or
    hostile endpoint. Not retried: the same endpoint would send the same again."""


class FileWriteError(EkstrioError):
    """A user's file could not be written safely; the old file is untouched."""
