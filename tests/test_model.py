"""Model behaviour over every preset, modality and architecture variant."""
from __future__ import annotations

import dataclasses
import functools

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from omnivec_core.config import MODALITIES, PRESETS, ExperimentConfig, ModelConfig, default_stem_context, preset
from omnivec_core.migrate import VECTORIZER_WEIGHT, migrate_weights
from omnivec_core.modalities import REGISTRY
from omnivec_core.model import OmniVec
from omnivec_core.model.heads import Vectorizer
from omnivec_core.model.tokens import gather_tokens, make_masking, masked_max, masked_mean, masked_slot_mean

BATCH = 2


def sample(modality: str, batch: int = BATCH):
    g = torch.Generator().manual_seed(1)
    return {
        "image": lambda: torch.rand(batch, 3, 64, 64, generator=g),
        "video": lambda: torch.rand(batch, 8, 3, 64, 64, generator=g),
        "audio": lambda: torch.randn(batch, 1, 64, 64, generator=g),
        "text": lambda: ["a small red circle moves to the left", "the big blue hexagon spins fast"][:batch],
        "depth": lambda: torch.rand(batch, 1, 64, 64, generator=g),
        "points": lambda: torch.randn(batch, 1024, 3, generator=g),
        "imu": lambda: torch.randn(batch, 100, 6, generator=g),
    }[modality]()


NO_CONTEXT = dict.fromkeys(default_stem_context(), 0)  # stem_context of a model without context convs


def build(name: str, **changes) -> OmniVec:
    """The preset's model with `changes`, seeded; built once per distinct call (a dict by its items)."""
    return _built(name, tuple((k, tuple(v.items()) if isinstance(v, dict) else v) for k, v in changes.items()))


@functools.cache
def _built(name: str, changes: tuple) -> OmniVec:
    torch.manual_seed(0)
    cfg = preset(name).model
    return OmniVec(dataclasses.replace(cfg, **{k: dict(v) if isinstance(getattr(cfg, k), dict) else v
                                               for k, v in changes}))


@pytest.mark.parametrize("name, modality", [(name, m) for name in PRESETS for m in MODALITIES
                                             if m in preset(name).model.modalities])
def test_shapes_and_finite(name, modality):
    model = build(name).eval()
    cfg = model.cfg
    with torch.no_grad():
        encoded = model.encode(modality, sample(modality))
        spaces = model.embed(encoded)
    tokens = REGISTRY[modality].tokens
    if modality == "text":  # captions are padded to the batch's longest, at most the caption window
        assert encoded.stem.grid[1] <= tokens
        tokens = encoded.stem.grid[1]
    assert encoded.tokens.shape == (BATCH, 1 + tokens, cfg.width)
    assert encoded.vector.shape == (BATCH, cfg.width)
    assert set(spaces) == ({"coarse"} if modality == "text" else {"fine", "coarse"})
    for space, value in spaces.items():
        assert value.shape == (BATCH, cfg.fine_dim if space == "fine" else cfg.coarse_dim)
        assert torch.allclose(value.norm(dim=-1), torch.ones(BATCH), atol=1e-4)
        assert torch.isfinite(value).all()
    assert torch.isfinite(encoded.tokens).all()
    if REGISTRY[modality].reconstruct:
        with torch.no_grad():
            out = model.reconstruct(model.encode(modality, sample(modality), 0.75, for_mae=True), sample(modality))
        assert out.prediction.shape == out.target.shape == (BATCH, tokens, out.target.shape[-1])
        assert torch.isfinite(out.prediction).all()


UNTIMED = {"time_profile": "none"}  # shared and disjoint have no fine space
VARIANTS = [("tiny", {}), ("tiny", {"backbone": "specific"}), ("tiny", {"embed_space": "shared", **UNTIMED}),
            ("tiny", {"embed_space": "disjoint", **UNTIMED}), ("tiny", {"conv_stem": False, "stem_context": NO_CONTEXT}),
            ("tiny", {"conv_stem": True}), ("tiny", {"stem_context": {"visual": 2, "depth": 2}}),
            ("tiny", {"stem_context": {"audio": 1}}),
            ("tiny", UNTIMED), ("tiny", {"time_profile": "fine"}),
            ("tiny", {"separate_decoders": True}), ("small", {}), ("base", {})]
VARIANT_IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in c.items()) or 'default'}" for n, c in VARIANTS]


