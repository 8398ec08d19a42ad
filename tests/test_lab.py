"""The papers' tables (`python -m omnivec_core.lab`): a two-row table trained and evaluated end to end on a cut-down
tiny model, --resume, the table list, every declared table's rows, the claims, and the Papers tab."""
from __future__ import annotations

import json

import pytest

from omnivec_core.config import StageConfig, preset
from omnivec_core.lab import TABLES, runner
from omnivec_core.lab.__main__ import main
from omnivec_core.lab.report import write_results
from omnivec_core.lab.spec import Claim, Part, Row, Table, judge, train_fields
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
    (Row("low", train_fields(lr=1e-4), "lr 1e-4", "reference"), Row("high", train_fields(lr=1e-3), "lr 1e-3", "same")),
    (Claim("high", "~", "low", tol=1.0),), "any order (a test)", "nowhere", ("mean attribute P@1",)),),
    base=quick_base)


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setitem(TABLES, QUICK, QUICK_TABLE)
    return QUICK_TABLE


def run_quick(tmp_path, *more: str) -> int:
    return main([QUICK, "--steps", "2", "--events", "24", "--out", str(tmp_path / "papers"),
                 "--work", str(tmp_path / "runs"), "--device", "cpu", *more])


@pytest.mark.timeout(900)  # about 15 s of CPU; on a loaded machine the wall clock is what it is
def test_a_two_row_table_runs_end_to_end_and_resumes(quick, tmp_path, monkeypatch):
    assert run_quick(tmp_path) == 0
    papers = tmp_path / "papers"
    document = json.loads((papers / f"{QUICK}.json").read_text())
    assert document["command"].startswith(f"python -m omnivec_core.lab {QUICK} --steps 2")
    assert document["budget"] == {"scale": "tiny", "steps": 2, "events": 24, "seed": 424242}
    [part] = document["parts"]
    assert [r["row"] for r in part["rows"]] == ["low", "high"]
    assert part["columns"] == ["mean probe", "mean attribute P@1"]
    for row in part["rows"]:
        assert 0 <= row["metrics"]["mean probe"] <= 1 and row["metrics"]["train s"] > 0
        assert row["agrees"] == "yes"
    assert part["agreement"] == "1 of 1 claims hold"
    for name in ("low", "high"):  # each row's own result, with its report and the config it trained
        result = json.loads((papers / QUICK / f"{name}.json").read_text())
        assert result["config"]["train"]["stages"][0]["steps"] == 2 and "linear_probe" in result["report"]
        assert (tmp_path / "runs" / QUICK / name / "model.safetensors").is_file()
    markdown = (papers / f"{QUICK}.md").read_text()
    assert "| row | setting | mean probe | mean attribute P@1 | paper | agrees |" in markdown
    assert "| low | lr 1e-4 |" in markdown and "| high | lr 1e-3 |" in markdown and "--steps 2" in markdown

    # --resume: the finished row is skipped, the row without a result is measured again
    low = (papers / QUICK / "low.json").read_text()
    (papers / QUICK / "high.json").unlink()
    measured, trainings = [], []
    monkeypatch.setattr(runner, "measure", lambda ctx, resume: measured.append(ctx.row.name) or {"metrics": {
        "mean probe": 0.5}})
    assert run_quick(tmp_path, "--resume") == 0
    assert measured == ["high"] and (papers / QUICK / "low.json").read_text() == low
    document = json.loads((papers / f"{QUICK}.json").read_text())
    assert [r["metrics"]["mean probe"] for r in document["parts"][0]["rows"]][1] == 0.5
    # another budget is not skipped
    assert run_quick(tmp_path, "--resume", "--events", "32") == 0 and measured == ["high", "low", "high"]
    monkeypatch.setattr("omnivec_core.train.trainer.Trainer.run", lambda self: trainings.append(self) or self.out)
    config = runner.row_config(QUICK_TABLE, QUICK_TABLE.parts[0].rows[0], "tiny", 2)
    assert runner.trained(config, tmp_path / "runs" / QUICK / "low") == tmp_path / "runs" / QUICK / "low"
    assert trainings == [], "a finished training of the same config is reused"


@pytest.mark.fast
def test_a_bad_table_name_lists_the_tables(capsys):
    assert main(["no-such-table"]) == 2
    said = capsys.readouterr().err
    assert "unknown table 'no-such-table'" in said and all(name in said for name in TABLES)
    assert main([]) == 2 and "no table given" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    helped = capsys.readouterr().out
    assert "--resume" in helped and "--scale" in helped and all(name in helped for name in TABLES)


