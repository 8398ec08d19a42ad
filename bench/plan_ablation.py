"""Two training plans at equal steps, scored on the validation seed: the papers' comparisons as tables.

  python bench/plan_ablation.py --study bind       # classroom plan with and without `bind` in alignment
  python bench/plan_ablation.py --study decoupled  # OmniVL: image-text first, then joint, vs joint throughout

Each variant trains with `python -m omnivec_core.train` into WORK/<study>-<variant> (reused when its
config.json is the one asked for) and is scored by `python -m omnivec_core.evaluate` on validation seed
31337 (never the held-out 424242). Prints the pairs and zero-shot accuracies that differ between plans.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnivec_core.config import ExperimentConfig, StageConfig, preset  # noqa: E402
from omnivec_core.evaluate import VALIDATION_SEED  # noqa: E402


def bind_study() -> dict[str, ExperimentConfig]:
    """ImageBind-style: do image, depth, points, audio and IMU meet text better when each binds to captions?"""
    plain = ExperimentConfig.load(ROOT / "configs" / "classroom.json")
    bound = ExperimentConfig.load(ROOT / "configs" / "classroom.json")
    bound.train.stages[-1].objectives["bind"] = 1.0
    return {"plain": plain, "bind": bound}


def decoupled_study() -> dict[str, ExperimentConfig]:
    """OmniVL's decoupled joint pretraining: image-language first, then image and video with language
    jointly; against joint image+video+language from the start, at equal steps."""
    def plan(stages: list[StageConfig]) -> ExperimentConfig:
        config = preset("tiny")
        config.model.modalities = ("image", "video", "text")
        config.train.stages = [StageConfig("pretrain", 60, {"mae": 1.0}, schedule="own"), *stages]
        return config

    objectives = {"contrastive": 1.0, "tasks": 1.0, "mae": 0.25}
    return {"joint": plan([StageConfig("joint", 600, objectives, schedule="own")]),
            "decoupled": plan([StageConfig("image-text", 300, objectives, ["image", "text"], schedule="own"),
                               StageConfig("joint", 300, objectives)])}


STUDIES = {"bind": bind_study, "decoupled": decoupled_study}


def trained(config: ExperimentConfig, out: Path) -> Path:
    """Train `config` into `out` unless a finished run of exactly this config is already there."""
    done = (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    if done and ExperimentConfig.load(out / "config.json") == config:
        return out
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(config.to_dict(), handle)
    subprocess.run([sys.executable, "-m", "omnivec_core.train", "--config", handle.name, "--out", str(out)],
                   cwd=ROOT, check=True)
    return out


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
    args = parser.parse_args()
    reports = {name: scores(trained(config, args.work / f"{args.study}-{name}"), args.events)
               for name, config in STUDIES[args.study]().items()}
    print(f"{args.study}: validation seed {VALIDATION_SEED}, {args.events} events\n")
    print(table(reports))


if __name__ == "__main__":
    main()