@pytest.mark.parametrize("name,changes", VARIANTS, ids=VARIANT_IDS)
def test_every_trainable_parameter_gets_a_gradient(name, changes):
    model = build(name, **changes).train()
    for head in model.embedding.time_heads.values():  # they start at zero, which holds back the norms'
        torch.nn.init.normal_(head[-1].weight, std=0.02)  # gradient for one step; test as after it
    loss = 0.0
    for modality in MODALITIES:
        x = sample(modality)
        encoded = model.encode(modality, x)
        loss = loss + sum(v.sum() for v in model.embed(encoded).values())
        loss = loss + sum(v.sum() for v in model.classify(encoded).values())
        if REGISTRY[modality].dense:
            loss = loss + model.segment(encoded, x).mean()
        if REGISTRY[modality].reconstruct:
            out = model.reconstruct(model.encode(modality, x, 0.5, for_mae=True), x)
            loss = loss + out.prediction.square().mean()
    model.zero_grad()
    loss.backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    missing = [n for n, p in trainable.items() if p.grad is None or not (p.grad != 0).any()]
    assert not missing, f"no gradient reached {missing}"
    assert all(torch.isfinite(p.grad).all() for p in trainable.values())
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert all(n.startswith(tuple(model.frozen_prefixes())) for n in frozen)


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5, 0.75, 0.9, 0.95])
@pytest.mark.parametrize("tokens", [24, 64, 256])
def test_random_masking_keeps_exact_count_and_restores(ratio, tokens):
    m = make_masking(3, (1, tokens), ratio, "random")
    assert m.ids_keep.shape == (3, max(1, round((1 - ratio) * tokens)))
    assert torch.equal(m.mask.sum(1), torch.full((3,), float(tokens - m.ids_keep.shape[1])))
    x = torch.randn(3, tokens, 5)
    kept = gather_tokens(x, m.ids_keep)
    removed_ids = torch.argsort(m.ids_restore, 1)[:, m.ids_keep.shape[1]:]
    shuffled = torch.cat([kept, gather_tokens(x, removed_ids)], 1)
    assert torch.equal(gather_tokens(shuffled, m.ids_restore), x)
    assert torch.equal(m.mask.bool(), ~torch.zeros(3, tokens, dtype=torch.bool).scatter(1, m.ids_keep, True))


def test_pooling_ignores_padding_and_empty_rows_give_zeros():
    x = torch.tensor([[[1.0, -5.0], [3.0, 9.0], [100.0, 100.0]],
                      [[7.0, 7.0], [7.0, 7.0], [7.0, 7.0]]])                       # (B=2, N=3, D=2)
    padding = torch.tensor([[False, False, True], [True, True, True]])
    assert torch.equal(masked_mean(x, padding), torch.tensor([[2.0, 2.0], [0.0, 0.0]]))
    assert torch.equal(masked_max(x, padding), torch.tensor([[3.0, 9.0], [0.0, 0.0]]))
    assert torch.equal(masked_mean(x, None), x.mean(1))
    assert torch.equal(masked_max(x, None), x.amax(1))


def test_slot_mean_ignores_padding_and_empty_slots_give_zeros():
    x = torch.tensor([[[1.0], [3.0], [10.0], [100.0]]])                  # (B=1, N=4, D=1)
    slot = torch.tensor([[0, 0, 2, 2]])
    padding = torch.tensor([[False, False, False, True]])
    assert torch.equal(masked_slot_mean(x, slot, 3, padding), torch.tensor([[[2.0], [0.0], [10.0]]]))


def test_time_profile_sees_when_and_mean_max_does_not():
    torch.manual_seed(0)
    content = torch.randn(2, 9, 16)
    tokens = torch.cat([torch.randn(2, 1, 16), content], 1)               # (B, 1+N, D), meta token first
    slot = torch.arange(9).div(3, rounding_mode="floor").expand(2, -1)    # three time steps of three tokens
    swap_steps = torch.tensor([3, 4, 5, 0, 1, 2, 6, 7, 8])                # steps 0 and 1 trade places
    within_step = torch.tensor([2, 0, 1, 4, 5, 3, 8, 6, 7])               # order inside each step changes
    moved = lambda order: torch.cat([tokens[:, :1], content[:, order]], 1)  # noqa: E731
    profile = lambda t: masked_slot_mean(t[:, 1:], slot, 3, None).flatten(1)  # noqa: E731  (what fine heads read)
    untimed = Vectorizer(16)
    torch.testing.assert_close(untimed(moved(swap_steps)), untimed(tokens))
    torch.testing.assert_close(profile(moved(within_step)), profile(tokens))
    assert not torch.allclose(profile(moved(swap_steps)), profile(tokens))


