"""Exposure-aware paths (issue 37): on a shared server (a --host beyond loopback, or --share) a server path typed
into the app must lie under an allowed folder; `..` and symlinks out are refused without showing what lies
there. Also --auth and --no-train. The policy, the launcher's arguments and the Train tab's plan checks are unit
tests (fast); one app, built with a confined policy as if bound to 0.0.0.0 and reached on 127.0.0.1, is tested
end to end through gradio_client (the app tier)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client

from bench import media_factory as mf
from omnivec_app import launch, train_tab
from omnivec_app.paths import PathPolicy, exposed
from omnivec_core.config import StageConfig, preset

REFUSED = "this server is shared"


@pytest.fixture
def tree(tmp_path):
    """allowed/ (a root: a folder, a file, a symlink within it, symlinks out of it), private/ (outside it), and
    allowed-evil/ (a sibling whose name starts with the root's)."""
    allowed, private, evil = tmp_path / "allowed", tmp_path / "private", tmp_path / "allowed-evil"
    for folder in (allowed / "clips", private / "secret", evil):
        folder.mkdir(parents=True)
    (allowed / "clips" / "a.png").write_bytes(b"x")
    (private / "secret" / "passwords.txt").write_text("hunter2")
    (allowed / "alias").symlink_to(allowed / "clips")        # within the root: fine
    (allowed / "out").symlink_to(private)                     # a folder outside
    (allowed / "dangling").symlink_to(private / "not-yet")    # where it would lead counts, even before it exists
    return allowed, private, evil


# ------------------------------------------------------------------ the policy

def test_exposed_only_beyond_loopback_or_with_a_share_link():
    for host in ("127.0.0.1", "localhost", "LOCALHOST", "::1", "[::1]"):
        assert not exposed(host) and exposed(host, share=True)
    for host in ("0.0.0.0", "::", "192.168.1.20", "myhost.example.org", ""):
        assert exposed(host)


def test_inside_a_root_is_allowed_and_resolved(tree):
    allowed, _, _ = tree
    policy = PathPolicy.confined([allowed])
    assert policy.restricted and policy.roots == (allowed.resolve(),)
    assert policy.check(str(allowed)) == allowed.resolve(), "the root itself"
    assert policy.check(f"  {allowed / 'clips'}  ") == (allowed / "clips").resolve(), "typed with spaces around"
    assert policy.check(allowed / "clips" / "a.png") == (allowed / "clips" / "a.png").resolve(), "a file under a root"
    assert policy.check(allowed / "alias") == (allowed / "clips").resolve(), "a symlink that stays inside"
    assert policy.check(f"{allowed}/clips/../clips") == (allowed / "clips").resolve(), "a `..` that stays inside"
    assert policy.check(allowed / "new-run") == (allowed / "new-run").resolve(), "a missing path under a root"


def test_dotdot_and_symlinks_out_and_lookalikes_are_refused(tree):
    allowed, private, evil = tree
    policy = PathPolicy.confined([allowed])
    for typed in (str(private), f"{allowed}/../private", f"{allowed}/clips/../../private/secret",
                  str(allowed / "out"), str(allowed / "out" / "secret" / "passwords.txt"), str(allowed / "dangling"),
                  str(evil), "/", "/etc/passwd", str(private / "does-not-exist")):
        with pytest.raises(ValueError) as refused:
            policy.check(typed)
        message = str(refused.value)
        assert REFUSED in message and str(allowed.resolve()) in message and "--allow-dir DIR" in message, message
        assert typed in message, "the message names what was typed"
        assert "secret" not in message.replace(typed, "") and str(private) not in message.replace(typed, ""), \
            f"the message shows nothing of where a path leads: {message}"


def test_home_is_expanded_before_the_check(tree, monkeypatch):
    allowed, private, _ = tree
    policy = PathPolicy.confined([allowed])
    monkeypatch.setenv("HOME", str(allowed))
    assert policy.check("~/clips") == (allowed / "clips").resolve()
    monkeypatch.setenv("HOME", str(private))
    with pytest.raises(ValueError, match=REFUSED):
        policy.check("~/secret")


def test_unrestricted_on_loopback_takes_any_path_as_typed(tree):
    allowed, private, _ = tree
    policy = PathPolicy()
    assert not policy.restricted
    assert policy.check(str(private / "secret")) == private / "secret"
    assert policy.check(allowed / "out") == allowed / "out", "as typed: not resolved, as the tabs did before"
    assert policy.check("~/x") == Path("~/x").expanduser()
    for bad in ("", "   ", None, "a\x00b"):
        with pytest.raises(ValueError):
            policy.check(bad)


def test_no_roots_allows_nothing(tree):
    allowed, _, _ = tree
    with pytest.raises(ValueError, match="under one of: \\(none\\)"):
        PathPolicy.confined([]).check(allowed)


# ------------------------------------------------------------------ the launcher's arguments

def test_auth_is_parsed_and_a_malformed_value_exits_with_2(capsys):
    assert launch.parse_args(["--auth", "class:s3cret"]).auth == ("class", "s3cret")
    assert launch.parse_args(["--auth", "teacher:a:b:c"]).auth == ("teacher", "a:b:c"), "the password may hold ':'"
    assert launch.parse_args([]).auth is None
    for bad, why in (("nocolon", "no ':'"), (":hidden-pw", "user name is empty"), ("user:", "password is empty")):
        with pytest.raises(SystemExit) as stopped:
            launch.parse_args(["--auth", bad])
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert "--auth" in err and "USER:PASSWORD" in err and why in err, err
        assert "hidden-pw" not in err, "the value is not echoed: it may hold a password"


def test_help_documents_the_sharing_switches(capsys):
    with pytest.raises(SystemExit):
        launch.parse_args(["--help"])
    shown = capsys.readouterr().out
    for text in ("--allow-dir DIR", "--auth USER:PASSWORD", "--no-train", "sharing with a class", "symlinks",
                 "runs/ and checkpoints/"):
        assert text in shown, text


def test_the_policy_follows_the_bind_address(tmp_path):
    clips, models = tmp_path / "clips", tmp_path / "models"
    common = ["--gallery", str(clips), "--allow-dir", str(models), "--allow-dir", str(tmp_path / "more"),
              "--checkpoint", str(tmp_path / "model")]
    assert not launch.path_policy(launch.parse_args(common)).restricted, "127.0.0.1 by default: unrestricted"
    assert not launch.path_policy(launch.parse_args(common + ["--host", "localhost"])).restricted
    for extra in (["--host", "0.0.0.0"], ["--share"], ["--host", "10.0.0.5"]):
        policy = launch.path_policy(launch.parse_args(common + extra))
        assert policy.roots == tuple(p.resolve() for p in (clips, models, tmp_path / "more", tmp_path / "model",
                                                          launch.ROOT / "runs", launch.ROOT / "checkpoints"))
    args = launch.parse_args(["--no-train"])
    assert args.no_train and not launch.parse_args([]).no_train and launch.parse_args([]).allow_dirs == []


class _Launched(Exception):
    pass


def test_main_wires_policy_auth_and_no_train_into_the_app(tmp_path, monkeypatch, capsys):
    """main() up to Gradio's launch (the app building and the warm-up stubbed): what it hands over."""
    seen = {}

    class FakeDemo:
        def queue(self, **kwargs):
            seen["queue"] = kwargs
            return self

        def launch(self, **kwargs):
            seen["launch"] = kwargs
            raise _Launched

    def fake_build(state):
        seen["state"] = state
        return FakeDemo()

    monkeypatch.setattr(launch, "build_app", fake_build)
    monkeypatch.setattr(launch, "warm_up", lambda state: None)
    (tmp_path / "shared").mkdir()
    missing_model = str(tmp_path / "no-model")  # the app starts without one; loading nothing keeps this fast
    with pytest.raises(_Launched):
        launch.main(["--checkpoint", missing_model, "--host", "0.0.0.0", "--allow-dir", str(tmp_path / "shared"),
                     "--auth", "class:pw", "--no-train"])
    state = seen["state"]
    assert seen["launch"]["auth"] == ("class", "pw") and seen["launch"]["server_name"] == "0.0.0.0"
    assert seen["queue"] == {"default_concurrency_limit": 1, "max_size": 200} and seen["launch"]["max_file_size"] == "50mb"
    assert state.paths.restricted and (tmp_path / "shared").resolve() in state.paths.roots and not state.training
    assert "typed paths are confined" in capsys.readouterr().out
    with pytest.raises(_Launched):
        launch.main(["--checkpoint", missing_model])
    assert not seen["state"].paths.restricted and seen["state"].training and seen["launch"]["auth"] is None
    assert launch.main(["--checkpoint", missing_model, "--allow-dir", str(tmp_path / "nope")]) == 2
    assert "--allow-dir" in capsys.readouterr().err


# ------------------------------------------------------------------ the Train tab's folders

def test_train_tab_folders_go_through_the_policy(tree):
    allowed, private, _ = tree
    policy = PathPolicy.confined([allowed])
    with pytest.raises(gr.Error, match=REFUSED):
        train_tab.plan_from_knobs({"steps": 20, "folder": str(allowed / "out")}, policy)
    plan = train_tab.read_plan(json.dumps(train_tab.plan_from_knobs({"steps": 20})))
    plan.train.stages[-1].folder = f"{allowed}/../private/secret"
    with pytest.raises(gr.Error, match=REFUSED) as refused:
        train_tab.allowed_folders(plan, policy)
    assert f"stage {len(plan.train.stages)}" in str(refused.value)
    assert train_tab.allowed_folders(plan, PathPolicy()) is plan, "unrestricted: any folder, left as written"
    assert plan.train.stages[-1].folder == f"{allowed}/../private/secret"
    plan.train.stages[-1].folder = f"{allowed}/alias"
    train_tab.allowed_folders(plan, policy)
    assert plan.train.stages[-1].folder == str((allowed / "clips").resolve()), "allowed: written resolved"


# ------------------------------------------------------------------ end to end: a confined app on 127.0.0.1

@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    """A tiny model, a folder of pictures and a run with a timeline under shared/, the same kinds of things
    under private/ (outside it), a symlink from shared/ to private/; the app confined to shared/ and with
    training off, started from `--host 0.0.0.0 --allow-dir shared --no-train` and bound to 0.0.0.0."""
    from omnivec_app.launch import build_state
    from omnivec_app.main import build_app
    from omnivec_app.training import TrainingManager
    from omnivec_core.analysis.timeline import TimelineRecorder
    from omnivec_core.train.checkpoint import load_model
    from omnivec_core.train.trainer import Trainer

    base = tmp_path_factory.mktemp("exposure")
    shared, private = base / "shared", base / "private"
    patch = pytest.MonkeyPatch()
    patch.setenv("OMNIVEC_CACHE", str(base / "cache"))
    config = preset("tiny")
    config.model.modalities = ("image", "video", "text")
    config.train.batch_size = 8
    config.train.stages = [StageConfig("smoke", 1, {"contrastive": 1.0})]
    Trainer(config, shared / "model", "cpu").run()
    model, _ = load_model(shared / "model")
    for root in (shared, private):
        for name, size in (("wide", (96, 64)), ("tall", (64, 96))):
            (root / "pictures" / name).mkdir(parents=True)
            for i in range(2):
                mf.make_png(root / "pictures" / name / f"{i}.png", size, noise=bool(i))
        recorder = TimelineRecorder(root / "run", model, every=2, n=12)
        for step in (0, 2):
            recorder.record(model, step)
    shutil.copytree(shared / "model", private / "model")  # private/ gets a model directory too
    (shared / "out").symlink_to(private)

    state = build_state(shared / "model", "cpu")
    args = launch.parse_args(["--host", "0.0.0.0", "--allow-dir", str(shared), "--checkpoint", str(shared / "model"),
                              "--no-train"])
    state.paths, state.training = launch.path_policy(args), not args.no_train
    demo = build_app(state, TrainingManager(shared / "runs"))
    demo.queue()
    port = _free_port()
    demo.launch(server_name=args.host, server_port=port, prevent_thread_lock=True, quiet=True)  # reached on 127.0.0.1
    yield Client(f"http://127.0.0.1:{port}/", verbose=False), shared, private
    demo.close()
    patch.undo()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _refused(call, private: Path, *typed_args) -> None:
    with pytest.raises(Exception) as refused:
        call()
    message = str(refused.value)
    assert REFUSED in message and "--allow-dir DIR" in message, message
    for leak in ("secret", "0.png", "wide", "timeline.safetensors", "model.safetensors"):
        assert leak not in message, f"the refusal shows {leak!r}: {message}"
    if not any(str(private) in t for t in typed_args):
        assert str(private) not in message, f"the refusal shows where a symlink leads: {message}"


@pytest.mark.app
@pytest.mark.timeout(600)
def test_a_shared_server_confines_typed_paths(shared_app):
    client, shared, private = shared_app
    outside = {"outside": lambda kind: str(private / kind), "dot-dot": lambda kind: f"{shared}/../private/{kind}",
               "symlink out": lambda kind: str(shared / "out" / kind)}
    for how, where in outside.items():
        folder, model, run = where("pictures"), where("model"), where("run")
        _refused(lambda: client.predict(folder, api_name="/index_folder"), private, folder)
        _refused(lambda: client.predict(None, "a red circle", ["image"], 3, 50, "my folder", folder,
                                        api_name="/retrieve"), private, folder)
        _refused(lambda: client.predict("pca", 2, "modality", 50, 10, 10, 0.1, 0, 0, "my folder", folder,
                                        api_name="/embedding_map"), private, folder)
        _refused(lambda: client.predict(str(shared / "model"), model, 50, "pca", "shape", 0,
                                        api_name="/compare_models"), private, model)
        _refused(lambda: client.predict(run, "modality", "joint", api_name="/timeline_load"), private, run)
        _refused(lambda: client.predict(run, 0, "modality", "joint", api_name="/timeline_map"), private, run)
    _refused(lambda: client.predict(str(shared / "out"), api_name="/index_folder"), private)  # the link itself

    # allowed: everything under shared/ works as on loopback
    report, source = client.predict(str(shared / "pictures"), api_name="/index_folder")
    assert source == "my folder" and "embedded 4 image" in report, report
    slider, _, note = client.predict(str(shared / "run"), "modality", "joint", api_name="/timeline_load")
    assert slider["maximum"] == 1 and "Step 2" in note
    note, *_ = client.predict(str(shared / "model"), f"{shared}/run/../model", 50, "pca", "shape", 0,
                              api_name="/compare_models")
    assert "| metric |" in note
    with pytest.raises(Exception, match="not a folder"):  # inside the root, the usual messages
        client.predict(str(shared / "pictures" / "wide" / "0.png"), api_name="/index_folder")

    # --no-train: Start refuses, and says why
    plan = json.dumps(train_tab.plan_from_knobs({"preset": "tiny", "steps": 20, "modalities": ["image", "video"],
                                                            "stages": ["pretrain"]}))
    with pytest.raises(Exception, match="--no-train"):
        client.predict(plan, api_name="/train")
    assert not (shared / "runs").exists() or not any((shared / "runs").iterdir()), "no run was started"
    assert client.predict(api_name="/train_stop") == "No training run is going.", "the server still answers"
    with pytest.raises(Exception, match="--no-train"):  # nor does anyone swap the model on every page
        client.predict(api_name="/train_load")


@pytest.mark.app
def test_each_browser_keeps_its_own_folder(shared_app):
    """A folder one student indexes is theirs: another page that names no folder is not handed it (each page
    sends the path it typed), and the first student's own page keeps working with its path."""
    client, shared, _ = shared_app
    other = Client(client.src, verbose=False)  # a second browser: its own session
    report, _ = client.predict(str(shared / "pictures"), api_name="/index_folder")
    assert "embedded 4 image" in report, report
    with pytest.raises(Exception, match="no folder given"):
        other.predict(None, "a red circle", ["image"], 3, 50, "my folder", "", api_name="/retrieve")
    out = client.predict(None, "a red circle", ["image"], 3, 50, "my folder", str(shared / "pictures"),
                         api_name="/retrieve")
    assert ".png" in out[5], out[5]  # the hits are the folder's pictures, named by file
