"""Text: narration-like captions from templates and synonyms, and their inverse parser.

Every caption names the shape, colour and motion (possibly by a synonym); size and speed
are mentioned about half the time. No synonym (or template filler word) is shared
between two classes, and matching is on whole words, so ``parse_caption`` recovers the
attributes of every generated caption exactly.
"""
from __future__ import annotations

import re

import torch

from .world import COLOURS, MOTIONS, SHAPES, SIZES, SOLIDS, SPEEDS, Events

# The last word of each shape is its solid (world.SOLIDS), so captions teach the words a user types
# for the depth map and the point cloud as well ("a red cube").
SHAPE_WORDS = {
    "circle": ("circle", "disc", "dot", "sphere"),
    "square": ("square", "box", "tile", "cube"),
    "triangle": ("triangle", "wedge", "arrowhead", "cone"),
    "ring": ("ring", "hoop", "donut", "torus"),
    "diamond": ("diamond", "rhombus", "lozenge", "octahedron"),
    "hexagon": ("hexagon", "hex", "honeycomb", "hexagonal prism"),
    "cross": ("cross", "plus sign", "plus", "cross prism"),
    "pill": ("pill", "tablet", "capsule"),
}
COLOUR_WORDS = {
    "red": ("red", "crimson", "scarlet"),
    "orange": ("orange", "tangerine", "amber"),
    "yellow": ("yellow", "golden", "lemon"),
    "green": ("green", "emerald", "lime"),
    "cyan": ("cyan", "turquoise", "aqua"),
    "blue": ("blue", "azure", "cobalt"),
    "purple": ("purple", "violet", "lilac"),
    "pink": ("pink", "fuchsia", "rosy"),
}
# (third person, -ing form) of each motion phrase.
MOTION_WORDS = {
    "left": (("moves left", "moving left"), ("drifts to the left", "drifting to the left"),
             ("slides leftward", "sliding leftward"), ("travels left", "travelling left")),
    "right": (("moves right", "moving right"), ("drifts to the right", "drifting to the right"),
              ("slides rightward", "sliding rightward"), ("travels right", "travelling right")),
    "up": (("moves up", "moving up"), ("rises", "rising"), ("climbs upward", "climbing upward"),
           ("floats up", "floating up"), ("ascends", "ascending")),
    "down": (("moves down", "moving down"), ("falls", "falling"), ("sinks", "sinking"),
             ("drops downward", "dropping downward"), ("descends", "descending")),
    "bounce": (("bounces", "bouncing"), ("hops", "hopping"), ("jumps", "jumping"),
               ("bounces along", "bouncing along")),
    "spin": (("spins", "spinning"), ("rotates", "rotating"), ("twirls", "twirling"),
             ("turns in place", "turning in place")),
    "grow": (("grows", "growing"), ("expands", "expanding"), ("swells", "swelling"),
             ("gets bigger", "getting bigger")),
    "shrink": (("shrinks", "shrinking"), ("contracts", "contracting"), ("dwindles", "dwindling"),
               ("gets smaller", "getting smaller")),
}
SIZE_WORDS = {"small": ("small", "little", "tiny"), "large": ("large", "big", "huge")}
SPEED_ADVERBS = {"slow": ("slowly", "gently", "lazily"), "fast": ("quickly", "rapidly", "swiftly")}
# Extra words the parser accepts (never generated): base verb forms, speed adjectives.
_EXTRA = {
    "motion": {"left": ("leftwards",), "right": ("rightwards",), "up": ("rise", "upwards", "climbs"),
               "down": ("fall", "downwards", "drops"), "bounce": ("bounce", "hop"), "spin": ("spin", "rotate"),
               "grow": ("grow", "expand"), "shrink": ("shrink", "contract")},
    "speed": {"slow": ("slow",), "fast": ("fast", "quick")},
}
# {a}: article for the next word; {size}/{adv} may be empty; {s}/{ing}: motion phrase forms.
TEMPLATES = (
    "{a} {size} {colour} {shape} {ing} {adv}",
    "the {size} {colour} {shape} {s} {adv}",
    "there is {a} {size} {colour} {shape} that {s} {adv}",
    "we see {a} {size} {colour} {shape} {ing} {adv}",
    "{a} {size} {colour} {shape} {s} {adv} in the scene",
    "watch the {size} {colour} {shape} as it {s} {adv}",
    "{adv}, {a} {size} {colour} {shape} {s}",
    "here comes {a} {size} {colour} {shape}, {ing} {adv}",
    "{a} {size} {shape} in {colour} {ing} {adv}",
    "on screen, {a} {size} {colour} {shape} {s} {adv}",
)


