"""Recorders any room writes to: streaming log-bucketed histograms and event counts."""
