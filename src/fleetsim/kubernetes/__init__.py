"""Kubernetes control-plane logic (HorizontalPodAutoscaler) as plain Python, free of the engine."""
