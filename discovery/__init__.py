"""Room package; see ARCHITECTURE.md."""
