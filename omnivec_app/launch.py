"""Start the OmniVec Explorer app in the browser (127.0.0.1:7860 by default): `omnivec-app` or `python launch.py`."""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import threading
from pathlib import Path

from omnivec_core.analysis.captioning import caption
from omnivec_core.analysis.predictions import predict
from omnivec_core.modalities import CAPTIONS, REGISTRY
from omnivec_core.train.checkpoint import CheckpointError
from omnivec_core.train.trainer import resolve_device

from .main import build_app
from .paths import LOOPBACK, PathPolicy, exposed
from .predictions_view import pair_matrix_figure
from .state import AppState

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CHECKPOINT = ROOT / "checkpoints" / "omnivec-default"
SHARED_ROOTS = (ROOT / "runs", ROOT / "checkpoints")  # always allowed: the Train tab's runs, the bundled models
# serving a class on a 2-core laptop (bench/classroom_load.py, BENCHMARKS.md): each kind of call runs one at a time,
# different kinds side by side; one call already keeps both cores busy with torch's two threads, and two of a kind
# at once only interleave (a longer tail on 2 cores); a full queue refuses at once rather than making all wait
CONCURRENCY = 1
QUEUE_LIMIT = 200
UPLOAD_LIMIT = "50mb"
SHARING = f"""sharing with a class:
  On this machine (--host {' / '.join(LOOPBACK)}, no --share) a path typed into the app (a folder to index, a
  model or run directory, a folder to train on) may be any folder you can read. Once the app is reachable from
  other machines (--host 0.0.0.0 or any other address, or --share), a typed path must lie under an allowed
  folder: --gallery DIR, each --allow-dir DIR, --checkpoint DIR, and this repository's runs/ and checkpoints/
  ({ROOT / 'runs'}, {ROOT / 'checkpoints'}). Anything else, `..` and symlinks that lead out included, is
  refused without showing what is there. Uploaded files are unaffected.
  example: python launch.py --host 0.0.0.0 --auth class:s3cret --no-train --gallery ~/clips"""


def parse_auth(value: str) -> tuple[str, str]:
    """--auth USER:PASSWORD -> (user, password); both must be non-empty (the password may hold ':')."""
    user, colon, password = value.partition(":")
    missing = "no ':' between them" if not colon else "the user name is empty" if not user.strip() else \
        "the password is empty" if not password else None
    if missing:  # the value itself is not echoed: it may hold a password
        raise argparse.ArgumentTypeError(f"expected USER:PASSWORD, both non-empty (e.g. class:s3cret); {missing}")
    return user.strip(), password


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="OmniVec Explorer: look inside a unified multimodal transformer.",
                                     epilog=SHARING, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                        help=f"model directory (config.json + model.safetensors); default {DEFAULT_CHECKPOINT}")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only; "
                                                             "any other address confines typed paths, see below)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the model runs")
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link (off by default; "
                                                              "confines typed paths, see below)")
    parser.add_argument("--gallery", type=Path, metavar="DIR",
                        help="a folder of your own media (class folders of clips, sounds with a CSV, meshes, images, "
                             "a captions.csv) to search and map besides OmniShapes; indexed at start with a progress "
                             "bar and cached, so the next start reads it back")
    parser.add_argument("--allow-dir", type=Path, action="append", default=[], metavar="DIR", dest="allow_dirs",
                        help="on a shared server (--host beyond this machine, or --share), also let users type paths "
                             "under DIR (a folder of clips, a directory of models); repeat for several")
    parser.add_argument("--auth", type=parse_auth, metavar="USER:PASSWORD",
                        help="ask for this user name and password before the page opens (Gradio's login)")
    parser.add_argument("--no-train", action="store_true",
                        help="switch the Train tab's Start and /train off, so on a shared page only you train "
                             "(from the command line)")
    return parser.parse_args(argv)


def path_policy(args: argparse.Namespace) -> PathPolicy:
    """Unrestricted on this machine only; on a shared server, typed paths only under the allowed folders."""
    if not exposed(args.host, args.share):
        return PathPolicy()
    gallery = [args.gallery] if args.gallery is not None else []
    return PathPolicy.confined([*gallery, *args.allow_dirs, args.checkpoint, *SHARED_ROOTS])


