import json
import os
import sys

import pylib

listing = os.listdir("/usr/local/lib/python3.11")
print("pylib", pylib.__version__, pylib.__file__)
print("area", pylib.area(sys.argv[1], *map(int, sys.argv[2:])))
print("json", json.dumps({"site-packages": "site-packages" in listing, "json": "json" in listing}))
print("site-packages", sorted(os.listdir("/usr/local/lib/python3.11/site-packages")))
