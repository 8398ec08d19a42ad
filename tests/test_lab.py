"""The papers' tables (`python -m omnivec_core.lab`): a two-row table trained with two seeds and evaluated end to end
on a cut-down tiny model, --resume, the table list, every declared table's rows and quotes, and the Papers tab
(the claim and spread logic alone: tests/test_lab_claims.py)."""
from __future__ import annotations

import json

import pytest

from omnivec_core.config import StageConfig, preset
from omnivec_core.lab import TABLES, runner
from omnivec_core.lab.__main__ import main
from omnivec_core.lab.report import write_results
from omnivec_core.lab.spec import Claim, Part, Quote, Row, Table, train_fields
from omnivec_core.lab.summary import summary_markdown
from omnivec_core.objectives import check_plan

QUICK = "quick-two"


def quick_base(scale: str):
    """The tiny model on pictures and captions, a batch of 4: a step takes a fraction of a second."""
    config = preset("tiny")
    config.model.modalities = ("image", "text")
    config.train.batch_size, config.train.eval_events = 4, 16
    config.train.stages = [StageConfig("quick", 4, {"mae": 1.0, "tasks": 1.0}, schedule="own")]
    return config


QUICK_TABLE = Table(QUICK, "A two-row test table", "no paper", (Part(
    "learning rate", "mean probe",
    (Row("low", train_fields(lr=1e-4), "lr 1e-4"), Row("high", train_fields(lr=1e-3), "lr 1e-3")),
    (Claim("high", "~", "low", tol=1.0),), "any order (a test)", "nowhere", ("mean attribute P@1",),
    quote=Quote("Table 9 of no paper", ("acc",), {"low": (50.0,), "high": (55.0,)}, {"mean probe": ("acc",)})),),
    base=quick_base)


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setitem(TABLES, QUICK, QUICK_TABLE)
    return QUICK_TABLE


def run_quick(tmp_path, *more: str) -> int:
    return main([QUICK, "--steps", "2", "--seeds", "2", "--events", "24", "--out", str(tmp_path / "papers"),
                 "--work", str(tmp_path / "runs"), "--device", "cpu", *more])


@pytest.mark.timeout(900)  # about 30 s of CPU; on a loaded machine the wall clock is what it is
def test_a_two_seed_two_row_table_runs_end_to_end_and_resumes(quick, tmp_path, monkeypatch):
    assert run_quick(tmp_path) == 0
    papers = tmp_path / "papers"
    document = json.loads((papers / f"{QUICK}.json").read_text())
    assert document["command"].startswith(f"python -m omnivec_core.lab {QUICK} --steps 2")
    assert document["budget"] == {"scale": "micro", "steps": 2, "events": 24, "seed": 424242, "seeds": 2}
    [part] = document["parts"]
    assert [r["row"] for r in part["rows"]] == ["low", "high"] and [r["paper"] for r in part["rows"]] == [50.0, 55.0]
    assert part["columns"] == ["mean probe", "mean attribute P@1"]
    for row in part["rows"]:
        probe = row["stats"]["mean probe"]
        assert probe["n"] == 2 and 0 <= probe["mean"] <= 1 and probe["std"] >= 0 and row["stats"]["train s"]["n"] == 2
    [claim] = part["claims"]
    assert claim["verdict"] == "holds" and claim["spread"] >= 0 and part["agreement"] == "1 of 1 claims hold"
    runs = {}
    for name in ("low", "high"):  # each (row, seed) result, with its report and the config it trained
        for seed in (0, 1):
            result = json.loads((papers / QUICK / name / f"seed-{seed}.json").read_text())
            assert result["train_seed"] == seed == result["config"]["train"]["seed"]
            assert result["config"]["train"]["stages"][0]["steps"] == 2 and "linear_probe" in result["report"]
            assert (tmp_path / "runs" / QUICK / name / f"seed-{seed}" / "model.safetensors").is_file()
            runs[name, seed] = result["metrics"]["mean probe"]
    assert runs["low", 0] != runs["low", 1], "another seed trains another model"
    markdown = (papers / f"{QUICK}.md").read_text()
    assert "| row | setting | seeds | mean probe | mean attribute P@1 | paper | claims |" in markdown
    assert "| low | lr 1e-4 | 2 | " in markdown and " ± " in markdown and "2 training seeds per row" in markdown
    assert "**The paper's figures** (Table 9 of no paper)" in markdown and "| high | 55 |" in markdown

    # --resume: the finished runs are skipped, the run without a result is measured again
    low = (papers / QUICK / "low" / "seed-0.json").read_text()
    (papers / QUICK / "high" / "seed-1.json").unlink()
    measured, trainings = [], []
    monkeypatch.setattr(runner, "measure", lambda ctx, resume: measured.append(
        (ctx.row.name, ctx.config.train.seed)) or {"metrics": {"mean probe": 0.5}})
    assert run_quick(tmp_path, "--resume") == 0
    assert measured == [("high", 1)] and (papers / QUICK / "low" / "seed-0.json").read_text() == low
    document = json.loads((papers / f"{QUICK}.json").read_text())
    assert document["parts"][0]["rows"][1]["stats"]["mean probe"]["n"] == 2
    # a third seed runs only the new runs; another budget runs everything again
    assert run_quick(tmp_path, "--resume", "--seeds", "3") == 0 and measured[1:] == [("low", 2), ("high", 2)]
    assert run_quick(tmp_path, "--resume", "--events", "32") == 0 and len(measured) == 3 + 4
    monkeypatch.setattr("omnivec_core.train.trainer.Trainer.run", lambda self: trainings.append(self) or self.out)
    config = runner.row_config(QUICK_TABLE, QUICK_TABLE.parts[0].rows[0], "micro", 2, 1)
    run = tmp_path / "runs" / QUICK / "low" / "seed-1"
    assert runner.trained(config, run) == run and trainings == [], "a finished training of the same config is reused"


