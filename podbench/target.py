"""The command-line side of a target (`contract.target.Target`): its flags and environment.

The key is read from the environment only (never argv) and handed to children through their
environment, under the variable named by `api_key_env`. It never appears in `describe()`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from urllib.parse import urlsplit

from contract import env
from contract.target import MissingApiKey, Target
from podbench.errors import UsageError

DEFAULT_KEY_ENV = env.API_KEY
BASE_URL_ENV = env.ENDPOINT_BASE_URL
ENDPOINT_ID_ENV = env.ENDPOINT_ID
__all__ = ["DEFAULT_KEY_ENV", "MissingApiKey", "Target", "add_target_arguments", "real_target_from_args"]


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("target (default: the embedded emulator)")
    group.add_argument(
        "--target-url",
        help=f"base URL of a real endpoint API, e.g. https://api.runpod.ai/v2 (or ${BASE_URL_ENV})",
    )
    group.add_argument("--endpoint-id", help=f"endpoint id (or ${ENDPOINT_ID_ENV})")
    group.add_argument(
        "--api-key-env",
        default=DEFAULT_KEY_ENV,
        metavar="VAR",
        help=f"environment variable that holds the API key (default {DEFAULT_KEY_ENV}); "
        "keys are never taken from the command line",
    )


def validate_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"bad target URL {url!r}: expected http(s)://host[:port]/path")
    return url.rstrip("/")


def real_target_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> Target | None:
    """The real target named by flags or environment, or None for the embedded emulator."""
    url = args.target_url or environ.get(BASE_URL_ENV)
    if not url:
        if args.endpoint_id:
            raise UsageError("--endpoint-id needs --target-url (or $RUNPOD_ENDPOINT_BASE_URL)")
        return None
    endpoint_id = args.endpoint_id or environ.get(ENDPOINT_ID_ENV)
    if not endpoint_id:
        raise UsageError(f"a real target needs --endpoint-id (or ${ENDPOINT_ID_ENV})")
    target = Target(validate_base_url(url), endpoint_id, args.api_key_env, embedded=False)
    try:
        target.api_key(environ)
    except MissingApiKey as exc:
        raise UsageError(str(exc)) from None
    return target
