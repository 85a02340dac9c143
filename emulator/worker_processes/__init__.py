"""Real worker processes behind the emulated queue: a user's unmodified RunPod worker file runs
the SDK's own worker loop against the emulator's worker-side routes (`/_worker/...`)."""
