"""The public routes the emulator serves, from the operations of `contract.operations`.

`ROUTES` groups each operation's methods by path under `/v2/{endpoint_id}`; the route table
(`emulator.app`) is built from it, and the rate-limit gate (`emulator.limits`) admits by
`Route.operation`. Nothing here restates the API: names, methods and paths come from the contract.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract.operations import ALL, NAMES, Operation

V2 = "/v2/{endpoint_id}"
# aiohttp tries the resources under /v2 one after another, in the order they were added: the
# busiest operations go first, so the common request matches on its first or second try.
BUSIEST_FIRST = ("run", "status", "health")


@dataclass(frozen=True)
class Route:
    operation: str  # the name the rate-limit gate and its `[endpoint.limits.NAME]` tables use
    methods: tuple[str, ...]
    path: str  # relative to /v2/{endpoint_id}/, as contract.operations writes it

    @property
    def full_path(self) -> str:
        return f"{V2}/{self.path}"


def _routes(operation: Operation) -> list[Route]:
    methods_by_path: dict[str, list[str]] = {}
    for route in operation.routes:
        methods_by_path.setdefault(route.path, []).append(route.method)
    return [Route(operation.name, tuple(methods), path) for path, methods in methods_by_path.items()]


def _rank(operation: Operation) -> int:
    return BUSIEST_FIRST.index(operation.name) if operation.name in BUSIEST_FIRST else len(BUSIEST_FIRST)


ROUTES: tuple[Route, ...] = tuple(route for op in sorted(ALL, key=_rank) for route in _routes(op))
OPERATIONS: tuple[str, ...] = NAMES
"""Every operation once, in the documentation's order."""
