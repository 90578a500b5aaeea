"""The data plane: requests, app containers (workers and a queue), calls between
services, traffic sources and their arrivals, and the typed seams the rooms above
implement (``protocols``).
"""
