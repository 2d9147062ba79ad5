"""Where benchmarks write their raw results: benchmarks/results/<name>-<interpreter>.json.

Every file records the runtime facts (interpreter, GIL state, CPU count) beside the figures.
"""

from __future__ import annotations

import json
import pathlib
import platform
from dataclasses import asdict
from typing import Any

from atomics import runtime

RESULTS = pathlib.Path(__file__).parent / "results"


def save(name: str, payload: dict[str, Any]) -> pathlib.Path:
    """Write ``payload`` plus the runtime facts; return the file's path."""
    info = runtime.runtime_info()
    tag = f"{platform.python_version()}{'t' if info.gil_disabled_build else ''}"
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}-{tag}.json"
    out.write_text(json.dumps({"runtime": asdict(info), **payload}, indent=2) + "\n")
    print(f"raw results: {out}")
    return out
