"""python -m omnivec_core.lab TABLE [--scale tiny|small] [--steps N] [--events N] [--out bench/papers]
[--work runs/lab] [--resume] [--device auto|cpu|cuda]"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..train.trainer import resolve_device
from .report import RESULTS, ROOT
from .runner import run_table
from .tables import TABLES


def table_list() -> str:
    width = max(map(len, TABLES))
    return "\n".join(f"  {name:<{width}}  {table.title}" for name, table in TABLES.items())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m omnivec_core.lab", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train the variants (rows) of one of the seed papers' tables at an equal step budget, evaluate "
                    "each on held-out OmniShapes seed 424242, and write OUT/TABLE.json and OUT/TABLE.md: our "
                    "metrics beside the paper's trend, and whether our order of the rows agrees with it. Each "
                    "row's result is written as it finishes (OUT/TABLE/ROW.json); --resume skips those.",
        epilog="tables:\n" + table_list())
    p.add_argument("table", nargs="?", metavar="TABLE", help="the table to run (listed below)")
    p.add_argument("--scale", choices=["tiny", "small"], default=None,
                   help="model and plan of the rows (default: small on a GPU, else tiny)")
    p.add_argument("--steps", type=int, default=None, help="training steps of every row (default: the preset's plan)")
    p.add_argument("--events", type=int, default=256, help="held-out events each row is evaluated on (default 256)")
    p.add_argument("--out", type=Path, default=RESULTS, help="where the results go (default bench/papers)")
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "lab", help="where the rows' models go (runs/lab)")
    p.add_argument("--resume", action="store_true",
                   help="skip rows whose result at this budget is written, continue interrupted trainings")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    if args.table not in TABLES:
        said = "no table given" if args.table is None else f"unknown table {args.table!r}"
        print(f"error: {said}; the tables are:\n{table_list()}", file=sys.stderr)
        return 2
    if args.steps is not None and args.steps < 1 or args.events < 10:
        print("error: --steps must be at least 1 and --events at least 10", file=sys.stderr)
        return 2

    try:
        device = resolve_device(args.device)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    scale = args.scale or ("small" if device.type == "cuda" else "tiny")
    command = "python -m omnivec_core.lab " + shlex.join(argv)
    try:
        document = run_table(TABLES[args.table], args.out, args.work, scale, args.steps, args.events, device,
                             args.resume, command)
    except KeyboardInterrupt:
        again = command if args.resume else command + " --resume"
        print(f"\ninterrupted; finished rows are kept: `{again}` goes on", file=sys.stderr)
        return 130
    for part in document["parts"]:
        print(f"{part['title']}: {part['agreement']}")
    print(f"wrote {args.out / (args.table + '.json')} and {args.out / (args.table + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
