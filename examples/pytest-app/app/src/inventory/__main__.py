import sys

from inventory import Item, crates, label

items = [Item(name, int(w)) for name, w in (a.split("=") for a in sys.argv[1:])]
for n, crate in enumerate(crates(items, 2), 1):
    print(f"crate {n}: {label(crate)}")