@pytest.mark.fast
def test_every_table_trains_its_rows_at_one_budget():
    assert list(TABLES) == ["omnivec-grouping", "mmv-spaces", "vatt-droptoken", "vatt-backbone", "mmv-deflation",
                            "omnimae-masking", "omnivl-decoupled"]
    for table in TABLES.values():
        for scale, steps in (("tiny", None), ("small", None), ("tiny", 50)):
            budget = steps or runner.default_steps(table, scale)
            configs = [runner.row_config(table, row, scale, steps) for _, row in table.rows]
            for config in configs:
                check_plan(config.model, config.train)
                assert config.train.total_steps == budget, (table.name, scale)
            trained = [c for (part, row), c in zip(table.rows, configs) if row.run is None and not part.one_model]
            assert len({json.dumps(c.to_dict(), sort_keys=True) for c in trained}) == len(trained), table.name
        for part in table.parts:
            assert part.claims and part.trend and part.reference and part.metric
    deflation = runner.row_config(TABLES["mmv-deflation"], TABLES["mmv-deflation"].parts[0].rows[0], "tiny")
    assert "image" not in deflation.model.modalities, "a video network never sees a still image"


@pytest.mark.fast
def test_claims_decide_each_rows_agreement():
    rows = tuple(Row(name) for name in ("a", "b", "c", "d"))
    part = Part("p", "m", rows, (Claim("a", ">", "b"), Claim("a", ">~", "c", tol=0.05), Claim("b", "~", "c", tol=0.01),
                                  Claim("d", "<", "a", "cost")), "t", "r")
    claims, agreement = judge(part, {"a": {"m": 0.5, "cost": 2.0}, "b": {"m": 0.4}, "c": {"m": 0.52},
                                     "d": {"m": 0.1, "cost": 1.0}})
    assert [c["holds"] for c in claims] == [True, True, False, True]
    assert agreement == {"a": "yes", "b": "partly (1/2)", "c": "partly (1/2)", "d": "yes"}
    claims, agreement = judge(part, {"a": {"m": 0.5}, "b": {"m": 0.6}})
    assert claims[0]["holds"] is False and claims[1]["holds"] is None and agreement["b"] == "no"
    assert agreement["c"] == "n/a" and claims[0]["claim"] == "a > b on m"
    with pytest.raises(ValueError, match="unknown rows"):
        Part("p", "m", rows, (Claim("a", ">", "z"),), "t", "r")


@pytest.mark.fast
def test_replication_rows_are_timed_to_the_loss_n1_has_halfway():
    results = {"n=1": {"metrics": {}, "curve": [[0, 0.0, 1.0], [5, 10.0, 0.8], [10, 20.0, 0.6]]},
               "n=2": {"metrics": {}, "curve": [[0, 0.0, 1.0], [5, 6.0, 0.75], [10, 12.0, 0.7]]},
               "n=4": {"metrics": {}, "curve": [[0, 0.0, 1.0], [5, 4.0, 0.9], [10, 8.0, 0.85]]}}
    TABLES["omnimae-masking"].parts[1].derive(results)
    assert results["n=1"]["metrics"]["s to target"] == 10.0 and results["n=2"]["metrics"]["s to target"] == 6.0
    assert results["n=2"]["metrics"]["target loss"] == 0.8 and "s to target" not in results["n=4"]["metrics"]


def decoupled_results(tmp_path):
    table = TABLES["omnivl-decoupled"]
    results = {"pretraining paradigm": {"joint": {"metrics": {"vision-language P@1": 0.40, "text->image P@1": 0.3}},
                                        "decoupled": {"metrics": {"vision-language P@1": 0.55}}}}
    document = runner.assemble(table, results, {"command": "python -m omnivec_core.lab omnivl-decoupled",
                                                "date": "2025-01-02T03:04:05+00:00", "device": "cpu",
                                                "budget": runner.budget("tiny", 660, 256)})
    write_results(tmp_path, document)
    return document


@pytest.mark.fast
@pytest.mark.timeout(600)  # importing gradio: seconds of CPU, minutes of wall clock on a loaded machine
def test_the_papers_tab_shows_a_table_and_a_bar_per_row(tmp_path):
    from omnivec_app import papers_tab

    document = decoupled_results(tmp_path)
    assert [r["agrees"] for r in document["parts"][0]["rows"]] == ["yes", "yes"]
    markdown, figure = papers_tab.papers_table("omnivl-decoupled", tmp_path)
    assert markdown == (tmp_path / "omnivl-decoupled.md").read_text().rstrip("\n")
    assert "`python -m omnivec_core.lab omnivl-decoupled` on 2025-01-02" in markdown and "OmniVL" in markdown
    assert "| joint | image, video and text jointly from the start | 0.400 | 0.300 |" in markdown
    assert "| agrees |" in markdown and "decoupled > joint on vision-language P@1: holds (0.550 vs 0.400)" in markdown
    [bars] = figure.data
    assert bars.type == "bar" and list(bars.x) == ["joint", "decoupled"] and list(bars.y) == [0.40, 0.55]
    assert list(bars.marker.color) == [papers_tab.AGREEMENT_COLOURS["yes"]] * 2

    markdown, figure = papers_tab.papers_table("vatt-droptoken", tmp_path)
    assert figure is None and "No results yet" in markdown and "python -m omnivec_core.lab vatt-droptoken" in markdown
    (tmp_path / "mmv-spaces.json").write_text("{not json")
    with pytest.raises(Exception, match="not valid JSON"):
        papers_tab.papers_table("mmv-spaces", tmp_path)
