"""Configs: format versions and `migrate`, strict keys, today's defaults, presets, plan files, and old
checkpoints (written by the code of format version 1) loading bit for bit (to float rounding on a CPU that
renders their inputs differently in the last bit)."""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from omnivec_core.config import (MODALITIES, PRESETS, ExperimentConfig, ModelConfig, StageConfig, TrainConfig,
                                  default_stem_context, preset)
from omnivec_core.constants import FORMAT_VERSION
from omnivec_core.data.omnishapes import RENDER_CHANGES, OmniShapes, OmniShapesConfig
from omnivec_core.migrate import VECTORIZER_WEIGHT, migrate, migrate_weights
from omnivec_core.train.checkpoint import load_model
from omnivec_core.train.plans import build_config

ROOT = Path(__file__).resolve().parents[1]
LEGACY = ROOT / "tests" / "fixtures" / "legacy"
FIXTURES = sorted(p.name for p in LEGACY.iterdir() if (p / "config.json").is_file())
BUNDLED = ROOT / "checkpoints" / "omnivec-default"


# ---- old checkpoints, bit for bit ------------------------------------------------------------
def model_input(batch, modality: str, meta: dict[str, str]):
    """As tests/fixtures/legacy/make_legacy_fixtures.py fed the model: each event's first caption for text,
    as the fixture stored them (caption wording may change; the model's reading of a sentence may not)."""
    return json.loads(meta["captions"]) if modality == "text" else batch[modality]


def digest(value) -> str:
    data = json.dumps(value).encode() if isinstance(value, list) else value.contiguous().numpy().tobytes()
    return hashlib.sha256(data).hexdigest()


@torch.no_grad()
def outputs(model, batch, meta: dict[str, str], mae: bool) -> dict[str, torch.Tensor]:
    """What the fixture script stored, computed by today's code."""
    out = {}
    for m in model.cfg.modalities:
        encoded = model.encode(m, model_input(batch, m, meta))
        out[f"vector/{m}"] = encoded.vector
        out.update({f"embed/{m}/{space}": value for space, value in model.embed(encoded).items()})
        out.update({f"logits/{m}/{k}": value for k, value in model.classify(encoded).items()})
        if mae and m != "text":
            x, generator = model_input(batch, m, meta), torch.Generator().manual_seed(int(meta["mask_seed"]))
            masked = model.encode(m, x, float(meta["ratio"]), generator=generator, for_mae=True)
            prediction = model.reconstruct(masked, x).prediction
            out[f"mae/{m}"] = prediction[:int(meta["mae_events"]), :int(meta["mae_tokens"])]
    return out


@pytest.mark.parametrize("name", FIXTURES)
def test_old_checkpoints_load_and_compute_bit_identically(name):
    directory = LEGACY / name
    reference = load_file(directory / "reference.safetensors")
    with safe_open(directory / "reference.safetensors", "pt") as handle:
        meta = handle.metadata()
    model, config = load_model(directory)
    batch = OmniShapes(OmniShapesConfig()).render(int(meta["events"]), seed=int(meta["seed"]))
    rendered_alike = [m for m, expected in json.loads(meta["inputs"]).items()
                      if digest(model_input(batch, m, meta)) == expected]
    got = outputs(model, batch, meta, mae=any(key.startswith("mae/") for key in reference))
    assert set(got) == set(reference)
    redrawn = {m for version, changed in RENDER_CHANGES.items() if version > int(meta.get("world_version", 1))
               for m in changed}  # modalities the world renders otherwise since the fixture was made
    reference = {key: value for key, value in reference.items() if key.split("/")[1] not in redrawn}
    if len(rendered_alike) == len(json.loads(meta["inputs"])):  # the fixture's inputs to the bit: the outputs too
        different = [key for key in reference if not torch.equal(got[key], reference[key])]
    else:  # another CPU rounds the renderer's float maths apart in the last bit; the model must follow closely
        different = [key for key in reference if not torch.allclose(got[key], reference[key], rtol=1e-4, atol=1e-5)]
    assert not different, (f"{name}: {different} differ from what the version-1 code computed (inputs rendered "
                           f"bit for bit: {rendered_alike}; a real change in OmniShapes moves them far)")


