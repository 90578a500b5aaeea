"""Suite-wide settings: the Hypothesis profiles of the fuzz test.

``default`` keeps the suite short (a few hundred cases); run the long one by hand with
``python -m pytest tests/scenario/test_fuzz.py --hypothesis-profile=long``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

COMMON = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow],
}
settings.register_profile("default", max_examples=300, **COMMON)  # type: ignore[arg-type]
settings.register_profile("long", max_examples=3000, **COMMON)  # type: ignore[arg-type]
settings.load_profile("default")
