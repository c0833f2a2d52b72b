"""hello-py: greets its first argument with a greeting read from a data file."""
import sys
from pathlib import Path

from greetlib import greet

GREETING = (Path(__file__).parent / "data" / "greeting.txt").read_text().strip()


def main(argv: list[str]) -> int:
    name = argv[1] if len(argv) > 1 else "world"
    print(greet(name, GREETING))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
