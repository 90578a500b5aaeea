"""Shared services the fleet leans on: cluster DNS (the pod's resolver; CoreDNS next)."""
