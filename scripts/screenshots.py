"""Regenerate the README screenshots (docs/img/*.png) from the real app in Debian's chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/img] [--only classify ...] [--size 1920x1080]

Starts `streamlit run` on a free port with AIART_DATA pointing to a temp folder of paintings drawn
by code (`tests/browser/browser_util.painting`) and a temp AIART_CACHE, so the pictures never show
third-party images. Needs /usr/bin/chromium, the default head in weights/, and an emoji font
(Debian: fonts-noto-color-emoji) or the sidebar's page icons show as empty boxes.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.browser_util import (
    CHROMIUM,
    PHONE,
    ROOT,
    cast_vote,
    exceptions,
    launch,
    log_tail,
    make_dataset,
    painting,
    png,
    start_live_round,
    streamlit_server,
    upload,
    wait_idle,
    wait_votes,
)

VIEWPORT = {"width": 1366, "height": 900}
LONG = 300_000  # ms: first model load, first features, a training session on a busy machine
METRIC = '[data-testid="stMetric"]'


def scroll_to(page, locator, offset: int = 70) -> None:
    """Put `locator` at the top of Streamlit's scrolling main area, just below the header."""
    locator.first.evaluate(
        """(el, offset) => {
            let box = el.parentElement;
            while (box && !['auto', 'scroll'].includes(getComputedStyle(box).overflowY)) box = box.parentElement;
            (box || document.scrollingElement).scrollBy(0, el.getBoundingClientRect().top - offset);
        }""",
        offset,
    )
    page.wait_for_timeout(400)


def settle(page) -> None:
    """Idle app, every picture loaded, no hover effects, then a moment for transitions to finish."""
    wait_idle(page, LONG / 1000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)", timeout=LONG
    )
    page.mouse.move(5, VIEWPORT["height"] - 5)
    page.wait_for_timeout(800)
    if shown := exceptions(page):
        raise RuntimeError(f"the app shows an exception: {shown}")


def nav(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).click(timeout=LONG)


def classify(page, out: Path) -> None:
    """A batch of two with its results table, and the first card explaining both classes; then that
    card's score breakdown by block."""
    page.wait_for_selector('[data-testid="stFileUploader"]', timeout=LONG)
    files = [
        ("dream-valley.png", png(painting(3, True, (480, 360)))),
        ("swirling-fields.png", png(painting(61, False, (480, 360)))),
    ]
    upload(page, files)
    page.locator(METRIC).nth(len(files) - 1).wait_for(timeout=LONG)
    settle(page)
    card = page.locator('[class*="st-key-card-"]', has=page.get_by_text(files[0][0], exact=True))
    card.get_by_role("radio", name="Both").click()
    card.locator('[data-testid="stImage"]', has_text="What looks AI").wait_for(timeout=LONG)
    settle(page)
    scroll_to(page, page.locator('[data-testid="stDataFrame"]'), offset=84)
    settle(page)
    page.screenshot(path=out / "classify.png")
    card.get_by_text("Where does the score come from?").click()
    chart = card.locator('[data-testid="stVegaLiteChart"]')
    chart.wait_for(timeout=LONG)
    settle(page)
    scroll_to(page, chart, offset=160)
    settle(page)
    page.screenshot(path=out / "classify-breakdown.png")


def browse(page, out: Path) -> None:
    """Scores on the folder (metrics, confusion matrix, reliability) above the first row of tiles."""
    nav(page, "Browse")
    page.get_by_role("button", name="Compute predictions").click(timeout=LONG)  # a first visit asks first
    page.locator('[class*="st-key-tile-"]').first.wait_for(timeout=LONG)
    settle(page)
    scroll_to(page, page.get_by_role("heading", name="How good is the model"))
    settle(page)
    page.screenshot(path=out / "browse.png")


def train(page, out: Path) -> None:
    """A short session on the synthetic folder: curves (train.png), then the comparison with the default
    model, each with its "not sure" band (train-compare.png)."""
    nav(page, "Train")
    go = page.locator(".st-key-train-go button")
    go.wait_for(timeout=LONG)
    settle(page)
    go.click()
    page.get_by_role("heading", name="3. Training").wait_for(timeout=60_000)
    page.get_by_text("Kept the best epoch so far").wait_for(timeout=LONG)
    settle(page)
    scroll_to(page, page.get_by_role("heading", name="3. Training"))
    settle(page)
    page.screenshot(path=out / "train.png")
    scroll_to(page, page.get_by_role("heading", name="New model vs the default model"))
    settle(page)
    page.screenshot(path=out / "train-compare.png")


