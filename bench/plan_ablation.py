"""Two training plans at equal steps, scored on the validation seed: the papers' comparisons as tables.

  python -m bench.plan_ablation --study bind       # classroom plan with and without `bind` in alignment
  python -m bench.plan_ablation --study decoupled  # OmniVL: image-text first, then joint, vs joint throughout

Each variant trains into WORK/<study>-<variant> (`omnivec_core.lab.runner.trained`: a finished training
of the same config there is reused, an interrupted one continues) and is scored by
`python -m omnivec_core.evaluate` on validation seed 31337 (never the held-out 424242). Prints the pairs and
zero-shot accuracies that differ between plans. `python -m omnivec_core.lab omnivl-decoupled` runs the same
comparison as a paper table, on the held-out seed. --steps N trains every variant in N steps instead of its
plan's, each stage keeping its share (`--steps 3 --events 16` is a smoke run).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from omnivec_core.config import ExperimentConfig, preset
from omnivec_core.evaluation.held_out import VALIDATION_SEED
from omnivec_core.lab.runner import trained
from omnivec_core.lab.tables_omni import DECOUPLED, JOINT
from omnivec_core.train.plans import set_steps


def bind_study() -> dict[str, ExperimentConfig]:
    """ImageBind-style: do image, depth, points, audio and IMU meet text better when each binds to captions?"""
    plain = ExperimentConfig.load(ROOT / "configs" / "classroom.json")
    bound = ExperimentConfig.load(ROOT / "configs" / "classroom.json")
    bound.train.stages[-1].objectives["bind"] = 1.0
    return {"plain": plain, "bind": bound}


def decoupled_study() -> dict[str, ExperimentConfig]:
    """OmniVL's decoupled joint pretraining: image-language first, then image and video with language
    jointly; against joint image+video+language from the start, at equal steps (the lab's omnivl-decoupled
    rows on the tiny plan's 660 steps)."""
    def plan(decoupled: bool) -> ExperimentConfig:
        config = preset("tiny")
        (DECOUPLED if decoupled else JOINT)(config)  # the lab's omnivl-decoupled rows
        return config

    return {"joint": plan(False), "decoupled": plan(True)}


STUDIES = {"bind": bind_study, "decoupled": decoupled_study}


def scores(run: Path, events: int) -> dict:
    path = run / f"eval-{VALIDATION_SEED}-{events}.json"
    if not path.is_file():
        result = subprocess.run([sys.executable, "-m", "omnivec_core.evaluate", "--checkpoint", str(run), "--seed",
                                 str(VALIDATION_SEED), "--n", str(events), "--json"], cwd=ROOT, check=True,
                                capture_output=True, text=True)
        path.write_text(result.stdout)
    return json.loads(path.read_text())


def table(reports: dict[str, dict]) -> str:
    names = list(reports)
    first = reports[names[0]]
    rows = [("attribute P@1 " + pair, [r["attribute_precision"].get(pair) for r in reports.values()])
            for pair in first["attribute_precision"]]
    rows += [("instance R@1 " + pair, [r["retrieval"][pair]["R@1"] for r in reports.values()])
             for pair in first["retrieval"]]
    rows += [(f"zero-shot {m} {a}", [r["zero_shot"][m][a] for r in reports.values()])
             for m, by in first["zero_shot"].items() for a in by]
    means = [("mean attribute P@1", [sum(r["attribute_precision"].values()) / len(r["attribute_precision"])
                                     for r in reports.values()]),
             ("mean instance R@1", [sum(v["R@1"] for v in r["retrieval"].values()) / len(r["retrieval"])
                                    for r in reports.values()])]
    lines = ["| measure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(f"{v:.3f}" for v in values) + " |" for name, values in means + rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--study", choices=STUDIES, required=True)
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "ablations", help="where the runs go")
    parser.add_argument("--events", type=int, default=500, help="validation events")
    parser.add_argument("--steps", type=int, default=None,
                        help="train every variant in this many steps, each stage keeping its share (default: its plan's)")
    args = parser.parse_args()
    studies = STUDIES[args.study]()
    for config in studies.values() if args.steps is not None else ():
        set_steps(config.train, args.steps)
    reports = {name: scores(trained(config, args.work / f"{args.study}-{name}"), args.events)
               for name, config in studies.items()}
    print(f"{args.study}: validation seed {VALIDATION_SEED}, {args.events} events\n")
    print(table(reports))


if __name__ == "__main__":
    main()
