"""A whole school on one deployment, for real: `deploy/tryout.sh 3` (three Streamlit replicas behind
Debian's nginx, the live vote on a real PostgreSQL), a teacher and three phones in Debian's chromium.

The teacher's Classroom runs on replica 1, reached directly; the phones come through nginx, each
pinned (by its sticky-session cookie) to replica 2 or 3. They must see the same round and the
projector the exact tally. Then the replica holding two phones is killed mid-round: nginx sends
their reconnecting websockets to a live replica, the phones find their class again from their
link, one changes its vote there as the same voter, and the round goes on to the reveal on every
phone. Last, the teacher link opens the Classroom through nginx, and without it nginx's visitors
are students.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.browser_util import (
    CHROMIUM,
    PHONE,
    ROOT,
    cast_vote,
    exceptions,
    free_port,
    log_tail,
    make_dataset,
    start_live_round,
    wait_idle,
    wait_votes,
)

pytestmark = pytest.mark.browser
REPLICAS = 3
TEACHER_TOKEN = "teacher-link-token-for-the-replicas-test"
FIRST_RUN = 180_000  # ms: replica 1 loads VGG16 for the Classroom page on a busy 2-core machine
STEP = 60_000  # ms: any other step, pages included, while two replicas and four pages share 2 cores
PROJECTOR = {"width": 1366, "height": 900}


@dataclass(frozen=True)
class School:
    url: str  # nginx
    replicas: list[str]  # each replica's own address
    run: Path  # deploy/tryout.sh's run folder: logs and pid files


def free_ports(n: int) -> int:
    """The first of `n` consecutive free ports."""
    while True:
        first = free_port()
        try:
            for port in range(first, first + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue


@pytest.fixture(scope="module")
def school(tmp_path_factory, postgres):
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing (scripts/test.sh apt-installs chromium)"
    assert shutil.which("nginx"), "nginx is missing from PATH (scripts/test.sh apt-installs it)"
    root = tmp_path_factory.mktemp("school")
    port, first = free_port(), free_ports(REPLICAS)
    env = {
        **os.environ,
        "PORT": str(port),
        "REPLICA_PORT": str(first),
        "RUN_DIR": str(root / "run"),
        "AIART_CLASSROOM_DB": postgres.fresh_database(),
        "AIART_DATA": str(make_dataset(root / "data")),
        "AIART_CACHE": str(root / "cache"),  # one cache folder shared by the replicas
        "AIART_PUBLIC_URL": f"http://127.0.0.1:{port}",  # phones join through nginx
        "AIART_TEACHER_TOKEN": TEACHER_TOKEN,
    }
    out = root / "tryout.log"
    with open(out, "wb") as log:
        proc = subprocess.Popen(
            [str(ROOT / "deploy" / "tryout.sh"), str(REPLICAS)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while "ready:" not in out.read_text():
            assert proc.poll() is None, f"deploy/tryout.sh exited with {proc.returncode}:\n{log_tail(out)}"
            assert time.monotonic() < deadline, f"deploy/tryout.sh not ready after 300 s:\n{log_tail(out)}"
            time.sleep(0.5)
        replicas = [f"http://127.0.0.1:{first + i}" for i in range(REPLICAS)]
        yield School(f"http://127.0.0.1:{port}", replicas, root / "run")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the script's trap stops replicas, nginx and nothing else
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def replica_of(school: School, key: str) -> int:
    """Which replica (0-based) nginx sends a browser with sticky key `key` to (its X-Aiart-Replica header)."""
    request = urllib.request.Request(school.url + "/_stcore/health", headers={"Cookie": f"aiart_replica={key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        upstream = response.headers["X-Aiart-Replica"].split(",")[-1].strip()
    return [r.removeprefix("http://") for r in school.replicas].index(upstream)


def keys_for(school: School, wanted: list[int]) -> list[str]:
    """Sticky keys that land on the replicas in `wanted`, in order."""
    found: dict[int, list[str]] = {}
    for n in range(500):
        found.setdefault(replica_of(school, f"phone-{n}"), []).append(f"phone-{n}")
        if all(len(found.get(r, [])) >= wanted.count(r) for r in wanted):
            return [found[r].pop(0) for r in wanted]
    raise AssertionError(f"no sticky keys found for replicas {wanted}: {found}")


def open_context(browser, contexts: list, viewport: dict):
    """A browser context with the slow machine's step timeout, kept in `contexts` to be closed at the end."""
    ctx = browser.new_context(viewport=viewport)
    ctx.set_default_timeout(STEP)  # every context alike: a page load through nginx took over 30 s once
    contexts.append(ctx)
    return ctx


