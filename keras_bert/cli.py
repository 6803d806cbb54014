"""The absl entry point every program shares: a program is a Python function whose parameters are
named like its flags (callable from Python with keyword arguments), plus a function defining the flags."""
from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any


def parameter_defaults(function: Callable) -> dict[str, Any]:
    """Keyword defaults of a program's Python entry point: the single source of its flags' defaults."""
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty}


def flag_values(function: Callable, flag_values_object) -> dict[str, Any]:
    """The parsed absl flags named like `function`'s parameters (parameters without a flag keep their defaults)."""
    names = inspect.signature(function).parameters
    return {name: flag_values_object[name].value for name in names if name in flag_values_object}


def run_program(program: Callable, define_flags: Callable[[], None]) -> None:
    """Defines the program's flags, parses the command line and calls `program(**flags)`."""
    from absl import app, flags

    define_flags()

    def main(argv) -> None:
        del argv
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
        program(**flag_values(program, flags.FLAGS))

    app.run(main)
