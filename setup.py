"""Builds the hot path with mypyc when it can, and installs pure Python when it cannot.

The modules listed in ``fleetsim.compiled.HOT_MODULES`` are compiled from their own
``.py`` sources (which are installed too, as the reference). Without a C compiler, or
with ``FLEETSIM_PURE=1``, the install is pure Python; ``FLEETSIM_REQUIRE_COMPILED=1``
turns a failed compilation into a failed install (CI sets it). The sha256 of every
compiled source is written to ``fleetsim/compiled_sources.json`` so that an edited
``.py`` next to an old build is detected at import (see ``fleetsim/compiled.py``).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "src" / "fleetsim"


def hot_modules() -> list[str]:
    """``HOT_MODULES`` read from ``fleetsim/compiled.py`` without importing the package."""
    tree = ast.parse((PACKAGE / "compiled.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "HOT_MODULES":
            return list(ast.literal_eval(node.value))  # type: ignore[arg-type]
    raise RuntimeError("HOT_MODULES not found in src/fleetsim/compiled.py")


def source_file(module: str) -> Path:
    return ROOT.joinpath("src", *module.split(".")).with_suffix(".py")


def flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def say(message: str) -> None:
    print(f"fleetsim build: {message}", file=sys.stderr)


class BuildExtOrPure(build_ext):
    """``build_ext`` that falls back to pure Python when compiling fails."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:
            if flag("FLEETSIM_REQUIRE_COMPILED"):
                raise
            say(f"compiling failed ({error}); installing pure Python")
            self.extensions = []
            return
        self.record_sources()

    def record_sources(self) -> None:
        digests = {
            module: hashlib.sha256(source_file(module).read_bytes()).hexdigest()
            for module in hot_modules()
        }
        target = self.sources_path()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        say(f"compiled {len(digests)} modules")

    def sources_path(self) -> Path:
        """``compiled_sources.json`` beside the built package (in place when editable)."""
        return Path(self.get_ext_fullpath("fleetsim.compiled")).parent / "compiled_sources.json"

    def get_outputs(self) -> list[str]:
        outputs: list[str] = super().get_outputs()
        if self.extensions:
            outputs.append(str(self.sources_path()))
        return outputs


def extensions() -> list[object]:
    if flag("FLEETSIM_PURE"):
        say("FLEETSIM_PURE is set; installing pure Python")
        return []
    try:
        from mypyc.build import mypycify

        return list(
            mypycify(
                [
                    # Modules outside the hot path are read for their types only: their
                    # own imports (pandas, pyarrow, ...) need not be in the build env.
                    "--follow-imports=silent",
                    *(str(source_file(m).relative_to(ROOT)) for m in hot_modules()),
                ],
                opt_level="3",
                group_name="fleetsim",
            )
        )
    except (Exception, SystemExit) as error:  # mypy missing or rejecting: pure Python
        if flag("FLEETSIM_REQUIRE_COMPILED"):
            raise
        say(f"mypyc could not translate the hot modules ({error}); installing pure Python")
        return []


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExtOrPure})
