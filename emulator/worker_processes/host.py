"""Where worker processes reach the emulator: known only once it listens (port 0 picks one)."""

from __future__ import annotations

from collections.abc import Callable

from contract import env
from emulator.worker_processes.probe import WorkerInfo

WORKER_PREFIX = "/_worker"


class WorkerHost:
    def __init__(self) -> None:
        self.base_url: str | None = None
        self.info: dict[str, WorkerInfo] = {}
        """What the start-up probe learnt of each worker file (its SDK version)."""
        self._waiting: list[Callable[[], None]] = []

    def listening(self, host: str, port: int) -> None:
        """The emulator listens: workers connect over loopback (the worker routes accept nothing else)."""
        loopback = "[::1]" if ":" in host else "127.0.0.1"
        self.base_url = f"http://{loopback}:{port}"
        waiting, self._waiting = self._waiting, []
        for launch in waiting:
            launch()

    def when_listening(self, launch: Callable[[], None]) -> None:
        if self.base_url is not None:
            launch()
        else:
            self._waiting.append(launch)

    def worker_env(self, endpoint_id: str, worker_id: str, token: str) -> dict[str, str]:
        """The variables the SDK reads at import (runpod-python rp_job.py, rp_http.py, worker_state.py).

        The job-take URL must hold `/job-take/` (the SDK derives job-take-batch and job-stop from
        it) and a `?` (it appends `&job_in_progress=`); `$ID` in the output URLs becomes the job id.
        """
        assert self.base_url is not None
        base = f"{self.base_url}{WORKER_PREFIX}/{endpoint_id}"
        query = f"?token={token}"
        return {
            env.WEBHOOK_GET_JOB: f"{base}/job-take/{worker_id}{query}",
            env.WEBHOOK_POST_OUTPUT: f"{base}/job-done/{worker_id}/$ID{query}",
            env.WEBHOOK_POST_STREAM: f"{base}/job-stream/{worker_id}/$ID{query}",
            env.POD_ID: worker_id,
            # Offline: the SDK's outbound network check would fail and exit the worker.
            env.SKIP_AUTO_SYSTEM_CHECKS: "true",
            env.SKIP_GPU_CHECK: "true",
            "PYTHONUNBUFFERED": "1",
        }
