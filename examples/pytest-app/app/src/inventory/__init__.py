"""Packs inventory items into crates of a fixed size."""
import attr
import six
from more_itertools import chunked


@attr.define(frozen=True)
class Item:
    name: str
    weight: int = attr.field(validator=attr.validators.instance_of(int))


def crates(items, size):
    """Groups items into crates of at most size items, heaviest first."""
    ordered = sorted(items, key=lambda i: (-i.weight, i.name))
    return [list(c) for c in chunked(ordered, size)]


def label(crate):
    """A crate's label: its item names, as text on any Python."""
    return six.text_type(", ").join(i.name for i in crate)