@pytest.mark.fast
def test_a_bad_table_name_lists_the_tables(capsys):
    assert main(["no-such-table"]) == 2
    said = capsys.readouterr().err
    assert "unknown table 'no-such-table'" in said and all(name in said for name in TABLES)
    assert main([]) == 2 and "no table given" in capsys.readouterr().err
    assert main(["mmv-spaces", "nope"]) == 2 and "unknown table 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    helped = capsys.readouterr().out
    assert "--resume" in helped and "--seeds" in helped and "micro" in helped and all(n in helped for n in TABLES)


@pytest.mark.fast
def test_every_table_trains_its_rows_at_one_budget():
    assert list(TABLES) == ["omnivec-grouping", "mmv-spaces", "mmv-modalities", "vatt-droptoken", "vatt-backbone",
                            "mmv-deflation", "omnimae-masking", "omnimae-single", "omnivl-decoupled",
                            "omnivl-paradigms", "omnivl-univlc"]
    for table in TABLES.values():
        for scale, steps in (("micro", None), ("tiny", None), ("small", None), ("micro", 50)):
            budget = steps or runner.default_steps(table, scale)
            configs = [runner.row_config(table, row, scale, steps, seed=2) for _, row in table.rows]
            for config in configs:
                check_plan(config.model, config.train)
                assert config.train.total_steps == budget and config.train.seed == 2, (table.name, scale)
            trained = [c for (part, row), c in zip(table.rows, configs) if row.run is None and not part.one_model]
            assert len({json.dumps(c.to_dict(), sort_keys=True) for c in trained}) == len(trained), table.name
        for part in table.parts:
            assert part.claims and part.trend and part.reference and part.metric and part.quote is not None
            assert part.quote.figures or part.quote.words, "the paper's figures, or its words where it has none"
    deflation = runner.row_config(TABLES["mmv-deflation"], TABLES["mmv-deflation"].parts[0].rows[0], "micro")
    assert "image" not in deflation.model.modalities, "a video network never sees a still image"


@pytest.mark.fast
def test_the_quoted_figures_are_the_papers():
    grouping = TABLES["omnivec-grouping"].parts[0]
    assert [round(grouping.paper_value(r.name), 1) for r in grouping.rows] == [56.1, 63.9, 61.8, 71.6]
    assert {(c.left, c.right) for c in grouping.claims} >= {("OmniVec-2", "OmniVec-3"), ("OmniVec-4", "OmniVec-1")}
    droptoken = TABLES["vatt-droptoken"].parts[0]
    assert [droptoken.paper_value(r.name, "video GFLOPs") for r in droptoken.rows] == [784.8, 574.2, 375.4, 188.1]
    assert ("50 %", ">", "75 %", "video+audio probe") in {(c.left, c.op, c.right, c.metric) for c in droptoken.claims}
    deflation = TABLES["mmv-deflation"].parts[0]
    assert deflation.quote.figures["n-def"][0] == 41.8 and deflation.quote.figures["def"][0] == 71.4
    assert "summed" in deflation.rows[1].setting and deflation.rows[1].name == "n-def"
    spaces = TABLES["mmv-spaces"].parts[0]
    assert spaces.quote.figures["fac"] == (86.2, 62.5, 23.8, 23.5, 88.0)
    backbone = TABLES["vatt-backbone"].parts[0]
    assert all(c.left == "specific" for c in backbone.claims), "frozen features: the specific backbone is ahead"


