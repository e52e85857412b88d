"""The role credentials of one account during a scan, fetched at most once per role."""

from __future__ import annotations

import trio

from ekstrio.errors import EkstrioError
from ekstrio.model import RoleCredentials
from ekstrio.scan_api import ScanApi
from ekstrio.scan_failures import EXPECTED, token_refused


class AccountCredentials:
    """Role credentials of one account, fetched at most once per role (single-flight).

    Regions of an account start together and may all fall back to the same next
    role; without this they would each call GetRoleCredentials for it. ``renew`` replaces
    cached credentials that EKS no longer accepts, once per role, for every region.
    """

    def __init__(self, api: ScanApi, account_id: str, login_hint: str) -> None:
        self._api = api
        self._account_id = account_id
        self._login_hint = login_hint
        self._done: dict[tuple[str, bool], trio.Event] = {}
        self._value: dict[tuple[str, bool], RoleCredentials | EkstrioError] = {}

    async def get(self, role: str) -> RoleCredentials | EkstrioError:
        renewed = self._value.get((role, True))
        if isinstance(renewed, RoleCredentials):
            return renewed
        return await self._fetch(role, fresh=False)

    async def renew(self, role: str) -> RoleCredentials | EkstrioError:
        return await self._fetch(role, fresh=True)

    def from_cache(self, creds: RoleCredentials) -> bool:
        return bool(self._api.from_cache(creds))

    def cached_roles(self) -> list[str]:
        """Roles whose current credentials came from a cache."""
        return [role for (role, fresh), value in self._value.items()
                if not fresh and isinstance(value, RoleCredentials) and self.from_cache(value)]

    async def _fetch(self, role: str, *, fresh: bool) -> RoleCredentials | EkstrioError:
        key = (role, fresh)
        while True:
            event = self._done.get(key)
            if event is None:
                event = self._done[key] = trio.Event()
                try:
                    self._value[key] = await self._api.credentials(
                        self._account_id, role, fresh=fresh)
                except EXPECTED as exc:
                    if (refused := token_refused(exc, self._login_hint)) is not None:
                        raise refused from exc
                    self._value[key] = exc
                finally:
                    if key not in self._value:
                        # Cancelled mid-fetch: let a later caller try again.
                        del self._done[key]
                    event.set()
            elif not event.is_set():
                # Another region of the account is fetching it. Done already is the common
                # case (every region after the first), and Event.wait on a set event would
                # still yield to the scheduler once per region.
                await event.wait()
            if key in self._value:
                return self._value[key]
