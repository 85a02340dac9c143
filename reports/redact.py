"""Last line of defence against secrets in a report: producers redact, this redacts again."""

from __future__ import annotations

import re
from typing import Any

SECRET_KEYS = re.compile(r"key|token|secret|password|authorization", re.IGNORECASE)
ALREADY_REDACTED = re.compile(r"^<.*redacted>$")
PATTERNS = (
    (re.compile(r"(?i)(authorization\s*[:=]\s*[\"']?)(bearer\s+)?[^\s\"',}]+"), r"\1\2<redacted>"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1<redacted>"),
    (re.compile(r"\brpa_[A-Za-z0-9]{8,}"), "<redacted>"),
    (
        re.compile(r"(?i)([\"']?(?:api[_-]?key|token|secret)[\"']?\s*[:=]\s*[\"']?)(?!<)[^\s\"',}]+"),
        r"\1<redacted>",
    ),
)


def redact_text(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_mapping(data: dict[str, Any]) -> dict[str, Any]:
    """A copy where any secret-looking field that is not already redacted says <redacted>."""
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            clean[key] = redact_mapping(value)
        elif isinstance(value, str) and SECRET_KEYS.search(key) and not ALREADY_REDACTED.match(value):
            clean[key] = "<redacted>"
        elif isinstance(value, str):
            clean[key] = redact_text(value)
        else:
            clean[key] = value
    return clean