@pytest.mark.parametrize("modality", ["video", "audio"])
def test_time_profile_under_droptoken_uses_the_kept_tokens_own_steps(modality):
    model = build("tiny").eval()
    x = sample(modality)
    with torch.no_grad():
        dropped = model.encode(modality, x, 0.5, "random", torch.Generator().manual_seed(0))
        steps, per_step = dropped.stem.grid
        slot = dropped.masking.ids_keep // per_step
        expected = masked_slot_mean(dropped.tokens[:, 1:], slot, steps, None).flatten(1)
    torch.testing.assert_close(dropped.time_profile, expected)
    assert slot.max() > 0 and slot.min() == 0


def test_fine_time_profile_starts_as_the_plain_head_and_then_sees_when():
    plain = build("tiny", time_profile="none")
    timed = OmniVec(dataclasses.replace(plain.cfg, time_profile="fine_and_coarse"))
    timed.load_state_dict(plain.state_dict(), strict=False)
    plain.eval(), timed.eval()
    video = sample("video")
    swapped = video[:, [2, 3, 0, 1, 4, 5, 6, 7]]  # the first two tubelets trade places
    with torch.no_grad():
        torch.testing.assert_close(timed.embed(timed.encode("video", video))["fine"],
                                   plain.embed(plain.encode("video", video))["fine"])
        for head in timed.embedding.time_heads.values():
            torch.nn.init.normal_(head[-1].weight, std=0.05)
        before, after = (timed.encode("video", v) for v in (video, swapped))
        assert before.time_profile.shape == (BATCH, 4 * timed.cfg.width)
        assert not torch.allclose(timed.embed(before)["fine"], timed.embed(after)["fine"], atol=1e-3)
        assert timed.embed(timed.encode("image", sample("image")))["fine"].shape == (BATCH, timed.cfg.fine_dim)
    timed_modalities = set(timed.embedding.time_heads)  # clips, sounds and traces: their tokens have an order
    assert {"video", "audio", "imu"} == timed_modalities
    with pytest.raises(ValueError, match="time_profile 'fine' needs embed_space 'fac'"):
        dataclasses.replace(preset("tiny").model, time_profile="fine", embed_space="shared")


@pytest.mark.parametrize("modality", ["image", "video", "audio", "depth"])
def test_mae_hides_its_patches_from_the_stem(modality):
    model = build("tiny").eval()
    x = sample(modality)
    with torch.no_grad():
        first = model.encode(modality, x, 0.75, "random", torch.Generator().manual_seed(3), for_mae=True)
        target = REGISTRY[modality].mae_target(model.cfg, x, {})                          # (B, N, d)
        under_hidden = torch.rand_like(target) * first.masking.mask.unsqueeze(-1)  # changes only hidden patches
        changed = REGISTRY[modality].target_to_input(model.cfg, target + under_hidden, x)
        second = model.encode(modality, changed, 0.75, "random", torch.Generator().manual_seed(3), for_mae=True)
        dropped = [model.encode(modality, v, 0.75, "random", torch.Generator().manual_seed(3)) for v in (x, changed)]
    assert torch.equal(first.masking.mask, second.masking.mask)
    assert torch.allclose(first.tokens, second.tokens, atol=1e-5)  # the hidden patches never reached the encoder
    assert not torch.allclose(*(d.tokens for d in dropped), atol=1e-5)  # DropToken leaves the stem its full view,
    # through which the same change does reach the tokens: without blanking first, MAE would see it too
    with pytest.raises(ValueError, match="needs an MAE encoding"):
        model.reconstruct(dropped[0], x)


@pytest.mark.parametrize("in_coarse", [False, True])
def test_coarse_space_sees_the_time_profile_only_when_asked(in_coarse):
    torch.manual_seed(0)
    profile = "fine_and_coarse" if in_coarse else "fine"
    model = OmniVec(dataclasses.replace(preset("tiny").model, time_profile=profile)).eval()
    for head in model.embedding.time_heads.values():
        torch.nn.init.normal_(head[-1].weight, std=0.05)
    with torch.no_grad():
        encoded = model.encode("video", sample("video"))
        profiled = model.embed(encoded)
        reversed_time = model.embed(dataclasses.replace(encoded, time_profile=encoded.time_profile.flip(-1)))
    assert not torch.allclose(profiled["fine"], reversed_time["fine"], atol=1e-3)
    assert torch.allclose(profiled["coarse"], reversed_time["coarse"], atol=1e-6) != in_coarse


