"""Experiments over runs: compare (in the CLI); isolate (:mod:`fleetsim.experiments.isolate`),
which switches each mechanism of a scenario off in turn and ranks them by how far a
summary figure moves; sweeps next."""
