"""What the RunPod Serverless queue API and podbench's result folder ARE, in one place.

Every room (emulator, load, conformance, discovery, reports, capacity) and the CLI import these
facts from here instead of restating them. This package uses the standard library only and
imports nothing of the rooms or the CLI (an import-linter contract holds that), so any room may
depend on it without depending on another room.

- `contract.operations`: the operations, their routes and which share a rate-limit budget.
- `contract.states`: job states, the legal moves between them and the final set.
- `contract.limits`: the documented rate-limit table, each row with its public source.
- `contract.health`: the fields of a `/health` reply.
- `contract.env`: environment variable names the official SDK and worker runtime read.
- `contract.target`: which endpoint a run talks to (the key stays in the environment).
- `contract.polling`: what a `/status` reply means and when to poll next (I/O-free).
- `contract.results`: the result folder's file names and columns, and `update_manifest`.
- `contract.emulator_process`: the emulator's process protocol and the one launcher.
- `contract.traces`: recorded or shaped arrival traces that the load room and the simulation replay.
"""