@pytest.mark.parametrize("kind", ["tube", "frame", "causal"])
def test_structured_masks(kind):
    steps, per_step = 4, 64
    m = make_masking(5, (steps, per_step), 0.75, kind)
    grid = m.mask.reshape(5, steps, per_step)
    if kind == "tube":
        assert torch.equal(grid, grid[:, :1].expand_as(grid)), "a tube mask must be constant over time"
        assert int(grid[0, 0].sum()) == per_step - round(0.25 * per_step)
    else:
        per_frame = grid.mean(2)
        assert torch.all((per_frame == 0) | (per_frame == 1)), "frames are kept or removed whole"
        assert int(per_frame[0].sum()) == steps - round(0.25 * steps)
    if kind == "causal":
        assert torch.equal(grid[:, -1], torch.ones(5, per_step)) and torch.equal(grid[:, 0], torch.zeros(5, per_step))


def test_time_masks_need_a_time_axis():
    with pytest.raises(ValueError, match="time axis"):
        make_masking(2, (1, 64), 0.5, "frame")


def backbone_flops(model: OmniVec, modality: str, ratio: float) -> int:
    prepared = model._prepare(modality, sample(modality), ratio, "random", None)
    with FlopCounterMode(display=False) as counter:
        model.backbone(prepared.sequence, modality)
    return counter.get_total_flops()


@pytest.mark.parametrize("modality", ["video", "image", "audio", "depth", "points"])
def test_droptoken_half_cuts_backbone_flops(modality):
    model = build("small").eval()
    with torch.no_grad():
        ratio = backbone_flops(model, modality, 0.5) / backbone_flops(model, modality, 0.0)
    assert ratio <= 0.55, f"DropToken 0.5 left {ratio:.2f}x of the FLOPs"


@pytest.mark.parametrize("name", PRESETS)
def test_caption_embedding_does_not_depend_on_its_batch(name):
    model = build(name).eval()
    caption = "a red square moving left"
    others = ["there is a small blue hexagon that spins slowly in the scene and keeps turning in place"] * 5
    with torch.no_grad():
        alone = model.embed(model.encode("text", [caption]))["coarse"]
        batched = model.embed(model.encode("text", [caption] + others))["coarse"][:1]
    assert torch.allclose(alone, batched, atol=1e-5)


def written_by_version_1(config: ExperimentConfig) -> dict:
    """`config` as the code of format version 1 wrote it: no format_version, the time profile as two switches,
    context convs as two counts (the audio stem's and the others'), the pooling named."""
    data = config.to_dict()
    del data["format_version"]
    model = data["model"]
    profile, context = model.pop("time_profile"), model.pop("stem_context")
    model.update(fine_time_profile=profile != "none", time_profile_in_coarse=profile == "fine_and_coarse",
                 mask_before_stem=True, stem_context=context["visual"], spectrogram_context=context["audio"],
                 vector_pool="mean_max")
    return data


def test_configs_from_before_an_option_load_as_they_were_trained():
    old = written_by_version_1(preset("tiny"))
    for key in ("spectrogram_context", "vector_pool", "conv_stem", "stem_context", "time_profile_in_coarse",
                "mask_before_stem"):
        del old["model"][key]
    model = ExperimentConfig.from_dict(old).model
    assert not model.conv_stem and model.stem_context == NO_CONTEXT
    assert model.time_profile == "fine_and_coarse"  # before time_profile_in_coarse, the coarse space had the profile
    assert ModelConfig().time_profile == "none"
    for pool in ("attention", "mean_max_time"):
        with pytest.raises(ValueError, match="vector_pool"):
            ExperimentConfig.from_dict({**old, "model": {**old["model"], "vector_pool": pool}})