def caption_words() -> list[str]:
    """Every word (and the comma) a generated caption can hold, sorted: a captioner's vocabulary."""
    phrases = [w for table in (SHAPE_WORDS, COLOUR_WORDS, SIZE_WORDS, SPEED_ADVERBS) for ws in table.values() for w in ws]
    phrases += [w for forms in MOTION_WORDS.values() for pair in forms for w in pair]
    phrases += [re.sub(r"{\w+}", " ", t) for t in TEMPLATES] + ["a an"]
    return sorted({w for phrase in phrases for w in re.findall(r"[a-z]+|,", phrase.lower())})


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _phrase_table() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    table = {
        "shape": [(w, c) for c, ws in SHAPE_WORDS.items() for w in ws],
        "colour": [(w, c) for c, ws in COLOUR_WORDS.items() for w in ws],
        "motion": [(w, c) for c, forms in MOTION_WORDS.items() for pair in forms for w in pair],
        "size": [(w, c) for c, ws in SIZE_WORDS.items() for w in ws],
        "speed": [(w, c) for c, ws in SPEED_ADVERBS.items() for w in ws],
    }
    for attr, extra in _EXTRA.items():
        table[attr] += [(w, c) for c, ws in extra.items() for w in ws]
    return {a: [(tuple(_tokens(w)), c) for w, c in rows] for a, rows in table.items()}


PHRASES = _phrase_table()


def _phrase_index() -> dict[tuple[str, ...], list[tuple[str, str]]]:
    """word tuple -> [(attribute, class)], so parsing looks up each window of a caption once."""
    index: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for attr, rows in PHRASES.items():
        for words, cls in rows:
            index.setdefault(words, []).append((attr, cls))
    return index


_PHRASE_INDEX = _phrase_index()
_LONGEST_PHRASE = max(len(words) for words in _PHRASE_INDEX)


def parse_caption(text: str) -> dict[str, str]:
    """Attribute names mentioned in ``text``: always-present keys "shape", "colour",
    "motion" when found, "size" and "speed" when mentioned; synonyms map back to the
    canonical class names. Matching is on whole words; an attribute mentioned with two
    different classes is left out (ambiguous)."""
    toks = _tokens(text)
    found: dict[str, set[str]] = {}
    for start in range(len(toks)):
        for end in range(start + 1, min(start + _LONGEST_PHRASE, len(toks)) + 1):
            for attr, cls in _PHRASE_INDEX.get(tuple(toks[start:end]), ()):
                found.setdefault(attr, set()).add(cls)
    return {attr: classes.pop() for attr in PHRASES if len(classes := found.get(attr, set())) == 1}


def _article(next_word: str) -> str:
    return "an" if next_word[:1] in "aeiou" else "a"


def _format(template: str, words: dict[str, str]) -> str:
    text = template.format(a="{a}", **words)
    text = " ".join(text.split()).replace(" ,", ",").strip(" ,")
    while "{a}" in text:
        head, tail = text.split("{a}", 1)
        text = head + _article(tail.strip().split(" ")[0]) + tail
    return text[0].upper() + text[1:]


def make_captions(ev: Events, count: int) -> list[list[str]]:
    """``count`` captions per event, choices drawn from the counter RNG (per event)."""
    bits = ev.rng.bits("caption", count, 8).tolist()
    labels = zip(ev.shape.tolist(), ev.colour.tolist(), ev.motion.tolist(), ev.size_cls.tolist(), ev.speed_cls.tolist())
    out = []
    for event_labels, rows in zip(labels, bits):
        t0 = rows[0][0] % len(TEMPLATES)
        out.append([_caption(event_labels, r, TEMPLATES[(t0 + c) % len(TEMPLATES)]) for c, r in enumerate(rows)])
    return out


