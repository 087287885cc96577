"""Built-in tools, example workflows and LLM providers."""
