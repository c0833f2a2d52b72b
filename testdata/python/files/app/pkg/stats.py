"""Imported, so CPython writes its bytecode to /app/pkg/__pycache__."""
VERSION = "v1"


def mean(xs):
    return sum(xs) / len(xs)