def finetune(page, out: Path) -> None:
    """The slow option: a session that fine-tunes block5 too, caught while it does (the status line and
    the green line where fine-tuning began)."""
    nav(page, "Train")
    page.locator(".st-key-train-go button").wait_for(timeout=LONG)
    page.get_by_text("Also fine-tune block5").click()
    thumb = page.locator(".st-key-train-finetune-epochs input[type=range]")  # visually hidden, focusable
    thumb.wait_for(state="attached", timeout=LONG)
    thumb.focus()
    page.keyboard.press("End")  # 20 epochs: long enough to be caught mid-way
    wait_idle(page, LONG / 1000)
    page.locator(".st-key-train-go button").click()
    page.get_by_text("Fine-tuning block5 and the head").wait_for(timeout=LONG)
    page.wait_for_timeout(4000)  # a few fine-tuning epochs on the curves
    scroll_to(page, page.get_by_role("heading", name="3. Training"))
    page.screenshot(path=out / "train-finetune.png")
    page.get_by_text("Kept the best epoch so far").wait_for(timeout=LONG)


def live(page, out: Path) -> None:
    """A live class vote: five phones vote, the projector reveals (1280x800); one phone as it votes (390x844)."""
    base = "/".join(page.url.split("/")[:3])
    host = page.context.browser.new_page(viewport={"width": 1280, "height": 800})
    host.goto(f"{base}/classroom")
    code = start_live_round(host, LONG / 1000)
    votes = [("AI-generated", "too perfect"), ("AI-generated", "light"), ("human-made", "texture")]
    votes += [("AI-generated", "too perfect"), ("AI-generated", None)]
    for i, (label, reason) in enumerate(votes):
        phone = page.context.browser.new_page(viewport=PHONE)
        phone.goto(f"{base}/vote?room={code}")
        phone.get_by_role("button", name=label).wait_for(timeout=LONG)
        cast_vote(phone, label, reason)
        if i == 2:
            settle(phone)
            phone.screenshot(path=out / "vote-phone.png")
    wait_votes(host, len(votes))
    host.get_by_role("button", name="Close voting").click()
    host.get_by_role("button", name="Reveal").click(timeout=LONG)
    host.get_by_text("The class: AI-generated").wait_for(timeout=LONG)
    settle(host)
    host.screenshot(path=out / "classroom-live.png")


def classroom(page, out: Path) -> None:
    """The projector view at 1280x800: the class has guessed, the model's verdict and heatmap are revealed."""
    base = "/".join(page.url.split("/")[:3])
    projector = page.context.browser.new_page(viewport={"width": 1280, "height": 800})
    projector.goto(f"{base}/classroom")
    projector.locator(".st-key-classroom-picture img").wait_for(timeout=LONG)
    settle(projector)
    projector.get_by_role("button", name="Human").click()
    wait_idle(projector, LONG / 1000)
    projector.get_by_role("button", name="Reveal").click()
    projector.get_by_text("The model says").wait_for(timeout=LONG)
    settle(projector)
    projector.screenshot(path=out / "classroom.png")
    projector.close()


SHOTS = {
    "classify": classify,
    "classroom": classroom,
    "browse": browse,
    "train": train,
    "finetune": finetune,
    "live": live,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="where the PNGs go")
    parser.add_argument("--per-source", type=int, default=6, help="images per source (2 sources per class)")
    parser.add_argument("--only", nargs="+", choices=list(SHOTS), default=list(SHOTS), help="which screenshots")
    parser.add_argument("--size", default="1366x900", help="browser window, WIDTHxHEIGHT (1920x1080: a projector)")
    args = parser.parse_args()
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        sys.exit(f"--size must be WIDTHxHEIGHT, e.g. 1920x1080, got {args.size!r}")
    VIEWPORT.update(width=width, height=height)
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium")
    fonts = shutil.which("fc-list") and subprocess.run(["fc-list"], capture_output=True, text=True).stdout
    if fonts and "emoji" not in fonts.lower():
        print("warning: no emoji font (fonts-noto-color-emoji): page icons will show as boxes", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="aiart-shots-") as tmp:
        tmp = Path(tmp)
        data = make_dataset(tmp / "data", per_source=args.per_source)
        with streamlit_server(data, tmp / "cache", tmp / "streamlit.log") as url, sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(url)
            t0 = time.monotonic()
            for name in args.only:
                try:
                    SHOTS[name](page, args.out)
                except Exception:
                    failure = Path(tempfile.gettempdir()) / f"aiart-screenshots-{name}-failure.png"
                    page.screenshot(path=failure)
                    print(log_tail(tmp / "streamlit.log"), file=sys.stderr)
                    print(f"{name} failed; the page then: {failure}", file=sys.stderr)
                    raise
                print(f"{name}.png after {time.monotonic() - t0:.0f} s")
            browser.close()
    print(f"screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
