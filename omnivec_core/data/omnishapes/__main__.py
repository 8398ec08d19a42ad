"""Command line for OmniShapes previews: ``python -m omnivec_core.data.omnishapes --preview DIR``."""
from __future__ import annotations

import argparse
import sys

from . import OmniShapes
from .preview import looks_sheet, write_preview


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m omnivec_core.data.omnishapes",
        description="Render a few OmniShapes events and write preview files: contact_sheet.png (one row "
                    "per event: image, 4 video frames with flash frames framed in yellow, log-mel, depth, "
                    "points, first caption), event_XXX.gif (video), event_XXX.wav (16-bit audio), "
                    "event_XXX.ply (ASCII point cloud with labels) and events.json (attributes, captions).",
    )
    parser.add_argument("--preview", metavar="DIR", required=True, help="output directory (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    parser.add_argument("--n", type=int, default=8, help="number of events, starting at index 0 (default 8)")
    parser.add_argument("--device", default="cpu", help="torch device to render on (default cpu)")
    parser.add_argument("--looks", type=int, default=0, metavar="K",
                        help="also write looks_sheet.png: event 0 under K looks, the plain one and K-1 varied ones "
                             "(backgrounds, styles, zoom, camera, turned clouds; default 0: none)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be >= 1")
    if args.looks < 0:
        parser.error("--looks must be >= 0")

    out = write_preview(args.preview, seed=args.seed, n=args.n, device=args.device)
    if args.looks:
        looks_sheet(OmniShapes(), args.seed, 0, args.looks).save(out / "looks_sheet.png")
    print(f"wrote {args.n} events (seed {args.seed}) to {out}/: contact_sheet.png, events.json, "
          f"event_000..{args.n - 1:03d} .gif/.wav/.ply")
    return 0


if __name__ == "__main__":
    sys.exit(main())
