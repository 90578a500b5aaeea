"""Shared services the fleet leans on: cluster DNS."""
