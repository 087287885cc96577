"""The OpenAPI document's prose, written for the viewers that read it.

Our docstrings are reStructuredText (``code`` in double backticks, summaries that
wrap over lines); OpenAPI text is CommonMark, where double backticks show
literally and quart-schema takes only a docstring's first line as the summary. This
provider makes a route's first paragraph its summary, the rest its description, and
turns ``code`` into `code` in every description and into plain code in every summary
(a summary is plain text: viewers show its backticks as they are).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from quart_schema import OpenAPIProvider
from werkzeug.routing import Rule

__all__ = ["DocsOpenAPIProvider", "markdown", "plain"]

_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)

#: Keys whose values are data (examples, defaults), not prose: left as they are.
_DATA_KEYS = frozenset({"example", "examples", "default", "enum", "const"})


def markdown(text: str) -> str:
    """reStructuredText inline literals as CommonMark code spans."""
    return _LITERAL.sub(r"`\1`", text)


def plain(text: str) -> str:
    """reStructuredText inline literals as plain text."""
    return _LITERAL.sub(r"\1", text)


class DocsOpenAPIProvider(OpenAPIProvider):
    """quart-schema's provider with summaries and descriptions in Markdown."""

    def schema(self) -> dict[str, Any]:
        spec = super().schema()
        _convert_prose(spec)
        return spec

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        doc = inspect.getdoc(self._app.view_functions[rule.endpoint])
        if doc:
            summary, _, description = doc.partition("\n\n")
            for item in paths.values():
                for operation in item.values():
                    operation["summary"] = " ".join(summary.split())
                    operation["description"] = description.strip()
        return paths, components


def _convert_prose(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "summary" and isinstance(value, str):
                node[key] = plain(value)
            elif key == "description" and isinstance(value, str):
                node[key] = markdown(value)
            elif key not in _DATA_KEYS:
                _convert_prose(value)
    elif isinstance(node, list):
        for value in node:
            _convert_prose(value)
