"""Result files for other tools: typed columns with units, Parquet, OpenMetrics, pandas.

This room knows rows (dicts) and the run's identity, never the simulation: the result
room hands it what a run produced, and it writes or converts it.
"""
