"""Security: no user string reaches HTML, uploads are bounded, models load safely, paths stay put.

Anyone in the class can name a file `<img src=x onerror=alert(1)>.png`, upload a `.keras` that
carries code, or point a manifest at `../../etc/passwd`; and the app must never reach the network.
"""

from __future__ import annotations

import ast
import io
import socket
import tomllib
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from aiart.config import PROJECT_ROOT
from aiart.data.dataset import scan
from aiart.model.classifier import feature_dim
from aiart.model.storage import ModelFileError, load_head_checked, save_head
from tests.conftest import SMALL_TAPS, png_bytes, run_python, synthetic_art

APP = str(PROJECT_ROOT / "streamlit_app.py")
XSS = "<img src=x onerror=alert(1)>"
CODE_FILES = sorted([*PROJECT_ROOT.glob("pages/*.py"), *PROJECT_ROOT.glob("aiart/**/*.py"), Path(APP)])


# -- HTML -----------------------------------------------------------------------------------------
def html_sinks(tree: ast.AST) -> list[ast.Call]:
    """Calls that hand a string to the browser as HTML: `unsafe_allow_html=True`, `st.html`, components."""
    sinks = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        unsafe = any(
            k.arg == "unsafe_allow_html" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
            for k in node.keywords
        )
        name = ast.unparse(node.func)
        if unsafe or name.endswith(("st.html", "components.html", "components.v1.html")):
            sinks.append(node)
    return sinks


