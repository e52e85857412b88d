"""What a failed call means to a scan: pure classification of errors, and error records.

The Transport has already retried what can be retried; what reaches the scan is one of the
``EXPECTED`` errors, and these rules decide whether it is the region being off, the
credentials being refused, the SSO token being refused, or a plain failure to report.
"""

from __future__ import annotations

from ekstrio.errors import AccessDeniedError, AuthError, AwsError, EkstrioError, TransportError
from ekstrio.model import Account
from ekstrio.scan_records import ScanError, Stage

# What a failed remote call looks like once the transport has given up on it.
EXPECTED = (AwsError, TransportError)

# EKS answers a region the account has not opted into with 403 and one of these:
# the credentials are unknown there. Not a failure: the region is skipped.
_REGION_DISABLED_CODES = frozenset(
    {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidClientTokenIdException"}
)


# The credentials themselves were refused: renew them, do not try the next role.
STALE_CODES = frozenset({"ExpiredTokenException", "ExpiredToken", "InvalidSignatureException"})


def token_refused(exc: BaseException, hint: str = "ekstrio login") -> AuthError | None:
    """An AuthError when the portal refused the SSO token itself (401 Unauthorized).

    That is no failure of one account: every other portal call will fail the same way,
    so the scan stops at once with the exit status that says "sign in again".
    """
    if isinstance(exc, AwsError) and exc.service in ("sso", "") and (
        exc.status == 401 or exc.code == "UnauthorizedException"
    ):
        return AuthError(f"the SSO token was refused ({exc.code}); run: {hint}")
    return None


def any_denial(exc: BaseException, hint: str = "ekstrio login") -> AuthError | None:
    # ListAccounts has no per-account meaning: any denial there is about the token.
    if isinstance(exc, AccessDeniedError):
        return AuthError(f"the SSO token was refused ({exc.code}); run: {hint}")
    return None


def is_region_not_enabled(exc: BaseException) -> bool:
    if not isinstance(exc, AwsError):
        return False
    return exc.code in _REGION_DISABLED_CODES or (
        exc.status == 403 and "security token included in the request is invalid" in exc.message
    )


def error_record(
    account: Account | None,
    region: str | None,
    role: str | None,
    stage: Stage,
    exc: EkstrioError,
) -> ScanError:
    code = exc.code if isinstance(exc, AwsError) else type(exc).__name__
    message = exc.message if isinstance(exc, AwsError) else str(exc)
    return ScanError(
        account_id=account.account_id if account else None,
        account_name=account.name if account else None,
        region=region,
        role=role,
        stage=stage,
        code=code,
        message=message or str(exc),
    )
