"""The built-in tools publish the shape of their config (for forms in clients)."""

from __future__ import annotations

from runtime import ToolRegistry, builtin_tools


def test_each_builtin_publishes_a_json_schema_of_its_config() -> None:
    reg = ToolRegistry()
    builtin_tools.register_builtins(reg)
    schemas = {name: reg.get(name).to_dict()["config_schema"]
               for name in ("set", "delay", "fail", "ask")}
    assert {name: sorted(s["properties"]) for name, s in schemas.items()} == {
        "set": ["values"], "delay": ["seconds"], "fail": ["error", "message", "probability"],
        "ask": ["key", "question", "show"]}
    # set writes nothing without values (config.get("values", {})): not required
    assert "required" not in schemas["set"]
    assert schemas["set"]["properties"]["values"]["type"] == "object"
    assert schemas["ask"]["properties"]["show"] == {
        "type": "array", "items": {"type": "string"},
        "description": "data keys shown with the question"}
    assert all(s["type"] == "object" for s in schemas.values())
