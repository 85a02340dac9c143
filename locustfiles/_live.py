"""The live view (`podbench load --web`): Locust's own web UI plus a "podbench" tab.

Locust's UI shows its own charts, request stats and stop button. The tab adds what Locust
cannot know: each operation's scheduled sends against the offered rate (achieved/offered),
its follow-up calls apart, 429s, connection errors (no reply), late and dropped sends. The rows
come from the merged per-second counters, so they trail the run by the drain interval (about
2 s; 3 s with workers). Locust's documented hooks are used: `extended_tabs`/`extended_tables`
template args and an `extended_stats` entry added to `/stats/requests`.

The stop button ends the whole run: the runtime is told (`stop_requested`) and stops it as it
stops any run, and the result folder is written as for any run cut short.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request

from locustfiles._metrics import Aggregator, follow_up, is_follow_up
from locustfiles._plan import OPERATIONS, Plan

TAB = "podbench"
COLUMNS = (
    ("row", "Row"),
    ("kind", "Kind"),
    ("offered", "Offered/s"),
    ("achieved", "Achieved/s"),
    ("ratio", "Achieved/offered"),
    ("requests", "Requests"),
    ("limited", "429s"),
    ("errors", "Errors (not 429)"),
    ("timeouts", "Timeouts"),
    ("noreply", "No reply"),
    ("late", "Late sends"),
    ("dropped", "Dropped sends"),
)
"""Single-word keys: the UI camel-cases table keys, and these stay as they are."""


def live_rows(plan: Plan, agg: Aggregator) -> list[dict[str, Any]]:
    """One row per operation (scheduled sends) and per follow-up row, over the seconds merged so far."""
    if agg.started is None or agg.latest is None:
        return []
    covered = min(max(agg.latest + 1 - agg.started, 1e-3), plan.duration_s)
    names = [op for op in OPERATIONS if op in agg.totals or plan.offered(op, 0.0, covered) > 0]
    names += [follow_up(op) for op in OPERATIONS if follow_up(op) in agg.totals]
    rows = []
    for name in names:
        counts = agg.total(name)
        requests = counts["requests"]
        scheduled = not is_follow_up(name)
        offered = plan.offered(name, 0.0, covered) / covered if scheduled else None
        achieved = requests / covered
        rows.append(
            {
                "row": name.replace("_follow_up", " follow-ups"),
                "kind": "scheduled" if scheduled else "follow-up (not scheduled)",
                "offered": "" if offered is None else round(offered, 2),
                "achieved": round(achieved, 2),
                "ratio": f"{achieved / offered:.1%}" if offered else "",
                "requests": requests,
                "limited": counts["rate_limited"],
                "errors": counts["failures"] - counts["rate_limited"],
                "timeouts": counts["timeouts"],
                "noreply": counts["code:0"] - counts["timeouts"],
                "late": counts["late_sends"] if scheduled else "",
                "dropped": counts["dropped_sends"] if scheduled else "",
            }
        )
    return rows


def attach(web_ui: Any, plan: Plan, agg: Aggregator, stop_requested: Callable[[str], None]) -> None:
    """Add the podbench tab to Locust's web UI and route its stop button to the runtime."""
    web_ui.template_args["extended_tabs"] = [{"title": "podbench rates", "key": TAB}]
    web_ui.template_args["extended_tables"] = [
        {"key": TAB, "structure": [{"key": key, "title": title} for key, title in COLUMNS]}
    ]
    app = web_ui.app

    @app.before_request  # type: ignore[untyped-decorator]
    def _stop_button() -> Response | None:
        # Answered here, not by Locust's own /stop: that one tells workers "stop", which
        # unregisters them, so they would never get the "quit" that ends their processes.
        # The runtime ends the run its usual way (workers stop and ship their last counts).
        if request.method == "POST" and request.path.rstrip("/").endswith("/stop"):
            stop_requested("stop button pressed in the web UI")
            return jsonify({"success": True, "message": "Test stopped; podbench is writing the results"})
        return None

    @app.after_request  # type: ignore[untyped-decorator]
    def _with_podbench_rows(response: Response) -> Response:
        if request.path.rstrip("/").endswith("/stats/requests") and response.is_json:
            data = response.get_json()
            data["extended_stats"] = [{"key": TAB, "data": live_rows(plan, agg)}]
            response.set_data(json.dumps(data))
        return response
