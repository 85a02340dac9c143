"""`podbench` entry point: one subcommand per module in podbench.commands.

Each command module defines `HELP: str`, `configure(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any, NoReturn

from contract.target import MissingApiKey
from podbench import __version__
from podbench.errors import CliError

DESCRIPTION = "Load tests, rate-limit discovery and conformance checks for RunPod-style serverless endpoints."
COMMANDS = (
    "demo",
    "emulate",
    "conform",
    "load",
    "limits",
    "report",
    "compare",
    "verify",
    "capacity",
    "simulate",
    "trace",
)


# A value given after one of these flags is never echoed back (it may be a secret typed by mistake).
_SECRET_FLAG = re.compile(r"(--?[\w-]*(?:key|token|secret|password)(?:[\s=]+))(?!-)\S+", re.IGNORECASE)


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error; podbench answers bad usage with one clear line and exit 2.

    Abbreviations are off: with them `--api-key SECRET` silently meant `--api-key-env SECRET`,
    and the key went into the manifest as a variable name.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        unknown = "unrecognized arguments: "
        if message.startswith(unknown):
            # A value of an unknown flag may be a key typed by mistake: name the flags only.
            flags = [
                word.split("=", 1)[0] for word in message[len(unknown) :].split() if word.startswith("-")
            ]
            message = unknown + (
                " ".join(flags) + " (values not shown)" if flags else "extra values (not shown)"
            )
        else:
            message = _SECRET_FLAG.sub(r"\1<redacted>", message)
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _command_modules(names: Sequence[str] = COMMANDS) -> dict[str, ModuleType]:
    modules: dict[str, ModuleType] = {}
    for name in names:
        try:
            modules[name] = importlib.import_module(f"podbench.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"podbench.commands.{name}":
                raise
    return modules


def build_parser(only: str | None = None) -> tuple[OneLineParser, dict[str, ModuleType]]:
    """The parser of every command, or with `only` of that one command: a command's module imports
    what the command runs (Locust, pandas, the emulator...), ~0.4 s for all of them at each start."""
    parser = OneLineParser(prog="podbench", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"podbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    modules = _command_modules(COMMANDS if only is None else (only,))
    for name, module in modules.items():
        command_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(command_parser)
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else list(argv)
    # `podbench COMMAND ...` needs that command's module only; anything else (no command, an
    # option first, an unknown command) gets the full parser, whose help and errors list them all
    parser, modules = build_parser(given[0] if given and given[0] in COMMANDS else None)
    args = parser.parse_args(given)
    if not args.command:
        parser.print_help()
        return 2
    try:
        code: int = modules[args.command].run(args)
    except CliError as exc:
        print(f"podbench {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except MissingApiKey as exc:  # bad usage: the named variable holds no key
        print(f"podbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"podbench {args.command}: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