def _caption(labels: tuple[int, ...], r: list[int], template: str, force: tuple[str, ...] = ()) -> str:
    """One caption of (shape, colour, motion, size, speed) class ids; `r` are 8 random bytes choosing the
    synonyms and whether size and speed are said; attributes in `force` are said whatever `r` chose."""
    sh, co, mo, si, sp = labels
    shapes, colours = SHAPE_WORDS[SHAPES[sh]], COLOUR_WORDS[COLOURS[co]]
    motions = MOTION_WORDS[MOTIONS[mo]]
    sizes, advs = SIZE_WORDS[SIZES[si]], SPEED_ADVERBS[SPEEDS[sp]]
    s_form, ing_form = motions[r[3] % len(motions)]
    words = {
        "shape": shapes[r[1] % len(shapes)],
        "colour": colours[r[2] % len(colours)],
        "s": s_form,
        "ing": ing_form,
        "size": sizes[r[5] % len(sizes)] if r[4] % 2 or "size" in force else "",
        "adv": advs[r[7] % len(advs)] if r[6] % 2 or "speed" in force else "",
    }
    return _format(template, words)


_CLASSES = {"shape": SHAPES, "colour": COLOURS, "motion": MOTIONS, "size": SIZES, "speed": SPEEDS}


def counterfactual_captions(labels: dict, count: int, generator: torch.Generator) -> list[list[str]]:
    """``count`` captions per event that are wrong about exactly one attribute, each about a different
    one (so ``count`` <= 5): "a red disc rising quickly" for a slow red rising disc. Hard negatives for
    text alignment (NegCLIP): a batch of 32 rarely holds two clips that differ in one attribute only, so
    without them the coarse space can match captions on shape and colour and ignore motion and speed.
    `labels` maps attribute -> (B,) class ids."""
    if not 1 <= count <= len(_CLASSES):
        raise ValueError(f"counterfactual captions per event must be 1..{len(_CLASSES)}, got {count}")
    rows = torch.stack([labels[a].cpu() for a in _CLASSES], 1)                       # (B, 5) class ids
    events = rows.shape[0]
    changed = torch.rand(events, len(_CLASSES), generator=generator).argsort(1)[:, :count]  # (B, count)
    shift = torch.stack([torch.randint(1, len(_CLASSES[a]), (events, count), generator=generator)
                         for a in _CLASSES], -1)                                     # (B, count, 5)
    words = torch.randint(0, 256, (events, count, 8), generator=generator)
    templates = torch.randint(0, len(TEMPLATES), (events, count), generator=generator)
    names = list(_CLASSES)
    out = []
    for i in range(events):
        captions = []
        for j in range(count):
            attr = int(changed[i, j])
            wrong = rows[i].clone()
            wrong[attr] = (wrong[attr] + shift[i, j, attr]) % len(_CLASSES[names[attr]])  # any other class
            captions.append(_caption(tuple(wrong.tolist()), words[i, j].tolist(), TEMPLATES[int(templates[i, j])],
                                     force=(names[attr],)))
        out.append(captions)
    return out


def class_prompts(attribute: str) -> dict[str, list[str]]:
    """Prompts naming one class of `attribute` and nothing else, one per synonym ("a disc", "something
    rising", "something moving quickly"): zero-shot classification embeds them as captions and labels
    a sample by the class whose prompts' mean embedding is nearest (CLIP's prompt ensembles)."""
    words = {"shape": {c: [f"{_article(w)} {w}" for w in ws] for c, ws in SHAPE_WORDS.items()},
             "colour": {c: [f"something {w}" for w in ws] for c, ws in COLOUR_WORDS.items()},
             "motion": {c: [f"something {ing}" for _, ing in forms] for c, forms in MOTION_WORDS.items()},
             "size": {c: [f"{_article(w)} {w} thing" for w in ws] for c, ws in SIZE_WORDS.items()},
             "speed": {c: [f"something moving {w}" for w in ws] for c, ws in SPEED_ADVERBS.items()}}
    if attribute not in words:
        raise ValueError(f"no prompts for {attribute!r}; attributes are {list(words)}")
    return words[attribute]


def describe(labels_row) -> str:
    """One-line summary, e.g. "small red circle (sphere), moving left, slow"."""
    get = {k: int(labels_row[k]) for k in ("shape", "colour", "motion", "size", "speed")}
    motion = MOTIONS[get["motion"]]
    verb = {"bounce": "bouncing", "spin": "spinning", "grow": "growing", "shrink": "shrinking"}.get(motion, f"moving {motion}")
    return (f"{SIZES[get['size']]} {COLOURS[get['colour']]} {SHAPES[get['shape']]} "
            f"({SOLIDS[get['shape']]}), {verb}, {SPEEDS[get['speed']]}")
