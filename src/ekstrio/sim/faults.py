"""Fault injection for portal and EKS data calls: 500/503 answers, hangs and dropped connections."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ekstrio.sim.messages import Response, rest_json_error


@dataclass(frozen=True)
class FaultPlan:
    fault_rate: float
    hang_rate: float
    reset_rate: float

    @property
    def active(self) -> bool:
        return self.fault_rate + self.hang_rate + self.reset_rate > 0

    def draw(self, rng: random.Random) -> str | None:
        """"hang", "reset", "fault" or None (answer normally), with the configured odds."""
        if not self.active:
            return None
        x = rng.random()
        if x < self.hang_rate:
            return "hang"
        x -= self.hang_rate
        if x < self.reset_rate:
            return "reset"
        x -= self.reset_rate
        if x < self.fault_rate:
            return "fault"
        return None


def server_fault(api: str, rng: random.Random) -> Response:
    """A 500 or a 503 in the shape of the service that failed."""
    if api == "portal":
        # The portal models no 5xx shapes; AWS's front end answers a bare rest-json error.
        if rng.random() < 0.5:
            return rest_json_error(500, "InternalServerException", "Internal server error",
                                   api=api)
        return rest_json_error(503, "ServiceUnavailableException", "Service unavailable",
                               api=api)
    if rng.random() < 0.5:
        return rest_json_error(500, "ServerException", "An internal error occurred", api=api)
    return rest_json_error(503, "ServiceUnavailableException",
                           "The service is unavailable. Try again later.", api=api)


RESET = Response(200, b"", (), reset=True)