@pytest.mark.fast
def test_replication_rows_are_timed_to_the_loss_n1_has_halfway():
    results = {"n=1": {"metrics": {}, "curve": [[0, 0.0, 1.0], [5, 10.0, 0.8], [10, 20.0, 0.6]]},
               "n=2": {"metrics": {}, "curve": [[0, 0.0, 1.0], [5, 6.0, 0.75], [10, 12.0, 0.7]]},
               "n=4": {"metrics": {}, "curve": [[0, 0.0, 1.0], [5, 4.0, 0.9], [10, 8.0, 0.85]]}}
    TABLES["omnimae-masking"].parts[1].derive(results)
    assert results["n=1"]["metrics"]["s to target"] == 10.0 and results["n=2"]["metrics"]["s to target"] == 6.0
    assert results["n=2"]["metrics"]["target loss"] == 0.8 and "s to target" not in results["n=4"]["metrics"]


@pytest.mark.fast
def test_droptoken_gflops_are_a_share_of_the_full_rows():
    results = {"25 %": {"metrics": {"video GFLOPs": 1.5}}, "0 %": {"metrics": {"video GFLOPs": 2.0}},
               "75 %": {"metrics": {}}}
    TABLES["vatt-droptoken"].parts[0].derive(results)
    assert results["25 %"]["metrics"]["GFLOPs share"] == 0.75 and results["0 %"]["metrics"]["GFLOPs share"] == 1.0
    assert "GFLOPs share" not in results["75 %"]["metrics"]


def spaces_results(tmp_path):
    """mmv-spaces with two seeds of shared and fac and none of disjoint: a table with quoted figures, part run."""
    table = TABLES["mmv-spaces"]
    runs = {"shared": [0.40, 0.44], "fac": [0.60, 0.62]}
    results = {"embedding spaces": {name: [{"train_seed": seed, "metrics": {"downstream": v, "video probe": v}}
                                           for seed, v in enumerate(values)] for name, values in runs.items()}}
    document = runner.assemble(table, results, {"command": "python -m omnivec_core.lab mmv-spaces",
                                                "date": "2025-01-02T03:04:05+00:00", "device": "cpu",
                                                "budget": {**runner.budget("micro", 120, 256), "seeds": 2}})
    write_results(tmp_path, document)
    return document


@pytest.mark.fast
@pytest.mark.timeout(600)  # importing gradio: seconds of CPU, minutes of wall clock on a loaded machine
def test_the_papers_tab_shows_the_papers_figures_beside_ours(tmp_path):
    from omnivec_app import papers_tab

    document = spaces_results(tmp_path)
    [part] = document["parts"]
    fac_over_shared = next(c for c in part["claims"] if c["claim"] == "fac > shared on downstream")
    assert fac_over_shared["verdict"] == "holds" and part["rows"][1]["stats"] == {}
    markdown, figure = papers_tab.papers_table("mmv-spaces", tmp_path)
    assert markdown == (tmp_path / "mmv-spaces.md").read_text().rstrip("\n")
    assert "`python -m omnivec_core.lab mmv-spaces` on 2025-01-02" in markdown and "MMV" in markdown
    assert "**The paper's figures** (MMV Table 1(b)" in markdown
    assert "| fac | 86.2 | 62.5 | 23.8 | 23.5 | 88 |" in markdown
    assert "| shared | one space for every modality | 2 | 0.420 ± 0.028 |" in markdown
    assert "| disjoint | one space per pair with video | 0 | not yet run |" in markdown
    assert "**4 of 6 runs done**" in markdown and "fac > shared on downstream: **holds**" in markdown
    ours, paper = figure.data
    assert ours.type == paper.type == "bar" and list(ours.x) == ["shared", "disjoint", "fac"]
    assert ours.y[0] == 0 and ours.y[1] is None and ours.y[2] == pytest.approx(100 * (0.61 - 0.42) / 0.42)
    assert paper.y[0] == 0 and paper.y[2] == pytest.approx(100 * (56.8 - 55.32) / 55.32)

    summary = summary_markdown(tmp_path)  # BENCHMARKS §8's table
    assert "| `mmv-spaces` | 4 of 6 | downstream | shared 0.420 ± 0.028, disjoint -, fac 0.610 ± 0.014 |" in summary
    assert "`vatt-droptoken`" in summary.split("Not yet run")[1] and "`mmv-spaces`" in summary.split("Not yet run")[1]

    markdown, figure = papers_tab.papers_table("vatt-droptoken", tmp_path)
    assert figure is None and "Not yet run" in markdown and "python -m omnivec_core.lab vatt-droptoken" in markdown
    (tmp_path / "mmv-modalities.json").write_text("{not json")
    with pytest.raises(Exception, match="not valid JSON"):
        papers_tab.papers_table("mmv-modalities", tmp_path)