def test_a_mean_vectorizer_widened_by_migrate_computes_what_it_did():
    """A version-1 "mean" vectorizer projected (meta, mean); migrate_weights gives it zero weights for the max."""
    torch.manual_seed(0)
    width = 32
    tokens, weight, bias = torch.randn(6, 17, width), torch.randn(width, 2 * width), torch.randn(width)
    before = torch.nn.functional.linear(torch.cat([tokens[:, 0], masked_mean(tokens[:, 1:], None)], -1), weight, bias)
    old = {VECTORIZER_WEIGHT: weight, "vectorizer.proj.bias": bias}
    widened = migrate_weights({"model": {"vector_pool": "mean"}}, old)
    assert old[VECTORIZER_WEIGHT] is weight and widened["vectorizer.proj.bias"] is bias
    vectorizer = Vectorizer(width)
    vectorizer.load_state_dict({k.removeprefix("vectorizer."): v for k, v in widened.items()})
    with torch.no_grad():
        torch.testing.assert_close(vectorizer(tokens), before, rtol=0, atol=1e-5)  # products with 0 add nothing
    assert migrate_weights({"model": {"vector_pool": "mean_max"}}, old) == old


def test_each_stem_has_its_own_context_convs_and_old_configs_keep_theirs():
    def convs(stems, key):
        return sum(isinstance(m, torch.nn.Conv2d) for m in stems[key].modules())
    plain, wider = build("tiny").stems, build("tiny", stem_context={"audio": 2, "depth": 3}).stems
    assert convs(plain, "depth") == 3 + 1 and convs(wider, "depth") == 3 + 3  # 8 px: 3 stride-2, then context
    assert convs(wider, "audio") == convs(plain, "audio") + 2 and convs(wider, "visual") == convs(plain, "visual")
    assert ModelConfig().stem_context == {m.stem: m.stem_context for m in REGISTRY.values()
                                          if m.stem in ("visual", "audio", "depth")}
    assert ModelConfig().stem_context["audio"] == 0, "the audio stem keeps onsets sharp"
    old = written_by_version_1(preset("tiny"))
    old["model"]["stem_context"] = 2
    del old["model"]["spectrogram_context"]  # written before the setting existed: audio had stem_context too
    assert ExperimentConfig.from_dict(old).model.stem_context == dict.fromkeys(NO_CONTEXT, 2)
    with pytest.raises(ValueError, match=r"stem_context\['audio'\] needs conv_stem"):
        ModelConfig(conv_stem=False, stem_context={**NO_CONTEXT, "audio": 1})
    assert ModelConfig(conv_stem=False).stem_context == NO_CONTEXT  # a linear stem takes no context convs
    with pytest.raises(ValueError, match=r"stem_context\['depth'\] needs conv_stem and must be >= 0, got -1"):
        ModelConfig(stem_context={"depth": -1})
    for wrong in ({"points": 1}, 1):
        with pytest.raises(ValueError, match="stem_context must map stems that take context convs "
                                             r"\(visual, audio, depth\)"):
            ModelConfig(stem_context=wrong)


@pytest.mark.parametrize("conv_stem", [False, True])
def test_image_is_a_one_frame_video(conv_stem):
    model = build("tiny", conv_stem=conv_stem, stem_context={} if conv_stem else NO_CONTEXT).eval()
    image = sample("image")
    with torch.no_grad():
        as_image = model.run_stem("image", image).tokens
        as_video = model.run_stem("video", image.unsqueeze(1)).tokens
    assert as_image.shape == (BATCH, 64, model.cfg.stem_dim)
    assert torch.equal(as_image, as_video)


def test_recording_activations_matches_fast_path():
    model = build("tiny").eval()
    video = sample("video")
    with torch.no_grad():
        fast = model.encode("video", video)
        recorded = model.encode("video", video, record=True)
    assert torch.allclose(fast.vector, recorded.vector, atol=1e-5)
    assert len(recorded.hidden) == len(recorded.attention) == model.cfg.depth
    attention = recorded.attention[0]
    assert attention.shape == (BATCH, model.cfg.heads, 257, 257)
    assert torch.allclose(attention.sum(-1), torch.ones_like(attention.sum(-1)), atol=1e-4)


def test_encode_many_groups_match_single_encodes():
    model = build("tiny").eval()
    inputs = {m: sample(m) for m in ("image", "audio", "depth", "text")}
    with torch.no_grad():
        together = model.encode_many(inputs)
        for m, x in inputs.items():
            assert torch.allclose(together[m].vector, model.encode(m, x).vector, atol=1e-5)


def test_unknown_modality_is_a_clear_error():
    model = build("tiny", modalities=("image", "text"))
    with pytest.raises(ValueError, match="no 'audio' input"):
        model.encode("audio", sample("audio"))
