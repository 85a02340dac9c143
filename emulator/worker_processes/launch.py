"""Run one unmodified RunPod worker file, as `python PATH` would, under the emulator's care.

This file is executed BY PATH (not imported) with the user's own interpreter (`worker_python`),
which need not have podbench installed: standard library only.

    python launch.py run   --parent-pid PID PATH   # the SDK's own worker loop (env set by the emulator)
    python launch.py probe PATH                    # import PATH with `runpod.serverless.start` replaced,
                                                   # print one JSON line, exit 0 (ok) or 1 (error)

`run` ties the worker's life to the emulator's: on Linux the kernel sends SIGKILL when the parent
dies (PR_SET_PDEATHSIG), and a watchdog thread exits as soon as the parent pid changes (covers
the race before prctl and other systems).
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
import threading
import time
from typing import Any

PR_SET_PDEATHSIG = 1


class _Started(BaseException):
    """Raised by the probe's stand-in for `runpod.serverless.start` (a BaseException, so a worker's
    own `except Exception` around start() cannot swallow it)."""


def _as_script(path: str) -> None:
    """What `python PATH` does: argv, sys.path[0] and __main__ belong to the worker file."""
    folder = os.path.dirname(path)
    sys.argv = [path]
    sys.path[0] = folder
    os.chdir(folder)


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(70)

    if os.getppid() != parent:
        os._exit(70)
    threading.Thread(target=watch, name="emulator-parent-watch", daemon=True).start()


def run(path: str, parent: int) -> None:
    _die_with_parent(parent)
    _as_script(path)
    runpy.run_path(path, run_name="__main__")


def probe(path: str) -> int:
    """Import the worker file the way `run` would, stopping at `runpod.serverless.start(config)`."""
    _as_script(path)
    result: dict[str, Any] = {}
    try:
        import runpod
        import runpod.serverless
    except Exception as exc:
        return _report({"error": f"the runpod SDK cannot be imported: {type(exc).__name__}: {exc}"})
    result["runpod_version"] = getattr(runpod, "__version__", "unknown")
    captured: dict[str, Any] = {}

    def fake_start(config: dict[str, Any]) -> None:
        captured.update(config)
        raise _Started

    runpod.serverless.start = fake_start
    try:
        runpy.run_path(path, run_name="__main__")
    except _Started:
        pass
    except SystemExit as exc:
        return _report({**result, "error": f"exited with code {exc.code} while importing"})
    except BaseException as exc:
        return _report({**result, "error": f"{type(exc).__name__}: {exc}"})
    if not captured:
        return _report({**result, "error": "never calls runpod.serverless.start({...})"})
    handler = captured.get("handler")
    if not callable(handler):
        return _report({**result, "error": "runpod.serverless.start() was given no callable 'handler'"})
    result["handler"] = getattr(handler, "__name__", repr(handler))
    result["options"] = sorted(k for k in captured if k != "handler")
    return _report(result)


def _report(result: dict[str, Any]) -> int:
    # The last line of stdout is ours; whatever the worker printed comes before it.
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 1 if "error" in result else 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "probe":
        return probe(os.path.abspath(argv[1]))
    if len(argv) == 4 and argv[0] == "run" and argv[1] == "--parent-pid":
        run(os.path.abspath(argv[3]), int(argv[2]))
        return 0
    sys.stderr.write("usage: launch.py run --parent-pid PID PATH | launch.py probe PATH\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