def test_old_checkpoints_keep_their_legacy_meaning():
    omitted = ExperimentConfig.load(LEGACY / "v1-linear-shared" / "config.json")  # omits what differs today
    assert not omitted.model.conv_stem and not any(omitted.model.stem_context.values())
    assert omitted.model.time_profile == "none"
    assert omitted.model.modalities == ("image", "video", "audio", "text", "depth", "points")
    mean_pooled, _ = load_model(LEGACY / "v1-linear-shared")  # version 1 pooled the mean alone: the max weighs 0
    width = omitted.model.width
    assert mean_pooled.vectorizer.proj.weight[:, 2 * width:].eq(0).all()
    assert mean_pooled.vectorizer.proj.weight[:, :2 * width].ne(0).any()
    leaky = ExperimentConfig.load(LEGACY / "disjoint-leaky" / "config.json")  # its audio stem had context too
    assert leaky.model.stem_context == dict.fromkeys(default_stem_context(), 1)
    tiny = ExperimentConfig.load(LEGACY / "tiny-time-coarse" / "config.json")
    assert tiny.model.time_profile == "fine_and_coarse" and [s.schedule for s in tiny.train.stages] == ["own", "own"]
    bundled = ExperimentConfig.load(LEGACY / "bundled-separate" / "config.json")
    assert bundled.model.time_profile == "fine" and bundled.model.separate_decoders
    for stage in bundled.train.stages:  # the train-wide settings of version 1 now live in every stage
        assert stage.frozen == ["stems", "meta", "backbone", "vectorizer", "embedding", "tasks"]
        assert (stage.mae_weights, stage.mae_relative, stage.modality_mixing, stage.sibling_events) == (
            {"image": 4.0}, True, False, 4)
        assert stage.schedule == "continue"


def test_the_bundled_checkpoint_loads():
    model, config = load_model(BUNDLED)
    assert json.loads((BUNDLED / "config.json").read_text())["format_version"] == FORMAT_VERSION
    assert config.model.modalities == MODALITIES and config.model.text_decoder_depth == 2
    assert config.model.time_profile == "fine" and config.model.separate_decoders
    language = next(s for s in config.train.stages if s.name == "language")
    assert "decoder" in language.frozen
    assert set(model.embedding.time_heads) == {"video", "audio", "imu"} and model.language is not None


# ---- format versions and migrate ------------------------------------------------------------
def version_1(**model) -> dict:
    """A version-1 config as the old code wrote it: every key, no format_version."""
    data = json.loads((LEGACY / "bundled-separate" / "config.json").read_text())
    data["model"].update(model)
    return data


@pytest.mark.parametrize("source", [*(LEGACY / n / "config.json" for n in FIXTURES), BUNDLED / "config.json",
                                    ROOT / "configs" / "omnivec-default.json"], ids=lambda p: p.parent.name)
