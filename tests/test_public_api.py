"""The library's public face: every name activity-core may import from ``kaizen_agentic``."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import kaizen_agentic

INIT = Path(kaizen_agentic.__file__)


@pytest.mark.parametrize("name", sorted(kaizen_agentic._PUBLIC))
def test_each_public_name_is_the_object_its_module_defines(name: str) -> None:
    module, _, attribute = kaizen_agentic._PUBLIC[name].partition(":")
    assert getattr(kaizen_agentic, name) is getattr(
        importlib.import_module(module), attribute or name
    )
    assert name in dir(kaizen_agentic)


def test_all_lists_exactly_the_public_names() -> None:
    assert set(kaizen_agentic.__all__) == {"__version__", *kaizen_agentic._PUBLIC}


def test_type_checkers_see_the_same_names_as_the_lazy_table() -> None:
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    guarded = next(n for n in tree.body if isinstance(n, ast.If))  # if TYPE_CHECKING:
    seen = {
        alias.asname or alias.name: f"{node.module}:{alias.name}"
        if alias.asname not in (None, alias.name)
        else node.module
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == kaizen_agentic._PUBLIC


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'kaizen_agentic' has no attribute 'nope'"):
        kaizen_agentic.nope  # noqa: B018
