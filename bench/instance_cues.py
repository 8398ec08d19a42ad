"""What video->audio instance retrieval gets wrong, and whether the flash timing that tells two
otherwise equal events apart survives into the vectors and the shared embedding.

    python bench/instance_cues.py [--checkpoint checkpoints/omnivec-default] [--n 1000]

Prints two tables: (1) the wrong top-1 hits among N validation events grouped by which attributes
the retrieved audio's event differs in from the query's, and whether its flash frames differ; (2) for
each flash frame, the accuracy of a linear probe that reads "this frame flashes" from the video and
audio vectors, from their fine-space embeddings, and from the backbone's tokens averaged per time
step (before any pooling), beside the majority class. Validation seeds only (the probe trains on
the next seed).
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from omnivec_core.analysis.embeddings import embed_batch  # noqa: E402
from omnivec_core.evaluate import VALIDATION_SEED, linear_probe  # noqa: E402
from omnivec_core.data.omnishapes import ATTRIBUTES, OmniShapes  # noqa: E402
from omnivec_core.train.checkpoint import load_model  # noqa: E402


def error_kinds(batch, similarity: torch.Tensor) -> tuple[float, collections.Counter]:
    """R@1 and a count of wrong top-1 hits by (attributes that differ, whether the flash frames differ)."""
    top = similarity.argmax(1)
    kinds = collections.Counter()
    for query, hit in enumerate(top.tolist()):
        if hit != query:
            differ = [a for a in ATTRIBUTES if batch.labels[a][query] != batch.labels[a][hit]]
            flashes = "differ" if not torch.equal(batch.params["onsets"][query], batch.params["onsets"][hit]) else "same"
            kinds[(", ".join(differ) or "none", flashes)] += 1
    return (top == torch.arange(len(top))).float().mean().item(), kinds


def flash_probe(train, test, train_features, test_features) -> list[float]:
    """Accuracy of a linear probe for each flash frame (frame 0 never flashes)."""
    onsets_train, onsets_test = train.params["onsets"].numpy(), test.params["onsets"].numpy()
    return [linear_probe(train_features, onsets_train[:, f], test_features, onsets_test[:, f])
            for f in range(1, onsets_test.shape[1])]


def time_profile(model, modality: str, x: torch.Tensor) -> torch.Tensor:
    """The backbone's content tokens averaged over everything but time: (B, time steps * D)."""
    encoded = model.encode(modality, x)
    time_steps, rest = encoded.stem.grid  # video (t, h*w) and audio (t, f) token grids are time-major
    tokens = encoded.tokens[:, 1:]        # (B, t*rest, D) without the meta token
    return tokens.unflatten(1, (time_steps, rest)).mean(2).flatten(1)  # (B, t*D)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default="checkpoints/omnivec-default")
    parser.add_argument("--n", type=int, default=1000, help="validation events (retrieval candidates)")
    args = parser.parse_args(argv)

    model, _ = load_model(Path(args.checkpoint))
    world = OmniShapes()
    test, train = world.render(args.n, seed=VALIDATION_SEED), world.render(args.n, seed=VALIDATION_SEED + 1)
    with torch.no_grad():
        embedded_test, embedded_train = embed_batch(model, test), embed_batch(model, train)
        profiles = {m: (time_profile(model, m, getattr(train, m)).numpy(), time_profile(model, m, getattr(test, m)).numpy())
                    for m in ("video", "audio")}
    space = model.embedding.pair_space("video", "audio")
    recall, kinds = error_kinds(test, embedded_test["video"][space] @ embedded_test["audio"][space].t())

    print(f"video->audio among {args.n} validation events: R@1 {recall:.3f}, {sum(kinds.values())} wrong")
    print(f"  {'attributes that differ':<28} {'flash frames':>12} {'wrong hits':>10}")
    for (differ, flashes), count in kinds.most_common():
        print(f"  {differ:<28} {flashes:>12} {count:>10}")

    onsets = test.params["onsets"][:, 1:].float()
    majority = torch.maximum(onsets.mean(0), 1 - onsets.mean(0))
    frames = range(1, onsets.shape[1] + 1)
    print("\nlinear probe accuracy for 'frame f flashes'")
    print(f"  {'features':<22} " + " ".join(f"f{f:<4}" for f in frames) + "  mean")
    print(f"  {'majority class':<22} " + " ".join(f"{v:<5.2f}" for v in majority.tolist()) + f"  {majority.mean():.2f}")
    for m in ("video", "audio"):
        for name, key in (("vector", "vector"), ("embedding", space)):
            scores = flash_probe(train, test, embedded_train[m][key].numpy(), embedded_test[m][key].numpy())
            print(f"  {m + ' ' + name:<22} " + " ".join(f"{v:<5.2f}" for v in scores) + f"  {sum(scores) / len(scores):.2f}")
        scores = flash_probe(train, test, *profiles[m])
        print(f"  {m + ' tokens per step':<22} " + " ".join(f"{v:<5.2f}" for v in scores) + f"  {sum(scores) / len(scores):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
