"""`commjobs jobs ...`: create, run and manage communication jobs headless."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def register(
    commands: Any, add_common: Callable[[argparse.ArgumentParser], None]
) -> None:
    return None