WATCH_CONNECTION = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    window.connectionStates = [];
    new MutationObserver(() => window.connectionStates.push(app.dataset.testConnectionState))
        .observe(app, { attributes: true, attributeFilter: ['data-test-connection-state'] });
}"""
RECONNECTED = """() => {
    const seen = window.connectionStates;
    return seen.some((s) => s !== 'CONNECTED') && seen[seen.length - 1] === 'CONNECTED';
}"""
WHO_SERVES = "() => fetch('/_stcore/health').then((r) => r.headers.get('X-Aiart-Replica'))"


def test_teacher_and_phones_on_different_replicas_see_one_vote_and_survive_a_killed_replica(school, browser):
    contexts = []  # closed at the end, whatever happened
    try:
        host = open_context(browser, contexts, PROJECTOR).new_page()
        host.goto(school.replicas[0] + "/classroom")  # the teacher, straight on replica 1
        code = start_live_round(host, FIRST_RUN / 1000)
        assert f"{school.url}/vote?room={code}" in host.locator(".st-key-live-join").inner_text()  # via nginx

        phones, on = [], [1, 2, 2]  # phones pinned to replicas 2 and 3, through nginx
        for key, replica in zip(keys_for(school, on), on):
            ctx = open_context(browser, contexts, PHONE)
            ctx.add_cookies([{"name": "aiart_replica", "value": key, "url": school.url}])
            phone = ctx.new_page()
            response = phone.goto(f"{school.url}/vote?room={code}")
            assert response.headers["x-aiart-replica"] == school.replicas[replica].removeprefix("http://")
            phones.append(phone)
        for phone in phones:
            phone.get_by_text("Image 1: AI-generated or human-made?").wait_for()  # the same round
        for phone, label in zip(phones, ("AI-generated", "human-made", "AI-generated")):
            cast_vote(phone, label)
        wait_votes(host, 3, timeout=20)
        host.get_by_text("AI-generated 2 · human-made 1").wait_for()  # the exact tally, across replicas

        # Kill replica 3 mid-round: its two phones reconnect through nginx to a live replica.
        for phone in phones[1:]:
            phone.evaluate(WATCH_CONNECTION)
        os.kill(int((school.run / "replica-3.pid").read_text()), signal.SIGKILL)
        for phone in phones[1:]:
            phone.wait_for_function(RECONNECTED, timeout=90_000)  # lost the websocket, then got one again
            wait_idle(phone)
            served_by = phone.evaluate(WHO_SERVES).split(",")[-1].strip()
            assert served_by != school.replicas[2].removeprefix("http://")  # a live replica now
            assert "Image 1" in phone.locator('[data-testid="stMain"]').inner_text()  # back in the round
            phone.get_by_role("button", name="human-made").wait_for()
        host.wait_for_timeout(1500)  # a few tally polls
        wait_votes(host, 3)  # nothing lost with the replica
        host.get_by_text("AI-generated 2 · human-made 1").wait_for()
        cast_vote(phones[2], "human-made")  # the moved phone changes its mind: the same voter (id in URL and cookie)
        host.get_by_text("AI-generated 1 · human-made 2").wait_for()
        wait_votes(host, 3)  # still three phones, three votes

        host.get_by_role("button", name="Close voting").click()
        host.get_by_role("button", name="Reveal").click()
        host.get_by_text("The class: human-made").wait_for(timeout=FIRST_RUN)  # the majority after the change
        for phone in phones:
            phone.get_by_text("The model says").wait_for(timeout=30_000)
        for page in (host, *phones):
            assert not exceptions(page)
        for i in (1, 2):
            assert "Traceback" not in (school.run / f"replica-{i}.log").read_text(errors="replace")

        # The teacher link works through nginx, whichever replica answers: every replica has the same token.
        teacher = open_context(browser, contexts, PROJECTOR).new_page()
        teacher.goto(f"{school.url}/classroom?teacher={TEACHER_TOKEN}")
        teacher.get_by_role("button", name="Start a live round").wait_for(timeout=FIRST_RUN)
        student = phones[0].context.new_page()
        student.goto(f"{school.url}/classroom")  # without the link, through nginx: a student
        student.get_by_label("Code on the screen").wait_for()
        assert not student.get_by_role("button", name="Start a live round").count()
    except Exception:
        print(what_the_school_logged(school))  # pytest shows it with the failure: why, before the folder goes
        raise
    finally:
        for ctx in contexts:
            ctx.close()


def what_the_school_logged(school: School) -> str:
    """The tails of every replica's log and of nginx's logs, for a failure report."""
    names = [f"replica-{i + 1}.log" for i in range(REPLICAS)] + ["nginx-error.log", "nginx-access.log"]
    return "\n".join(f"----- {name}\n{log_tail(school.run / name, 3000)}" for name in names)
