import sys


def add(a, b):
    return a + b


if __name__ == "__main__":
    print(add(*map(int, sys.argv[1:3])))
