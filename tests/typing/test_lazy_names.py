"""The names that ``atomics.testing`` and ``atomics.testing.stats`` give through a module
``__getattr__`` at run time (hidden from type checkers) are the ones their ``if
TYPE_CHECKING:`` blocks declare: a name added to one list and not the other would be an
attribute error to mypy, or a name mypy accepts that fails at run time."""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Callable
from types import ModuleType

import pytest


def _declared(module_name: str) -> set[str]:
    """Names bound in the module's top-level ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module_name)))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    names.update(alias.asname or alias.name for alias in statement.names)
                elif isinstance(statement, ast.Assign):
                    names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
                elif isinstance(statement, ast.AnnAssign) and isinstance(
                    statement.target, ast.Name
                ):
                    names.add(statement.target.id)
    return names


@pytest.mark.parametrize(
    ("module_name", "lazy"),
    [
        ("atomics.testing", lambda m: set(m._MOVED) | {"SETTINGS"}),
        ("atomics.testing.stats", lambda m: set(m._TOTALS_NAMES)),
    ],
)
def test_type_checking_block_declares_the_lazy_names(
    module_name: str, lazy: Callable[[ModuleType], set[str]]
) -> None:
    expected = lazy(importlib.import_module(module_name))
    declared = _declared(module_name) - {"settings"}  # hypothesis's class, for SETTINGS
    assert declared == expected