def constant_strings(tree: ast.Module) -> set[str]:
    """Module-level UPPER_CASE names bound to a literal string (no interpolation)."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name) and t.id.isupper()}
    return names


def safe_html_argument(arg: ast.expr, constants: set[str]) -> bool:
    """A literal, a literal constant, or an f-string whose every interpolation goes through html.escape."""
    if isinstance(arg, ast.Constant) or (isinstance(arg, ast.Name) and arg.id in constants):
        return True
    if isinstance(arg, ast.JoinedStr):
        return all(
            isinstance(part, ast.Constant)
            or (isinstance(part.value, ast.Call) and ast.unparse(part.value.func) in ("html.escape", "escape"))
            for part in arg.values
        )
    return False


def test_no_user_string_reaches_an_html_sink():
    problems = []
    for path in CODE_FILES:
        tree = ast.parse(path.read_text(), str(path))
        constants = constant_strings(tree)
        for call in html_sinks(tree):
            if not call.args or not safe_html_argument(call.args[0], constants):
                problems.append(f"{path.relative_to(PROJECT_ROOT)}:{call.lineno}: {ast.unparse(call)[:100]}")
    assert problems == [], "HTML built from non-constant strings (escape them with html.escape):\n" + "\n".join(
        problems
    )


def test_the_html_scan_catches_unescaped_user_strings():
    """The scan above is only worth something if it flags the patterns it exists for."""
    bad = 'st.markdown(f"<b>{name}</b>", unsafe_allow_html=True)\nst.html(user_text)\n'
    good = 'CSS = "<style></style>"\nst.html(CSS)\nst.markdown(f"<b>{html.escape(name)}</b>", unsafe_allow_html=True)\n'
    for source, flagged in ((bad, 2), (good, 0)):
        tree = ast.parse(source)
        constants = constant_strings(tree)
        assert sum(not safe_html_argument(c.args[0], constants) for c in html_sinks(tree)) == flagged


def rendered_as_html(at: AppTest) -> list[str]:
    """Every string the page hands to the browser as HTML (markdown with HTML allowed, st.html)."""
    out = []
    for node in at.main:
        kind = getattr(node, "type", "")
        if kind == "html":
            out.append(node.proto.body)
        elif getattr(node, "allow_html", False):
            out.append(node.value)
    return out


def test_hostile_file_names_are_shown_as_text_only(monkeypatch, small_classifier):
    monkeypatch.setattr("aiart.app.ui.default_classifier", lambda: small_classifier)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    files = [
        (f"{XSS}.png", png_bytes(synthetic_art(1, True)), "image/png"),
        (f"{XSS}<script>alert(2)</script>.jpg", b"<html>not an image</html>", "image/jpeg"),
    ]
    at.file_uploader(key="uploader").set_value(files).run()
    assert not at.exception
    assert len(at.metric) == 1 and len(at.error) == 1  # one verdict, one unreadable file
    assert not [h for h in rendered_as_html(at) if "<img" in h or "<script" in h]
    texts = [m.value for m in at.markdown]
    assert any(r"\<img src=x onerror=alert\(1\)\>\.png" in t for t in texts), "the name is shown, escaped"
    assert not [t for t in texts if XSS in t], "never as raw markup"
    (table,) = [d.value for d in at.dataframe]
    assert list(table["file"]) == [name for name, _, _ in files]  # a dataframe cell is plain text


def test_hostile_file_names_in_a_data_folder_are_text_only(monkeypatch, small_classifier, tmp_path):
    root = tmp_path / "data"
    for label, ai in (("AI_GENERATED", True), ("NON_AI_GENERATED", False)):
        (root / label).mkdir(parents=True)
        synthetic_art(4, ai).save(root / label / f"{XSS}.png")
        (root / label / f"{XSS}<script>alert(2)<script>.jpg").write_bytes(b"<html>not an image</html>")
    monkeypatch.setattr("aiart.app.ui.default_classifier", lambda: small_classifier)
    monkeypatch.setenv("AIART_DATA", str(root))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/browse.py").run()
    at.button(key="browse-compute").click().run()
    assert not at.exception
    assert at.metric, "the folder was scored"
    assert not [h for h in rendered_as_html(at) if "<img" in h or "<script" in h]
    shown = [c.value for c in at.caption] + [m.value for m in at.markdown]
    assert any(r"\<img src=x onerror=alert\(1\)\>\.png" in t for t in shown), "the name is shown, escaped"
    assert not [t for t in shown if XSS in t]


# -- server configuration -------------------------------------------------------------------------
def test_server_config_keeps_xsrf_on_and_limits_uploads():
    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    assert server["enableXsrfProtection"] is True
    assert server.get("enableCORS", True) is True
    assert 1 <= server["maxUploadSize"] <= 200  # MB per file
    assert config["client"]["showErrorDetails"] == "none"  # no tracebacks shown to students
    assert config["browser"]["gatherUsageStats"] is False  # no phoning home


# -- model files ----------------------------------------------------------------------------------
def test_uploaded_model_with_code_is_refused_unrun(tmp_path):
    """A Lambda layer carries Python bytecode; with safe_mode it is never deserialized, let alone run."""
    marker = tmp_path / "lambda-ran"
    dim = feature_dim(SMALL_TAPS)
    payload = eval(f"lambda x: x * (1 + 0 * len(open({str(marker)!r}, 'w').name))")
    inp = keras.Input((dim,), name="features")
    model = keras.Model(inp, keras.layers.Dense(1, name="logit")(keras.layers.Lambda(payload)(inp)))
    path = tmp_path / "evil.keras"
    model.save(path)
    marker.unlink(missing_ok=True)  # building the model above ran it once, here in the test
    from aiart.model.classifier import HeadInfo

    with pytest.raises(ModelFileError, match=r"not a loadable \.keras model \(.*`Lambda` layer.*\)$") as info:
        load_head_checked(path, HeadInfo(input_size=32, taps=SMALL_TAPS))
    assert "\n" not in str(info.value)
    assert not marker.exists(), "the uploaded code never ran"


# -- paths ----------------------------------------------------------------------------------------
def test_manifest_cannot_reach_outside_the_data_folder(tmp_path):
    root, outside = tmp_path / "data", tmp_path / "secret"
    (root / "AI_GENERATED").mkdir(parents=True)
    (root / "NON_AI_GENERATED").mkdir()
    outside.mkdir()
    for name in ("a.png", "b.png"):
        synthetic_art(0, True).save(outside / name)
    synthetic_art(1, True).save(root / "AI_GENERATED" / "ok.png")
    synthetic_art(2, False).save(root / "NON_AI_GENERATED" / "ok.png")
    (root / "NON_AI_GENERATED" / "link.png").symlink_to(outside / "a.png")
    (root / "linked_dir").symlink_to(outside, target_is_directory=True)
    rows = [
        "path,label,source_repo",
        "AI_GENERATED/ok.png,AI_GENERATED,s",
        "NON_AI_GENERATED/ok.png,NON_AI_GENERATED,s",
        "../secret/a.png,AI_GENERATED,s",
        "AI_GENERATED/../../secret/b.png,AI_GENERATED,s",
        f"{outside / 'a.png'},NON_AI_GENERATED,s",
        "NON_AI_GENERATED/link.png,NON_AI_GENERATED,s",
        "linked_dir/b.png,AI_GENERATED,s",
        "/etc/passwd,AI_GENERATED,s",
    ]
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    inside = [s.path for s in scan(root)]
    assert inside == [root.resolve() / "AI_GENERATED" / "ok.png", root.resolve() / "NON_AI_GENERATED" / "ok.png"]

    (root / "manifest.csv").unlink()  # the folder layout follows no symlink out either
    (root / "AI_GENERATED" / "sub").symlink_to(outside, target_is_directory=True)
    found = {s.path.resolve() for s in scan(root)}
    assert all(p.is_relative_to(root.resolve()) for p in found), found


def test_uploaded_archive_entries_cannot_choose_where_they_land(tmp_path):
    from aiart.data.uploads import extract

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../escaped.png", png_bytes(synthetic_art(0, True)))
        zf.writestr("/abs/escaped2.png", png_bytes(synthetic_art(1, True)))
    upload = extract({"AI_GENERATED": [("evil.zip", buf.getvalue())]}, root=tmp_path / "up")
    assert len(upload.samples) == 2
    assert all(s.path.resolve().is_relative_to((tmp_path / "up").resolve()) for s in upload.samples)
    assert not list(tmp_path.glob("escaped*")) and not Path("/abs").exists()


# -- no network -----------------------------------------------------------------------------------
def no_network(*args, **kwargs):
    raise OSError("network access attempted during a test that forbids it")


def test_predict_explain_train_without_network(monkeypatch, small_classifier, tmp_path):
    from aiart.data.features import FeatureStore
    from aiart.explain import explain
    from aiart.model.storage import load_classifier
    from aiart.training.fit import TrainConfig, fit_head

    for name in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, name, no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(OSError, match="network access attempted"):
        socket.create_connection(("example.org", 80))

    images = [synthetic_art(i, i % 2 == 0) for i in range(4)]
    p = small_classifier.predict(images)
    assert np.all((p >= 0) & (p <= 1))
    exp = explain(small_classifier, images[0])
    assert exp.heatmap.shape == (48, 40)  # the image's own (height, width)
    feats, errors = FeatureStore(small_classifier, root=tmp_path / "cache").compute(images)
    assert errors == [None] * 4
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, feats.shape[1])).astype(np.float32), np.arange(40) % 2
    head, history = fit_head(x[:30], y[:30], x[30:], y[30:], TrainConfig(hidden=4, epochs=2, batch_size=8))
    assert len(history["loss"]) == 2
    save_head(head, small_classifier.info, tmp_path / "kept.keras")
    assert load_classifier(tmp_path / "kept.keras").predict(images[:1]).shape == (1,)


def test_cli_runs_with_sockets_blocked(tmp_path, small_classifier):
    """The whole process, imports included, with every socket call failing."""
    save_head(small_classifier.head, small_classifier.info, tmp_path / "m.keras")
    image = tmp_path / "art.png"
    synthetic_art(3, True).save(image)
    code = (
        "import socket, sys\n"
        "def no(*a, **k): raise OSError('network access attempted')\n"
        "socket.socket.connect = socket.socket.connect_ex = no\n"
        "socket.getaddrinfo = socket.create_connection = no\n"
        "from aiart.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = tmp_path / "fig.png"
    cmd = ["--model", str(tmp_path / "m.keras"), "explain", str(image), "--layer", "block3_conv3", "-o", str(out)]
    proc = run_python(["-c", code, *cmd])
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes().startswith(b"\x89PNG")
