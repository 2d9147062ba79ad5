"""What ``pydoc`` shows for the public classes' special methods (issue 16, item 5).

Before: ``pydoc atomics.ShardedDict`` showed the source comment above ``__getitem__`` and
``__setitem__`` (section headers such as "# --- reads: no lock ...") in place of a
docstring: pydoc falls back to the comments above a function that has no docstring.
"""

from __future__ import annotations

import inspect
import pydoc
from typing import Any

import pytest

import atomics
import atomics.protocols
import atomics.sharded_dict


def _public_classes() -> dict[str, type[Any]]:
    found: dict[str, type[Any]] = {}
    for module in (atomics, atomics.sharded_dict, atomics.protocols):
        for name in module.__all__:
            obj = getattr(module, name)
            # the class under its own name (MissingType is Sentinel at run time: not a class
            # of its own), the package's (not an exception: their dunders are the built-ins')
            if (
                inspect.isclass(obj)
                and obj.__name__ == name
                and obj.__module__.startswith("atomics")
                and not issubclass(obj, BaseException)
            ):
                found[name] = obj
    return found


def _written_dunders(cls: type[Any]) -> list[str]:
    """The special methods written in the class's own source (not __init__: the class
    docstring documents construction; not those a decorator such as dataclass generates)."""
    source = inspect.getsourcefile(cls)
    names = []
    for name, member in vars(cls).items():
        function = getattr(member, "__func__", member)
        if (
            name.startswith("__")
            and name.endswith("__")
            and name != "__init__"
            and inspect.isfunction(function)
            and function.__code__.co_filename == source
        ):
            names.append(name)
    return names


CASES = [
    (name, dunder) for name, cls in _public_classes().items() for dunder in _written_dunders(cls)
]


def test_the_classes_are_found() -> None:
    """A control for the parametrised test below: it covers the classes the issue names."""
    covered = {name for name, _ in CASES}
    assert {"ShardedDict", "BoundedQueue", "AtomicInteger", "LockedEntry"} <= covered
    assert ("ShardedDict", "__getitem__") in CASES and ("ShardedDict", "__setitem__") in CASES


@pytest.mark.parametrize(("class_name", "dunder"), CASES)
def test_every_written_dunder_has_a_docstring(class_name: str, dunder: str) -> None:
    member = vars(_public_classes()[class_name])[dunder]
    function = getattr(member, "__func__", member)
    assert function.__doc__ and function.__doc__.strip(), (
        f"{class_name}.{dunder} has no docstring: pydoc shows the comments above it instead"
    )


def test_pydoc_shows_sharded_dict_item_access_docstrings() -> None:
    """The issue's reproduction: ``pydoc atomics.ShardedDict``."""
    text = pydoc.render_doc(atomics.ShardedDict, renderer=pydoc.plaintext)
    for dunder in ("__getitem__", "__setitem__", "__iter__", "__delitem__"):
        section = text.split(f"{dunder}(self", 1)[1].split("\n |  \n", 1)[0]
        doc = inspect.getdoc(getattr(atomics.ShardedDict, dunder))
        assert doc is not None and doc.splitlines()[0] in section, section
        assert "# ---" not in section and "#" not in section.replace("``", ""), section
