"""Helpers for driving the real app in Debian's chromium: a throwaway server, synthetic paintings, DOM checks.

Shared by `tests/browser/test_browser.py` and `scripts/screenshots.py`, so the README pictures show exactly
what the browser tests exercise. Every image here is drawn by code: nothing third-party.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
EXCEPTION = '[data-testid="stException"]'
APP = '[data-testid="stApp"]'
SOURCES = {"AI_GENERATED": ("dreamgen-a", "dreamgen-b"), "NON_AI_GENERATED": ("painter-x", "sketchbook-y")}


# -- synthetic paintings ------------------------------------------------------------------------
def painting(seed: int, ai: bool, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A picture drawn by code: a glossy, smooth dream landscape ("AI") or swirling brush strokes ("human")."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w] / np.float32(h)
    if ai:  # a glossy dream landscape: smooth sky, glowing sun, soft layered hills, bokeh
        top, bottom = rng.uniform(40, 255, 3), rng.uniform(120, 255, 3)
        img = top + (bottom - top) * yy[..., None] ** 0.8
        sx, sy = rng.uniform(0.2, w / h - 0.2), rng.uniform(0.2, 0.45)
        sun = np.exp(-((xx - sx) ** 2 + (yy - sy) ** 2) / 0.01)[..., None]
        halo = np.exp(-((xx - sx) ** 2 + (yy - sy) ** 2) / 0.08)[..., None]
        img = img * (1 - 0.9 * sun) + sun * 0.9 * np.array([255, 245, 220]) + halo * 50
        hill = rng.uniform(30, 160, 3)
        for k in range(3):
            line = 0.55 + 0.12 * k + 0.06 * np.sin(xx * rng.uniform(2, 5) + rng.uniform(0, 6))
            mask = (yy > line)[..., None]
            shade = hill * (1 - 0.25 * k) + (yy[..., None] - line[..., None]) * 60
            img = np.where(mask, shade, img)
        for _ in range(4):
            cx, cy, r = rng.uniform(0, w / h), rng.uniform(0, 0.5), rng.uniform(0.02, 0.06)
            img += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None] * 70
        return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2.5))
    # brush strokes following a swirling flow field: sky above a wavy horizon, fields below
    horizon = rng.uniform(0.4, 0.6)
    sky = [(52, 88, 160), (86, 128, 190), (150, 180, 215), (235, 220, 160), (40, 60, 120)]
    land = [(60, 110, 60), (120, 150, 60), (200, 160, 60), (150, 90, 40), (90, 70, 40)]
    img = Image.new("RGB", size, (220, 210, 185))
    draw = ImageDraw.Draw(img)
    swirl, phase = rng.uniform(3, 8), rng.uniform(0, 2 * np.pi)
    for _ in range(int(rng.integers(1800, 2400))):
        x, y = rng.uniform(-10, w + 10), rng.uniform(-10, h + 10)
        low = y / h > horizon + 0.05 * np.sin(x / h * 5 + phase)
        palette = land if low else sky
        colour = np.array(palette[rng.integers(len(palette))]) + rng.normal(0, 12, 3)
        pts = [(x, y)]
        for _ in range(int(rng.integers(2, 6))):
            px, py = pts[-1]
            a = np.sin(swirl * py / h + phase) + np.cos(swirl * px / h) * (0.3 if low else 1.0)
            pts.append((px + 6 * np.cos(a), py + 6 * np.sin(a) * (0.4 if low else 1)))
        fill = tuple(int(c) for c in np.clip(colour, 0, 255))
        draw.line(pts, fill=fill, width=int(rng.integers(3, 7)), joint="curve")
    grain = rng.normal(0, 7, (h, w, 3))
    return Image.fromarray(np.clip(np.asarray(img) + grain, 0, 255).astype(np.uint8))


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def lookalike(seed: int, ai: bool, size: tuple[int, int]) -> Image.Image:
    """A picture of one class made in the other's style: blurred strokes labelled AI, grainy gloss labelled human."""
    if ai:
        return painting(seed, False, size).filter(ImageFilter.GaussianBlur(1.5))
    grain = np.random.default_rng(seed).normal(0, 12, (size[1], size[0], 3))
    return Image.fromarray(np.clip(np.asarray(painting(seed, True, size)) + grain, 0, 255).astype(np.uint8))


def make_dataset(root: Path, per_source: int = 3, size: tuple[int, int] = (320, 240)) -> Path:
    """Kaggle layout with two sources (sub-folders) per class, so Train can hold whole sources out.

    The last image of each class's second source is a lookalike of the other class, so the
    model makes some mistakes and the numbers are not all perfect.
    """
    for label, sources in SOURCES.items():
        ai = label == "AI_GENERATED"
        for s, source in enumerate(sources):
            folder = root / label / source
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_source):
                seed = 100 * s + i + (0 if ai else 50)
                hard = s == 1 and i == per_source - 1
                (lookalike if hard else painting)(seed, ai, size).save(folder / f"{source}-{i}.png")
    return root


