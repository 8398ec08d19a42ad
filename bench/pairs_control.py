"""Does the bundled recipe's `pairs` stage gain from the pairs objective, or from more encoder steps?

    python bench/pairs_control.py --init DIR [--out runs/pairs-control] [--seed 31337] [--n 1000]

DIR is a model trained by the stages of configs/omnivec-default.json before `pairs` (for example the
bundled model of commit 2a0680f: `git show 2a0680f:checkpoints/omnivec-default/FILE > DIR/FILE` for
config.json and model.safetensors). The stage is trained twice from DIR with `train --from-stage pairs`:
as the recipe has it, and as `anchor-only`, the same stage without the pairs objective (same steps,
schedule and other objectives). DIR and both results are evaluated on --seed (the validation seed; never
tune on 424242) and bench/pair_gains.py prints DIR -> anchor-only and anchor-only -> pairs. A run whose
report is already in --out is not trained again.
"""
from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "omnivec-default.json"
STAGE = "pairs"


def plans(recipe: dict) -> dict[str, dict]:
    """The recipe through its pairs stage, and the same with that stage renamed and without `pairs`."""
    stages = recipe["train"]["stages"]
    names = [stage["name"] for stage in stages]
    if STAGE not in names:
        raise SystemExit(f"{RECIPE} has no {STAGE!r} stage (its stages: {', '.join(names)})")
    with_pairs = copy.deepcopy(recipe)
    with_pairs["train"]["stages"] = stages[:names.index(STAGE) + 1]
    control = copy.deepcopy(with_pairs)
    last = control["train"]["stages"][-1]
    last["name"] = "anchor-only"
    del last["objectives"][STAGE]
    return {"pairs": with_pairs, "anchor-only": control}


def evaluated(checkpoint: Path, report: Path, seed: int, n: int) -> Path:
    if not report.exists():
        command = [sys.executable, "-m", "omnivec_core.evaluate", "--checkpoint", str(checkpoint),
                   "--seed", str(seed), "--n", str(n), "--json"]
        text = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
        report.write_text(text)
    return report


def trained(name: str, plan: dict, init: Path, out: Path) -> Path:
    plan_file, run = out / f"{name}.plan.json", out / name
    plan_file.write_text(json.dumps(plan, indent=1))
    stage = plan["train"]["stages"][-1]["name"]
    subprocess.run([sys.executable, "-m", "omnivec_core.train", "--config", str(plan_file), "--init", str(init),
                    "--from-stage", stage, "--out", str(run)], cwd=ROOT, check=True)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--init", type=Path, required=True, help="a model of the recipe's stages before pairs")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "pairs-control")
    parser.add_argument("--seed", type=int, default=31337, help="held-out seed (default: the validation seed)")
    parser.add_argument("--n", type=int, default=1000, help="events (the retrieval gallery size)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    reports = {"init": evaluated(args.init, args.out / "init-eval.json", args.seed, args.n)}
    for name, plan in plans(json.loads(RECIPE.read_text())).items():
        report = args.out / f"{name}-eval.json"
        run = args.out / name if report.exists() else trained(name, plan, args.init, args.out)
        reports[name] = evaluated(run, report, args.seed, args.n)
    for a, b in (("init", "anchor-only"), ("anchor-only", "pairs")):
        print(f"\n## {a} -> {b}\n", flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "pair_gains.py"), str(reports[a]), str(reports[b])],
                       check=True)


if __name__ == "__main__":
    main()
