"""Which endpoint a run talks to, and what result files may say about it.

The API key is never a field: a Target names the environment variable that holds it, so the key
travels from the environment to the request (and to child processes' environments) only, and
`describe()` -- what result files and reports show -- says where it came from, never what it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from contract.operations import operation


class MissingApiKey(LookupError):
    """The environment variable a Target names holds no key; the message says which to set."""


@dataclass(frozen=True)
class Target:
    base_url: str
    """Ends in /v2 for RunPod; operations live at {base_url}/{endpoint_id}/{path}."""
    endpoint_id: str
    api_key_env: str
    """The environment variable that holds the API key."""
    embedded: bool
    """True for an emulator started by podbench itself."""
    admin_url: str | None = None
    """The emulator's control API root (…/_emulator); None for real targets."""

    def api_key(self, environ: Mapping[str, str] | None = None) -> str:
        key = (os.environ if environ is None else environ).get(self.api_key_env, "")
        if not key:
            raise MissingApiKey(f"no API key: set the environment variable {self.api_key_env}")
        return key

    def url(self, operation_name: str, job_id: str = "") -> str:
        """The URL of an operation (`status` needs a job id)."""
        return operation(operation_name).url(self.base_url, self.endpoint_id, job_id)

    def describe(self) -> dict[str, object]:
        """What result files may say about the target: no key, only where it came from."""
        return {
            "base_url": self.base_url,
            "endpoint_id": self.endpoint_id,
            "api_key": f"<from ${self.api_key_env}, redacted>",
            "embedded_emulator": self.embedded,
        }
