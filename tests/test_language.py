"""OmniVL's text decoders: the caption vocabulary, the matching and captioning objectives, decoding."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from omnivec_core.analysis.captioning import DECODINGS, caption, match_probabilities, sample
from omnivec_core.config import StageConfig, preset
from omnivec_core.data.omnishapes import OmniShapes, OmniShapesConfig, caption_words, parse_caption
from omnivec_core.model import OmniVec
from omnivec_core.model.language import COMMA, DEC, ENC, EOS, PAD, UNK, CaptionVocabulary
from omnivec_core.modalities import CAPTIONS, REGISTRY
from omnivec_core.objectives import check_plan, stage_losses
from omnivec_core.objectives.language import hard_negatives
from omnivec_core.train.checkpoint import load_model

pytestmark = pytest.mark.model
BUNDLED = Path(__file__).resolve().parents[1] / "checkpoints" / "omnivec-default"


def test_every_generated_caption_is_spelled_in_the_vocabulary_and_reads_back():
    vocabulary = CaptionVocabulary()
    captions = [c for row in OmniShapes(OmniShapesConfig()).render(300, seed=11)["text"] for c in row]
    ids = vocabulary.encode(captions, DEC)
    assert (ids[:, 0] == DEC).all() and not (ids == UNK).any()
    assert ((ids == EOS).sum(1) == 1).all(), "one [EOS] per caption"
    assert [vocabulary.decode(row[1:]) for row in ids] == captions
    assert vocabulary.encode(["a purple zebra"], ENC).tolist() == [[ENC, vocabulary.index["a"],
                                                                     vocabulary.index["purple"], UNK, EOS]]
    assert "," in caption_words() and "zebra" not in caption_words()
    with pytest.raises(TypeError, match="list of strings"):
        vocabulary.encode("a red cube", DEC)


def test_hard_negatives_are_drawn_only_where_allowed():
    similarity = torch.randn(64, 10)
    allowed = torch.rand(64, 10) > 0.5
    allowed[0] = False  # nothing allowed: uniform
    drawn = hard_negatives(similarity, allowed, torch.Generator().manual_seed(0))
    assert all(allowed[i, j] for i, j in enumerate(drawn.tolist()) if allowed[i].any())


def test_plan_without_text_decoders_is_refused():
    config = preset("tiny")
    config.train.stages = [StageConfig("lang", 5, {"captioning": 1.0})]
    with pytest.raises(ValueError, match="text_decoder_depth"):
        check_plan(config.model, config.train)
    config.model.text_decoder_depth = 1
    config.train.stages = [StageConfig("lang", 5, {"matching": 1.0}, modalities=["image", "video"])]
    with pytest.raises(ValueError, match="captions"):
        check_plan(config.model, config.train)


@pytest.fixture(scope="module")
def trained():
    """The bundled model's encoder with fresh decoders (one block each) fitted to 16 events for 60 steps,
    all else held: OmniVL trains its decoders on an encoder whose tokens already tell inputs apart."""
    torch.manual_seed(0)
    bundled, config = load_model(BUNDLED)
    config.model.text_decoder_depth = 1
    model = OmniVec(config.model)
    model.load_state_dict(bundled.trainable_state_dict(), strict=False)
    model.hold([name for name, _ in model.named_children() if name != "language"])
    stage = StageConfig("lang", 60, {"matching": 1.0, "captioning": 1.0})
    batch = OmniShapes(OmniShapesConfig()).render(16, seed=3)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], 3e-3)
    history = []
    for step in range(60):
        loss, named = stage_losses(model, batch, config.train, stage, step)
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.language.parameters())
        optimizer.step()
        history.append({k: v.item() for k, v in named.items()})
    return model.eval(), batch, history


def signals(model) -> list[str]:
    return [m for m in model.cfg.modalities if m != CAPTIONS]


def test_decoders_lower_their_losses(trained):
    model, _, history = trained
    for m in signals(model):
        first, last = (sum(h[f"lm/{m}"] for h in part) / 5 for part in (history[:5], history[-5:]))
        assert last < 0.6 * first, (m, first, last)
    matching = [sum(h[f"vlm/{m}"] for m in signals(model)) for h in history]
    assert sum(matching[-5:]) < sum(matching[:5])


@pytest.mark.parametrize("decoding", DECODINGS)
def test_captions_are_sentences_of_the_vocabulary_for_every_modality(trained, decoding):
    model, batch, _ = trained
    words = set(caption_words())
    for m in signals(model):
        said = caption(model, m, REGISTRY[m].batch_input(batch)[:4], decoding)
        assert len(said) == 4 and all(s and s[0].isupper() for s in said), said
        assert all(set(s.lower().replace(",", " ,").split()) <= words for s in said), said


def test_captions_depend_on_the_input_and_end_at_eos(trained):
    model, batch, _ = trained
    captions = [row[0] for row in batch["text"]]
    with torch.no_grad():
        encoded = model.encode("video", batch["video"])
        memory, padding = model.language_memory(encoded)
        own = model.language.lm_loss(memory, padding, captions)
        others = model.language.lm_loss(memory.roll(1, 0), padding, captions)
    assert own < 0.8 * others, "the generation decoder reads the input through its cross-attention"
    said = caption(model, "video", batch["video"])
    right = [parse_caption(s).get("shape") == parse_caption(t[0])["shape"] for s, t in zip(said, batch["text"])]
    assert sum(right) >= 12, "fitted captions name their events' shapes"
    ids = sample(model.language, memory, padding, 0.0, None)
    for row in ids.tolist():
        assert row[0] == DEC and EOS in row and all(t == PAD for t in row[row.index(EOS) + 1:]), row
        assert row[1] not in (EOS, COMMA), "a caption starts with a word"


def test_match_probabilities_prefer_the_own_caption(trained):
    model, batch, _ = trained
    captions = [row[0] for row in batch["text"]]
    probabilities = match_probabilities(model, "image", batch["image"], captions)
    assert probabilities.shape == (16, 16) and ((probabilities >= 0) & (probabilities <= 1)).all()
    assert probabilities.diagonal().mean() > probabilities.mean()
