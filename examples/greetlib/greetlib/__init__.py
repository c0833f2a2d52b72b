"""Greetings, shipped as a pure-Python library package."""

__version__ = "1.2.0"


def greet(name: str, greeting: str = "hello") -> str:
    return f"{greeting}, {name}, from Python on wasm32-wasi"
