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

from .auth.policy import decision

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
        spec.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http", "scheme": "bearer",
            "description": "An API key (`actorflow keys create`) or a JWT, as "
                           "`Authorization: Bearer ...`; unused when the server runs "
                           "without authentication (loopback only)."}
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
        rule_of = decision(rule.endpoint)
        if rule_of is not None and not rule_of.public:
            for item in paths.values():
                for operation in item.values():
                    _guarded(operation)
        return paths, components


#: What the door answers on any guarded operation (api/auth).
_REFUSALS = {"401": "no valid credential", "403": "the credential lacks the scope",
             "429": "a rate or concurrency limit was reached"}


#: ErrorBody as quart-schema writes it (inline, its detail in the components).
_ERROR_BODY = {"title": "ErrorBody", "type": "object", "required": ["error"],
               "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}}}


def _guarded(operation: dict[str, Any]) -> None:
    operation["security"] = [{"bearer": []}]
    responses = operation.setdefault("responses", {})
    for status, text in _REFUSALS.items():
        if int(status) in responses:  # quart-schema keys responses by int
            continue
        responses.setdefault(status, {"description": text, "content": {"application/json": {
            "schema": _ERROR_BODY}}})


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
