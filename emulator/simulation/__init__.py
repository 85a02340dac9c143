"""What-if simulation: arrivals played through the emulator's own endpoint on a manual clock.

`engine` plays one setting (no sockets, no real waiting); `client` turns job end times into the
end-to-end times a polling client measures; `ledger` integrates worker-seconds and queue depth as
the clock moves; `settings` checks settings and expands a sweep; `runner` runs settings on every
core; `billing` prices them; `results` writes `simulation.json`; `calibrate` fits settings to a
real run. `podbench simulate` wires them to files.
"""
