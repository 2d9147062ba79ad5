"""Facts about the running interpreter: is this a free-threaded build, and is the GIL off?

There is no ``sys.flags.nogil`` and no ``threading.AtomicInteger`` in any CPython release.
The two real checks are:

* the *build* check, ``sysconfig.get_config_var("Py_GIL_DISABLED")``: 1 on a free-threaded
  (PEP 703, ``python3.13t``/``python3.14t``) build, 0 or ``None`` otherwise;
* the *live* check, ``sys._is_gil_enabled()`` (3.13+): a free-threaded build re-enables the
  GIL when started with ``PYTHON_GIL=1`` or ``-X gil=1``, or when it imports an extension
  module that does not declare free-threading support.

Threads run Python code in parallel only when both say so: :func:`free_threading_active`.

>>> from atomics import runtime
>>> runtime.free_threading_active() == (runtime.gil_disabled_build() and not runtime.gil_enabled())
True

Thread-safety: every function here only reads interpreter state and may be called from any
thread at any time.
"""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
from dataclasses import dataclass

__all__ = [
    "RuntimeInfo",
    "cpu_count",
    "describe",
    "free_threading_active",
    "gil_disabled_build",
    "gil_enabled",
    "runtime_info",
]


def gil_disabled_build() -> bool:
    """Return True when this interpreter was built with ``--disable-gil`` (PEP 703).

    >>> isinstance(gil_disabled_build(), bool)
    True
    """
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled() -> bool:
    """Return True when the GIL is enabled right now (the live status).

    Always True on a GIL build and on Pythons before 3.13 (which have no
    ``sys._is_gil_enabled``). On a free-threaded build it is False unless the GIL was
    re-enabled (``PYTHON_GIL=1``, ``-X gil=1``, or an extension without free-threading
    support). The status can change once, at import time of such an extension, so check it
    after your imports.

    >>> isinstance(gil_enabled(), bool)
    True
    """
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    if is_gil_enabled is None:
        return True
    return bool(is_gil_enabled())


def free_threading_active() -> bool:
    """Return True when Python threads can run in parallel: a free-threaded build, GIL off.

    >>> free_threading_active() == (gil_disabled_build() and not gil_enabled())
    True
    """
    return gil_disabled_build() and not gil_enabled()


def cpu_count() -> int:
    """Return the number of CPUs this process may run on (at least 1).

    Uses ``os.process_cpu_count()`` (3.13+), else the scheduler affinity mask, else
    ``os.cpu_count()``: a container or ``taskset`` limit is respected where the OS says so.

    >>> cpu_count() >= 1
    True
    """
    process_cpu_count = getattr(os, "process_cpu_count", None)
    if process_cpu_count is not None:
        count = process_cpu_count()
    elif hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    else:
        count = os.cpu_count()
    return max(1, count or 1)


def describe() -> str:
    """One line naming the interpreter and its GIL state.

    For example ``"CPython 3.13.15 free-threaded, GIL disabled"`` or
    ``"CPython 3.11.7, GIL enabled"``; a free-threaded build whose GIL was turned back on
    reads ``"CPython 3.13.15 free-threaded, GIL enabled"``.

    >>> describe().startswith(platform.python_implementation())
    True
    """
    build = " free-threaded" if gil_disabled_build() else ""
    state = "GIL enabled" if gil_enabled() else "GIL disabled"
    return f"{platform.python_implementation()} {platform.python_version()}{build}, {state}"


@dataclass(frozen=True)
class RuntimeInfo:
    """A snapshot of the runtime facts, as printed by ``python -m atomics info``.

    >>> info = runtime_info()
    >>> info.free_threading_active == (info.gil_disabled_build and not info.gil_enabled)
    True
    """

    implementation: str
    version: str
    executable: str
    gil_disabled_build: bool
    gil_enabled: bool
    free_threading_active: bool
    cpu_count: int
    description: str


def runtime_info() -> RuntimeInfo:
    """Collect the runtime facts into a :class:`RuntimeInfo`.

    >>> runtime_info().cpu_count >= 1
    True
    """
    return RuntimeInfo(
        implementation=platform.python_implementation(),
        version=platform.python_version(),
        executable=sys.executable,
        gil_disabled_build=gil_disabled_build(),
        gil_enabled=gil_enabled(),
        free_threading_active=free_threading_active(),
        cpu_count=cpu_count(),
        description=describe(),
    )