# -- the server ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(
    data_dir: Path, cache_dir: Path, log_path: Path, timeout: float = 120, listen: str = "127.0.0.1"
) -> Iterator[str]:
    """`streamlit run streamlit_app.py` on a free port with AIART_DATA/AIART_CACHE set; yields its loopback URL
    (the teacher's). With `listen="0.0.0.0"` phones reach it at `network_url(url)` as students.

    The server runs in its own process group, which is killed on exit whatever happened.
    """
    port = free_port()
    env = {**os.environ, "AIART_DATA": str(data_dir), "AIART_CACHE": str(cache_dir), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("AIART_PUBLIC_URL", None)
    cmd = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py"]
    cmd += ["--server.port", str(port), "--server.headless", "true", "--server.address", listen]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log_tail(log_path)}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s:\n{log_tail(log_path)}")
            time.sleep(0.3)
        yield url
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def log_tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def network_url(url: str) -> str | None:
    """The same server at this machine's network address (a student's view), or None without a network."""
    from aiart.classroom.access import network_ip

    ip = network_ip()
    return None if ip is None else url.replace("127.0.0.1", ip)


# -- the browser --------------------------------------------------------------------------------
def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)


def wait_idle(page, timeout: float = 120) -> None:
    """Until Streamlit's script (or fragment) run is over: the app's script state leaves "running"."""
    page.wait_for_function(
        f"""() => {{
            const app = document.querySelector('{APP}');
            return app && app.dataset.testScriptState !== 'running' && app.dataset.testScriptState !== 'initial'
                && app.dataset.testConnectionState === 'CONNECTED';
        }}""",
        timeout=timeout * 1000,
    )


def upload(page, files: list[tuple[str, bytes]], uploader: str = '[data-testid="stFileUploader"]') -> None:
    """Through the uploader's real <input type=file>, as the file dialog would."""
    payload = [{"name": n, "mimeType": mime(n), "buffer": b} for n, b in files]
    page.locator(uploader).locator('input[type="file"]').set_input_files(payload)


def drop(page, name: str, data: bytes, target: str = '[data-testid="stFileUploaderDropzone"]') -> None:
    """A real drag-and-drop: dragenter, dragover and drop carrying a DataTransfer that holds a File.

    The events go out in separate tasks like a real drag's: the dropzone handles dragenter
    asynchronously, and a drop in the same task would leave it stuck in its "drag active" look.
    """
    page.locator(target).first.evaluate(
        """async (zone, [name, bytes, type]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], name, { type }));
            for (const kind of ['dragenter', 'dragover', 'drop']) {
                zone.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true, dataTransfer: dt }));
                await new Promise((done) => setTimeout(done, 100));  // separate tasks, as in a real drag
            }
        }""",
        [name, list(data), mime(name)],
    )


def mime(name: str) -> str:
    ext = Path(name).suffix.lower().lstrip(".")
    return {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}.get(
        ext, "application/octet-stream"
    )


def pixel_std(png_bytes: bytes) -> float:
    """Standard deviation of an element screenshot's pixels: about 0 for a blank or one-colour box."""
    return float(np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGB"), dtype=np.float32).std())


def loaded(img) -> bool:
    """The <img> has finished loading a real picture."""
    return img.evaluate("el => el.complete && el.naturalWidth > 0 && el.naturalHeight > 0")


def exceptions(page) -> list[str]:
    return page.locator(EXCEPTION).all_inner_texts()


# -- the live class vote ------------------------------------------------------------------------
PHONE = {"width": 390, "height": 844}
TALLY = '.st-key-live-tally [data-testid="stMetricValue"]'


def start_live_round(page, timeout: float = 120) -> str:
    """On the Classroom page: start a live round and open voting on the current image; returns the code."""
    page.get_by_role("button", name="Start a live round").click(timeout=timeout * 1000)
    page.locator(".st-key-live-code").wait_for(timeout=timeout * 1000)
    wait_idle(page, timeout)  # until the run is over: the previous layout's elements are gone
    code = page.locator(".st-key-live-code p").first.inner_text(timeout=timeout * 1000).strip()
    page.get_by_role("button", name="Open voting").click(timeout=timeout * 1000)
    page.locator(TALLY).wait_for(timeout=timeout * 1000)
    return code


def cast_vote(page, label: str, reason: str | None = None) -> None:
    """On a joined Vote page: pick a reason chip (optional) and press AI-generated or human-made."""
    if reason:
        page.get_by_role("radio", name=reason, exact=True).click()
        wait_idle(page)
    page.get_by_role("button", name=label).click()
    page.get_by_text("You can change your vote").wait_for()


def wait_votes(page, n: int, timeout: float = 10) -> None:
    """Until the projector's live tally shows `n` votes in (no reload: the fragment polls the store)."""
    page.wait_for_function(
        "([sel, n]) => document.querySelector(sel)?.innerText.trim() === String(n)",
        arg=[TALLY, n],
        timeout=timeout * 1000,
    )


# -- the projector ------------------------------------------------------------------------------
CUT_OFF_JS = """() => {
    const vh = window.innerHeight, vw = window.innerWidth, cut = [];
    const leaves = 'img, canvas, svg, p, h1, h2, h3, h4, button, [data-testid="stDataFrame"], '
        + '[data-testid="stProgress"]';
    for (const el of document.querySelectorAll(`[data-testid="stMain"] :is(${leaves})`)) {
        const r = el.getBoundingClientRect();
        if (r.width < 1 || r.height < 1 || getComputedStyle(el).visibility === 'hidden') continue;
        if (r.bottom > vh + 1 || r.right > vw + 1) {
            const id = el.getAttribute('data-testid') || el.tagName.toLowerCase();
            cut.push(`${id} "${(el.innerText || el.alt || '').trim().slice(0, 40)}" ends at ${Math.round(r.bottom)}`);
        }
    }
    return cut;
}"""


def cut_off(page) -> list[str]:
    """What the class would miss: pictures, text, buttons and tables of the page that end below (or right of)
    the screen (containers' padding aside). A projector cannot scroll."""
    return page.evaluate(CUT_OFF_JS)
