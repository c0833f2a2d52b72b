"""modes: argv and exit codes, an uncaught exception, known limits."""
import sys


def fail():
    raise ValueError("bad input: " + sys.argv[2])


def main(argv):
    mode = argv[1] if len(argv) > 1 else "argv"
    if mode == "argv":
        print(argv)
        return 0
    if mode == "exit":
        print("exiting with", argv[2])
        sys.stdout.flush()
        sys.exit(int(argv[2]))
    if mode == "raise":
        print("about to fail")
        sys.stdout.flush()
        fail()
    if mode == "thread":
        import threading
        threading.Thread(target=print, args=("in thread",)).start()
        return 0
    if mode == "subprocess":
        import subprocess
        subprocess.run(["ls"])
        return 0
    print("unknown mode", mode, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