def test_migrate_is_idempotent_and_leaves_its_argument(source):
    data = json.loads(source.read_text())
    original = copy.deepcopy(data)
    once = migrate(data)
    assert data == original
    assert once["format_version"] == FORMAT_VERSION and migrate(once) == once
    config = ExperimentConfig.from_dict(data)
    assert ExperimentConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_a_future_format_version_is_refused():
    data = preset("tiny").to_dict()
    data["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(ValueError, match=f"format_version {FORMAT_VERSION + 1}, newer than this code"):
        ExperimentConfig.from_dict(data)
    for bad in (0, "2", True):
        with pytest.raises(ValueError, match="format_version must be a whole number"):
            migrate({**data, "format_version": bad})


@pytest.mark.parametrize("profile, in_coarse, expected", [(False, True, "none"), (False, False, "none"),
                                                         (True, False, "fine"), (True, True, "fine_and_coarse")])
def test_migrate_folds_the_time_profile_switches(profile, in_coarse, expected):
    data = version_1(fine_time_profile=profile, time_profile_in_coarse=in_coarse)
    assert ExperimentConfig.from_dict(data).model.time_profile == expected


def test_migrate_refuses_what_no_current_model_can_be():
    with pytest.raises(ValueError, match="'mean_max_time' is no longer built"):
        ExperimentConfig.from_dict(version_1(vector_pool="mean_max_time", time_slots=8))
    with pytest.raises(ValueError, match=r"model.mlp_ratio is 2.0, .*always uses 4.0"):
        ExperimentConfig.from_dict(version_1(mlp_ratio=2.0))
    assert ExperimentConfig.from_dict(version_1(mask_before_stem=False)) == ExperimentConfig.from_dict(version_1())


def test_migrate_drops_what_the_text_decoders_read_and_refuses_decoders_that_read_more():
    data = preset("tiny").to_dict()
    data["format_version"], data["model"]["text_decoder_reads"] = 2, "tokens"
    data["model"].update(stem_context=1, spectrogram_context=0)  # the preset's context convs as version 2 wrote them
    assert ExperimentConfig.from_dict(data) == preset("tiny")
    data["model"]["text_decoder_reads"] = "tokens_and_embeddings"
    with pytest.raises(ValueError, match="text_decoder_reads 'tokens_and_embeddings' is no longer built"):
        ExperimentConfig.from_dict(data)


def test_migrate_folds_the_context_counts_and_drops_the_pool():
    data = preset("small").to_dict()
    data["format_version"] = 4
    del data["model"]["stem_context"]  # version 4's defaults: context convs on every stem but the audio one
    assert ExperimentConfig.from_dict(data) == preset("small")
    data["model"].update(stem_context=2, spectrogram_context=1, vector_pool="mean_max")
    assert ExperimentConfig.from_dict(data).model.stem_context == {"visual": 2, "audio": 1, "depth": 2}
    data["model"].update(vector_pool="max")
    with pytest.raises(ValueError, match="model.vector_pool must be 'mean' or 'mean_max', got 'max'"):
        ExperimentConfig.from_dict(data)


def test_migrate_weights_changes_only_what_a_format_step_changed():
    weights = load_file(BUNDLED / "model.safetensors")  # mean and max: nothing to change
    migrated = migrate_weights(json.loads((BUNDLED / "config.json").read_text()), weights)
    assert migrated == weights and all(migrated[k] is weights[k] for k in weights)
    data = json.loads((LEGACY / "v1-linear-shared" / "config.json").read_text())
    old = load_file(LEGACY / "v1-linear-shared" / "model.safetensors")
    widened = migrate_weights(data, old)
    assert old[VECTORIZER_WEIGHT].shape == (32, 64) and widened[VECTORIZER_WEIGHT].shape == (32, 96)
    assert migrate_weights(migrate(data), widened) == widened  # a current config changes no weights


def test_migrate_warns_of_training_settings_that_became_constants():
    data = version_1()
    data["train"].update(temperature=0.05, compile=True)
    with pytest.warns(UserWarning, match=r"train.temperature is 0.05, .*further training uses 0.07"):
        config = ExperimentConfig.from_dict(data)
    assert config == ExperimentConfig.from_dict(version_1())  # compile is a command-line flag now


def test_migrate_keeps_the_warmup_of_an_old_whole_plan_schedule():
    data = version_1()
    data["train"].update(warmup_steps=50, stage_schedules=False)
    data["train"]["stages"] = [{"name": "a", "steps": 100, "objectives": {"mae": 1.0}},
                               {"name": "b", "steps": 20, "objectives": {"mae": 1.0}}]
    stages = ExperimentConfig.from_dict(data).train.stages  # 50 is more than today's default of a fifth
    assert [(s.schedule, s.warmup_steps) for s in stages] == [("continue", 50), ("continue", None)]


# ---- strict keys, today's defaults ----------------------------------------------------------
@pytest.mark.parametrize("where", ["top", "model", "train", "stage"])
def test_unknown_keys_are_refused_at_every_level(where):
    data = preset("tiny").to_dict()
    section = {"top": data, "model": data["model"], "train": data["train"], "stage": data["train"]["stages"][1]}
    section[where]["colour_depth"] = 3
    with pytest.raises(ValueError, match=r"unknown .*key 'colour_depth'; valid keys: .*") as error:
        ExperimentConfig.from_dict(data)
    valid = {"top": "format_version, model, preset, train", "model": "backbone, classes, coarse_dim",
             "train": "attribute_weights, batch_size", "stage": "frozen, lr"}[where]
    assert valid in str(error.value)
    if where == "stage":
        assert "train.stages[1]" in str(error.value)


def test_missing_keys_take_todays_defaults():
    assert ExperimentConfig.from_dict({"format_version": FORMAT_VERSION}) == ExperimentConfig()
    data = {"format_version": FORMAT_VERSION, "model": {"width": 64, "heads": 4},
            "train": {"stages": [{"name": "a", "steps": 5, "objectives": {"mae": 1.0}}]}}
    config = ExperimentConfig.from_dict(data)
    assert config.model == dataclasses.replace(ModelConfig(), width=64, heads=4)
    assert config.model.conv_stem and config.model.stem_context == default_stem_context()  # not version 1's
    assert config.train == TrainConfig(stages=[StageConfig("a", 5, {"mae": 1.0})])
    with pytest.raises(ValueError, match=r"train.stages\[0\] lacks \['objectives'\]"):
        ExperimentConfig.from_dict({"format_version": 2, "train": {"stages": [{"name": "a", "steps": 5}]}})


def test_model_and_train_hold_few_fields():
    """Options no preset, lab row or app control sets are constants (constants.py; `migrate` drops them from old
    configs, or turns an old model into one of today's, as a mean-pooling vectorizer into a mean-and-max one with
    zero weights for the max). A new option has to earn its place (or replace one)."""
    assert len(dataclasses.fields(ModelConfig)) + len(dataclasses.fields(TrainConfig)) <= 40


def test_a_disjoint_space_without_video_is_refused_at_once():
    with pytest.raises(ValueError, match="embed_space 'disjoint' pairs video with each other modality.*no video"):
        ModelConfig(modalities=("image", "audio", "text"), embed_space="disjoint")
    with pytest.raises(ValueError, match="time_profile 'fine' needs embed_space 'fac'"):
        ModelConfig(embed_space="shared", time_profile="fine")


def test_stage_schedules_are_checked():
    with pytest.raises(ValueError, match="stage 'b': schedule must be one of"):
        StageConfig("b", 1, {"mae": 1.0}, schedule="restart")
    with pytest.raises(ValueError, match="stage 'b' continues the schedule of the stage before it"):
        TrainConfig(stages=[StageConfig("a", 1, {"mae": 1.0}), StageConfig("b", 1, {"mae": 1.0}, lr=1e-3)])
    TrainConfig(stages=[StageConfig("a", 1, {"mae": 1.0}, lr=1e-3),
                        StageConfig("b", 1, {"mae": 1.0}, schedule="own", lr=1e-4, warmup_steps=0)])


# ---- presets and plan files -----------------------------------------------------------------
def test_presets_are_factories_in_a_registry():
    assert list(PRESETS) == ["lesson", "tiny", "small", "base", "omnimae"]
    assert preset("tiny") == PRESETS["tiny"]() and preset("tiny") is not preset("tiny")
    with pytest.raises(ValueError, match="unknown preset 'huge'; choose one of lesson, tiny, small, base, omnimae"):
        preset("huge")


@pytest.mark.parametrize("name, file", [("lesson", "lesson.json"), ("tiny", "classroom.json"),
                                        ("small", "gpu-small.json")])
def test_plan_files_write_out_the_presets(name, file):
    assert ExperimentConfig.load(ROOT / "configs" / file) == preset(name)


def test_the_recipe_file_holds_the_bundled_models_whole_recipe():
    config = ExperimentConfig.load(ROOT / "configs" / "omnivec-default.json")
    bundled = ExperimentConfig.load(BUNDLED / "config.json")
    assert config == bundled, "the bundled model is what the recipe makes, by one command"
    stages = config.train.stages
    assert [s.name for s in stages] == ["pretrain", "align", "finetune", "polish", "reconstruct", "reconstruct-image",
                                        "pairs", "language", "image-decoder", "varied", "language-varied"]
    assert all("bind" in s.objectives for s in stages[1:4]), "every modality meets the captions"
    encoder = {"stems", "meta", "backbone", "vectorizer", "embedding", "tasks"}
    decoders = stages[4:6] + stages[8:9]
    assert all(encoder <= set(s.frozen) and "decoder" not in s.frozen for s in decoders), "MAE decoders only"
    pairs = stages[6]
    assert "pairs" in pairs.objectives and not encoder & set(pairs.frozen), "every pair met, by the encoder"
    assert "decoder" in pairs.frozen, "the MAE decoders the reconstruct stages trained are kept"
    for language in (stages[7], stages[10]):  # the text decoders alone, the second time after the varied stage
        assert encoder | {"decoder"} <= set(language.frozen) and set(language.objectives) == {"matching", "captioning"}
    varied = stages[9]
    assert varied.varied_looks > 0 and not set(varied.frozen), "the whole model meets media of every look"
    assert stages[10].varied_looks == varied.varied_looks and all(s.varied_looks == 0 for s in stages[:9])
    assert len(config.model.modalities) == 7 and config.model.text_decoder_depth > 0


def test_the_cli_and_the_train_tab_share_one_builder(tmp_path):
    config = build_config(ROOT / "configs" / "omnivec-default.json", steps=30, lr=1e-3, seed=3)
    assert config.train.total_steps == 30 and all(s.steps >= 1 for s in config.train.stages)
    assert (config.train.lr, config.train.seed) == (1e-3, 3)
    assert all(s.warmup_steps is None or s.warmup_steps <= 20 for s in config.train.stages)
    assert build_config(None, "small", batch_size=4).train.batch_size == 4
