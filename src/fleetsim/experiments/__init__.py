"""Experiments over runs: compare today (in the CLI); sweeps and ablations next."""