def build_state(checkpoint: Path, device: str):
    """Load the model directory if there is one; a missing or broken one leaves a clear message."""
    state = AppState(resolve_device(device))
    if not checkpoint.exists():
        state.load_error = (f"No trained model at {checkpoint}: train one in the Train tab or with "
                            f"`python -m omnivec_core.train --preset tiny --out {checkpoint}`.")
        return state
    try:
        state.load(checkpoint)
    except (CheckpointError, ValueError) as error:
        state.load_error = f"The model at {checkpoint} could not be loaded: {error}"
    return state


def warm_up(state) -> None:
    """In the background, so the page is up at once: first what the first query needs (the held-out
    gallery, read from its cache beside the checkpoint when there is one, the media decoders, one pass
    of every stem, head and text decoder), then, on a machine whose numba has not yet cached UMAP's
    nearest-neighbour kernels on disk, a low-priority process that compiles and caches them (compiling them
    here would hold this process's interpreter while a query waits)."""
    if state.model is not None:
        warm_queries(state)
        if state.folder is not None:
            index_folder(state)
    if not kernels_cached():
        umap = "import numpy as np; from omnivec_core.analysis.projections import project; " \
               "project(np.random.default_rng(0).normal(size=(200, 16)), 'umap')"
        subprocess.Popen([sys.executable, "-c", umap], cwd=ROOT, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, preexec_fn=lambda: os.nice(19))


def kernels_cached(packages=("pynndescent", "umap")) -> bool:
    """Whether numba's disk cache (index files beside each package's modules) holds kernels of every one of
    `packages`: then a first UMAP loads them, and a warm-up process would only compile again what numba never
    caches (it could not share those with this process)."""
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None or not any((Path(spec.origin).parent / "__pycache__").glob("*.nbi")):
            return False
    return True


def warm_queries(state) -> None:
    """Everything a first retrieval touches, once: the readers' decoders, the gallery, every
    modality's encoder, embedding, task heads and caption on one event, and the gallery's pair matrix."""
    import av  # noqa: F401  (PyAV and decord load their codecs on first import)
    import decord  # noqa: F401


    gallery = state.gallery()
    batch = state.world.render(1, seed=0, device=state.device)
    for m in state.model.cfg.modalities:
        predict(state.model, m, REGISTRY[m].batch_input(batch))
        if state.model.language is not None and m != CAPTIONS:
            caption(state.model, m, REGISTRY[m].batch_input(batch))
    pair_matrix_figure(state.model, gallery)  # and plotly's figure classes, imported on first use


def index_folder(state) -> None:
    """The --gallery folder, read and embedded once with a progress bar in the terminal."""
    import gradio as gr
    from tqdm import tqdm

    with tqdm(total=100, unit="%", desc=f"indexing {state.folder.name}") as bar:
        def progress(share: float, text: str) -> None:
            bar.set_postfix_str(text, refresh=False)
            bar.update(int(share * 100) - bar.n)
        try:
            gallery = state.folder_gallery(state.folder, progress)
        except gr.Error as error:  # the Retrieval tab says the same when asked; the app keeps running
            print(f"could not index {state.folder}: {error}", file=sys.stderr)
            return
        bar.update(100 - bar.n)
    print(gallery.dataset.report())


def main(argv=None) -> int:
    args = parse_args(argv)
    for folder in args.allow_dirs:
        if not folder.expanduser().is_dir():
            print(f"error: --allow-dir {folder} is not a folder", file=sys.stderr)
            return 2

    try:
        state = build_state(args.checkpoint, args.device)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(state.load_error or f"loaded {args.checkpoint} on {state.device}")
    if args.gallery is not None:
        if not args.gallery.is_dir():
            print(f"error: --gallery {args.gallery} is not a folder", file=sys.stderr)
            return 2
        state.folder = args.gallery.expanduser().resolve()
    state.paths, state.training = path_policy(args), not args.no_train
    if state.paths.restricted:
        print(f"shared server: typed paths are confined to {', '.join(str(r) for r in state.paths.roots)} "
              "(--allow-dir DIR adds a folder)")
    if args.no_train:
        print("training from the app is off (--no-train)")
    threading.Thread(target=warm_up, args=(state,), daemon=True).start()
    demo = build_app(state)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_LIMIT).launch(
        server_name=args.host, server_port=args.port, share=args.share, auth=args.auth, max_file_size=UPLOAD_LIMIT,
        show_error=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
