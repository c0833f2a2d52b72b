"""Uses json, re, dataclasses, pathlib, zlib, decimal and datetime."""
import dataclasses
import datetime
import decimal
import json
import pathlib
import re
import zlib


@dataclasses.dataclass(order=True)
class Point:
    x: int
    y: int = 0


doc = json.loads('{"b": [1, 2.5, null], "a": "\\u00e9"}')
print("json", json.dumps(doc, sort_keys=True))

m = re.fullmatch(r"(?P<user>\w+)@(?P<host>[\w.]+)", "ada@example.org")
print("re", m.group("user"), m.group("host"), re.sub(r"\d+", "#", "a1b22c333"))

pts = sorted([Point(2, 1), Point(1, 5), Point(1)])
print("dataclasses", pts, dataclasses.asdict(pts[0]))

p = pathlib.PurePosixPath("/app/data/report.tar.gz")
print("pathlib", p.name, p.suffixes, p.parent, pathlib.Path("/app/main.py").is_file())

raw = b"wrun " * 1000
packed = zlib.compress(raw, 9)
print("zlib", len(raw), len(packed) < 100, zlib.decompress(packed) == raw, hex(zlib.crc32(raw)))

decimal.getcontext().prec = 30
print("decimal", decimal.Decimal(1) / decimal.Decimal(7), decimal.Decimal("0.1") + decimal.Decimal("0.2"))

d = datetime.datetime(2024, 2, 28, 23, 30, tzinfo=datetime.timezone.utc) + datetime.timedelta(hours=1)
print("datetime", d.isoformat(), d.strftime("%A %j"), datetime.date(2024, 3, 1) - datetime.date(2023, 3, 1))
