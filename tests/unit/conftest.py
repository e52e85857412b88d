"""Fixtures of the aws/ wire-layer tests (respx): a router on the test module's ``BASE`` URL
and a one-shot Transport over a respx-mocked client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx
from wire_fakes import make_transport, respx_client

from ekstrio.aws.transport import Transport


@pytest.fixture
def router(request: pytest.FixtureRequest) -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=request.module.BASE, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    async with respx_client() as client:
        yield make_transport(client)
