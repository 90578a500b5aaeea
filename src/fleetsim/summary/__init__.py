"""The summary of a run: per-interval series, the mesh's figures, and the typed summary
built in one place.
"""
