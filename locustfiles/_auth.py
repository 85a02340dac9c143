"""Where requests go and how they authenticate: endpoint id and the key, from the environment only."""

from __future__ import annotations

import os

from contract import env
from locustfiles._plan import Plan

ENDPOINT_ID_ENV = env.ENDPOINT_ID


def endpoint_id(plan: Plan) -> str:
    return plan.endpoint_id or os.environ.get(ENDPOINT_ID_ENV, "") or "podbench"


def auth_headers(plan: Plan, *, json_body: bool = False) -> dict[str, str]:
    """Headers for every call; the key is read from the variable the plan names, never from argv."""
    headers: dict[str, str] = {}  # every header costs geventhttpclient CPU on every request
    key = os.environ.get(plan.api_key_env, "")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if json_body:
        headers["Content-Type"] = "application/json"
    return headers
