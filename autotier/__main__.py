"""``python -m autotier bench [--quick] [--json PATH] [--kernels a,b] ...``"""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = "usage: python -m autotier bench [--help] [--quick] [--json PATH] [--kernels A,B]"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    if args[0] == "bench":
        from autotier.bench import main as bench_main

        return bench_main(args[1:])
    print(f"unknown command {args[0]!r}\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
