import math


def area(kind, *dims):
    if kind == "circle":
        return round(math.pi * dims[0] ** 2, 3)
    if kind == "rect":
        return dims[0] * dims[1]
    raise ValueError(f"unknown shape {kind!r}")
