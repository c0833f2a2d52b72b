"""Reads /app/data/scores.csv, writes /data/report.txt and a scratch file
next to its own files in /app."""
import csv
import os
import sys
from pathlib import Path

from pkg import stats

HERE = Path(__file__).parent

with open(HERE / "data" / "scores.csv", newline="") as f:
    rows = list(csv.DictReader(f))
scores = [int(r["score"]) for r in rows]
best = max(rows, key=lambda r: int(r["score"]))
report = f"{len(rows)} rows, mean {stats.mean(scores):.2f}, best {best['name']}\n"
print(stats.VERSION, report, end="")

out = Path("/data") / (sys.argv[1] if len(sys.argv) > 1 else "report.txt")
out.write_text(report)

scratch = HERE / "scratch.txt"
print("fresh", not scratch.exists())
scratch.write_text("written by the app\n")
print("scratch", scratch.read_text(), end="")
import importlib.util
pyc_dir = Path(importlib.util.cache_from_source(str(HERE / "pkg" / "stats.py"))).parent
print("pycache", sorted(os.listdir(pyc_dir)))
