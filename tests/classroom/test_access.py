"""Who is the teacher and where phones join (aiart/classroom/access.py), without a browser."""

from __future__ import annotations

import os
import stat

import pytest

from aiart.classroom import access
from aiart.classroom.access import Served


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AIART_CACHE", str(tmp_path))
    monkeypatch.delenv(access.TOKEN_ENV, raising=False)
    monkeypatch.delenv(access.PUBLIC_URL_ENV, raising=False)


def test_the_token_is_made_once_kept_private_and_checked_exactly(tmp_path):
    token = access.teacher_token()
    assert len(token) >= 16 and access.teacher_token() == token  # the same across restarts
    assert stat.S_IMODE(os.stat(tmp_path / "teacher-token").st_mode) == 0o600
    assert access.token_ok(token) and not access.token_ok(token[:-1]) and not access.token_ok(None)


def test_the_teacher_is_the_machine_itself_or_a_token_holder():
    token = access.teacher_token()
    assert access.is_teacher(True, {}, None)  # the app's own machine
    assert not access.is_teacher(False, {}, None)  # a phone
    assert not access.is_teacher(False, {}, "guess")
    assert access.is_teacher(False, {}, token)  # the printed teacher link, from a laptop
    # behind a proxy every peer is loopback: its forwarding headers say the user is elsewhere
    assert not access.is_teacher(True, {"X-Forwarded-For": "192.168.1.40"}, None)
    assert access.is_teacher(True, {"X-Real-IP": "192.168.1.40"}, token)


@pytest.mark.parametrize(
    ("token", "base_path", "path"),
    [("abc-DEF_123", "", "/"), ("a b;c=d%", "/aiart/", "/aiart"), ("tok", "school", "/school")],
)
def test_the_token_cookie_is_scoped_to_the_app_and_comes_back_unchanged(token, base_path, path):
    cookie = access.token_cookie(token, base_path, hours=2)
    value, *attributes = cookie.split("; ")
    name, _, encoded = value.partition("=")
    assert name == access.COOKIE and ";" not in encoded and " " not in encoded
    assert attributes == [f"Path={path}", "Max-Age=7200", "SameSite=Strict"]
    assert access.cookie_token({access.COOKIE: encoded}) == token  # as the browser sends it back
    assert access.cookie_token({}) is None and access.cookie_token({access.COOKIE: ""}) is None
    # a phone's voter id is sent along when a scanned QR code opens the app: Lax, not Strict
    hostile = access.cookie("aiart-teacher", "a'b\"c<d>&e;f", "/x y&'<z>")  # nothing to escape in a script
    assert not set("'\"<>&") & set(hostile) and hostile.count(";") == 3
    lax = access.cookie("aiart_device", "ab12", base_path, same_site="Lax")
    assert lax.endswith(f"Path={path}; Max-Age=43200; SameSite=Lax")


def test_the_join_address_is_never_loopback(monkeypatch):
    monkeypatch.setattr(access, "network_ip", lambda: "192.168.1.20")
    assert access.public_base(Served(8501)) == ("http://192.168.1.20:8501", None)  # listens everywhere
    assert access.public_base(Served(8501, listen="0.0.0.0", base_path="/art/")) == (
        "http://192.168.1.20:8501/art",
        None,
    )
    assert access.public_base(Served(8501, listen="10.0.0.5")) == ("http://10.0.0.5:8501", None)
    assert access.public_base(Served(443, browser_address="art.school.example", https=True)) == (
        "https://art.school.example:443",
        None,
    )
    base, problem = access.public_base(Served(8501, listen="127.0.0.1"))
    assert base is None and "--server.address 0.0.0.0" in problem  # said before the lesson, with the fix
    monkeypatch.setenv(access.PUBLIC_URL_ENV, "https://aiart.school.example/")
    assert access.public_base(Served(8501, listen="127.0.0.1")) == ("https://aiart.school.example", None)
    assert access.join_url("http://192.168.1.20:8501", "K7PM3Q") == "http://192.168.1.20:8501/vote?room=K7PM3Q"


def test_without_a_network_the_teacher_is_told(monkeypatch):
    monkeypatch.setattr(access, "network_ip", lambda: None)
    base, problem = access.public_base(Served(8501))
    assert base is None and access.PUBLIC_URL_ENV in problem


def test_this_machines_network_address_is_not_loopback():
    ip = access.network_ip()
    assert ip is None or not access.loopback_host(ip)
