"""python -m omnivec_core.lab TABLE [TABLE ...] [--scale micro|tiny|small] [--steps N] [--seeds N] [--events N]
[--out bench/papers] [--work runs/lab] [--resume] [--device auto|cpu|cuda]; --summary prints every table's
verdicts."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..train.trainer import resolve_device
from .bases import SCALES
from .report import RESULTS, ROOT
from .runner import run_table
from .summary import summary_markdown
from .tables import TABLES


def table_list() -> str:
    width = max(map(len, TABLES))
    return "\n".join(f"  {name:<{width}}  {table.title}" for name, table in TABLES.items())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m omnivec_core.lab", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train the variants (rows) of one or more of the seed papers' tables at an equal step budget, "
                    "each with several training seeds, evaluate each on held-out OmniShapes seed 424242, and write "
                    "OUT/TABLE.json and OUT/TABLE.md: our metrics (mean ± spread over the seeds) beside the paper's "
                    "figures, and every order the paper shows judged against the spread. Each (row, seed) result "
                    "is written as it finishes (OUT/TABLE/ROW/seed-S.json) and the table rewritten; --resume skips "
                    "those.",
        epilog="tables:\n" + table_list())
    p.add_argument("tables", nargs="*", metavar="TABLE", help="the tables to run, in turn (listed below)")
    p.add_argument("--scale", choices=SCALES, default=None,
                   help="model and plan of the rows: micro (the lab's CPU scale), or the tiny or small preset's "
                        "(default: small on a GPU, else micro)")
    p.add_argument("--steps", type=int, default=None, help="training steps of every row (default: the scale's plan)")
    p.add_argument("--seeds", type=int, default=3, help="training seeds per row, 0..N-1 (default 3)")
    p.add_argument("--events", type=int, default=256, help="held-out events each row is evaluated on (default 256)")
    p.add_argument("--out", type=Path, default=RESULTS, help="where the results go (default bench/papers)")
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "lab", help="where the rows' models go (runs/lab)")
    p.add_argument("--resume", action="store_true",
                   help="skip rows whose result at this budget is written, continue interrupted trainings")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--summary", action="store_true",
                   help="print every table's verdicts from OUT as markdown (BENCHMARKS §8) and run nothing")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    if args.summary:
        print(summary_markdown(args.out))
        return 0
    unknown = [name for name in args.tables if name not in TABLES]
    if not args.tables or unknown:
        said = "no table given" if not args.tables else f"unknown table {unknown[0]!r}"
        print(f"error: {said}; the tables are:\n{table_list()}", file=sys.stderr)
        return 2
    if args.steps is not None and args.steps < 1 or args.events < 10 or args.seeds < 1:
        print("error: --steps and --seeds must be at least 1 and --events at least 10", file=sys.stderr)
        return 2
    try:
        device = resolve_device(args.device)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    scale = args.scale or ("small" if device.type == "cuda" else "micro")
    for name in args.tables:
        status = run_one(name, args, argv, device, scale)
        if status:
            return status
    return 0


def run_one(name: str, args, argv: list[str], device, scale: str) -> int:
    """One table; its command names it alone, so `--resume` of that command goes on with it."""
    own = [name, *(a for a in argv if a not in args.tables)]
    command = "python -m omnivec_core.lab " + shlex.join(own)
    try:
        document = run_table(TABLES[name], args.out, args.work, scale, args.steps, args.events, device,
                             args.resume, command, args.seeds)
    except KeyboardInterrupt:
        again = command if args.resume else command + " --resume"
        print(f"\ninterrupted; finished runs are kept: `{again}` goes on", file=sys.stderr)
        return 130
    for part in document["parts"]:
        print(f"{name} / {part['title']}: {part['agreement']}")
    print(f"wrote {args.out / (name + '.json')} and {args.out / (name + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
