"""The sim's OIDC and portal handlers as plain functions, on a fake clock."""

from __future__ import annotations

import json
from typing import Any

from ekstrio.sim import oidc, portal
from ekstrio.sim.messages import Request, Response
from ekstrio.sim.options import SimOptions
from ekstrio.sim.org import generate
from ekstrio.sim.state import SimState


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def make_state(**options: Any) -> tuple[SimState, Clock]:
    opts = SimOptions(accounts=3, regions=("eu-west-1",), clusters=3, **options).validated()
    clock = Clock()
    state = SimState(opts, generate(opts), clock=clock)
    state.endpoint = "http://127.0.0.1:9"
    return state, clock


def post(handler: Any, state: SimState, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    resp: Response = handler(state, Request.build("POST", "/", "/", "", {},
                                                  json.dumps(body).encode()))
    return resp.status, json.loads(resp.body or b"{}")


def register(state: SimState, **extra: Any) -> dict[str, str]:
    status, reg = post(oidc.register_client, state,
                       {"clientName": "t", "clientType": "public", **extra})
    assert status == 200
    return {"clientId": reg["clientId"], "clientSecret": reg["clientSecret"]}


def device(state: SimState, ids: dict[str, str]) -> dict[str, Any]:
    status, dev = post(oidc.start_device_authorization, state,
                       {**ids, "startUrl": state.org.start_url})
    assert status == 200
    return dev


def poll(state: SimState, ids: dict[str, str], dev: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return post(oidc.create_token, state, {**ids, "deviceCode": dev["deviceCode"],
                                           "grantType": oidc.GRANT_DEVICE})


def test_polling_at_the_interval_is_pending_faster_is_slow_down() -> None:
    state, clock = make_state(device_interval=5)
    ids = register(state)
    dev = device(state, ids)
    assert poll(state, ids, dev)[1]["error"] == "authorization_pending"
    clock.now += 4.9
    assert poll(state, ids, dev)[1]["error"] == "slow_down"
    clock.now += 5
    assert poll(state, ids, dev)[1]["error"] == "authorization_pending"
    assert oidc.approve(state, dev["userCode"])
    status, tok = poll(state, ids, dev)
    assert status == 200
    assert "refreshToken" not in tok  # registered without scopes: a legacy client


def test_device_code_expires() -> None:
    state, clock = make_state(device_code_ttl=60)
    ids = register(state)
    dev = device(state, ids)
    clock.now += 61
    assert not oidc.approve(state, dev["userCode"])
    status, err = poll(state, ids, dev)
    assert (status, err["error"]) == (400, "expired_token")


def test_auto_approve_answers_the_first_poll() -> None:
    state, _ = make_state(auto_approve=True)
    ids = register(state, scopes=["sso:account:access"])
    status, tok = poll(state, ids, device(state, ids))
    assert status == 200
    assert tok["refreshToken"]


def test_tokens_expire_and_refresh_tokens_too() -> None:
    state, clock = make_state(auto_approve=True, token_ttl=100, refresh_ttl=1000)
    ids = register(state, scopes=["sso:account:access"])
    _, tok = poll(state, ids, device(state, ids))
    assert tok["expiresIn"] == 100
    assert state.token_valid(tok["accessToken"])
    clock.now += 101
    assert not state.token_valid(tok["accessToken"])
    req = Request.build("GET", "/assignment/accounts", "/assignment/accounts", "",
                        {portal.TOKEN_HEADER: tok["accessToken"]})
    assert isinstance(portal.authorized(state, req), Response)
    status, new = post(oidc.create_token, state, {**ids, "grantType": "refresh_token",
                                                  "refreshToken": tok["refreshToken"]})
    assert status == 200
    assert state.token_valid(new["accessToken"])
    clock.now += 1000
    status, err = post(oidc.create_token, state, {**ids, "grantType": "refresh_token",
                                                  "refreshToken": tok["refreshToken"]})
    assert (status, err["error"]) == (400, "expired_token")


def test_client_registration_expires() -> None:
    state, clock = make_state(client_ttl=10)
    ids = register(state)
    clock.now += 11
    status, err = post(oidc.start_device_authorization, state,
                       {**ids, "startUrl": state.org.start_url})
    assert (status, err["error"]) == (401, "invalid_client")


def test_redirect_uris_must_be_loopback() -> None:
    state, _ = make_state()
    status, err = post(oidc.register_client, state, {
        "clientName": "t", "clientType": "public", "grantTypes": ["authorization_code"],
        "redirectUris": ["https://evil.example/cb"]})
    assert (status, err["error"]) == (400, "invalid_redirect_uri")
