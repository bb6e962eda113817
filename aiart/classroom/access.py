"""Who is the teacher, and the address phones use to join: the rules, with no Streamlit in them.

The teacher is the machine the app runs on (a direct loopback connection, not one relayed by a
proxy), or whoever holds the teacher token, which is printed when the app starts, like Jupyter's.
Everyone else is a student and gets the vote page only.

Phones cannot open `localhost`: the join link uses, in order, `AIART_PUBLIC_URL`, Streamlit's
`browser.serverAddress`, the address the server listens on, or this machine's network address
(what Streamlit prints as its Network URL). A server that listens on loopback only is reported
with the one setting that fixes it.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

from aiart.config import cache_dir

TOKEN_ENV = "AIART_TEACHER_TOKEN"
COOKIE = "aiart-teacher"  # the teacher link's token, kept by the teacher's browser instead of in its address bar
COOKIE_HOURS = 12  # a school day: the next day's lesson starts from the printed link again
PUBLIC_URL_ENV = "AIART_PUBLIC_URL"
PROXY_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")  # a relayed connection is not the machine itself
LOOPBACK_FIX = (
    "Restart it with `--server.address 0.0.0.0` (or without any server.address) so it listens on the network "
    "too, or set AIART_PUBLIC_URL to an address phones can open."
)


def teacher_token() -> str:
    """`$AIART_TEACHER_TOKEN`, else a random token kept (owner-only) in the cache folder across restarts."""
    if token := os.environ.get(TOKEN_ENV, "").strip():
        return token
    path = cache_dir() / "teacher-token"
    try:
        token = path.read_text().strip()
    except OSError:
        token = ""
    if len(token) < 16:
        token = secrets.token_urlsafe(18)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
    return token


def token_ok(given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), teacher_token().encode())


def proxied(headers: Mapping[str, str]) -> bool:
    """Whether a proxy relayed the connection: then its loopback peer says nothing about the user."""
    names = {k.lower() for k in headers}
    return any(h in names for h in PROXY_HEADERS)


def is_teacher(peer_is_loopback: bool, headers: Mapping[str, str], token: str | None) -> bool:
    """The machine itself (directly, not through a proxy) or a holder of the teacher token."""
    return (peer_is_loopback and not proxied(headers)) or token_ok(token)


def loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def network_ip() -> str | None:
    """This machine's address on its network (no packet is sent), or None when it has only loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            ip = s.getsockname()[0]
        except OSError:
            ip = None
    if ip and not loopback_host(ip) and ip != "0.0.0.0":
        return ip
    try:
        ip = socket.gethostbyname(socket.gethostname())
    except OSError:
        return None
    return None if loopback_host(ip) else ip


@dataclass(frozen=True)
class Served:
    """How the server is set up, as Streamlit's options say (see `aiart.app.access.served`)."""

    port: int
    listen: str = ""  # server.address; "" listens on every interface
    browser_address: str = ""  # browser.serverAddress, only when set by hand
    base_path: str = ""
    https: bool = False


def url_of(host: str, served: Served) -> str:
    scheme = "https" if served.https else "http"
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    base = f"/{served.base_path.strip('/')}" if served.base_path.strip("/") else ""
    return f"{scheme}://{host}:{served.port}{base}"


def public_base(served: Served) -> tuple[str | None, str | None]:
    """(the base URL phones should use, or None; a problem to tell the teacher before the lesson, or None)."""
    if override := os.environ.get(PUBLIC_URL_ENV, "").strip():
        return override.rstrip("/"), None
    if served.browser_address and not loopback_host(served.browser_address):
        return url_of(served.browser_address, served), None
    listen = served.listen.strip()
    if listen and loopback_host(listen):
        return None, f"The app listens only on this computer ({listen}), so phones cannot join. {LOOPBACK_FIX}"
    if listen and listen not in ("0.0.0.0", "::"):
        return url_of(listen, served), None
    if ip := network_ip():
        return url_of(ip, served), None
    return None, (
        "This computer has no network address phones could reach: connect it to the classroom's network, "
        f"or set {PUBLIC_URL_ENV}."
    )


def join_url(base: str, code: str) -> str:
    return f"{base}/vote?room={code}"


def teacher_url(base: str) -> str:
    return f"{base}/?teacher={teacher_token()}"


def cookie(name: str, value: str, base_path: str = "", hours: int = COOKIE_HOURS, same_site: str = "Strict") -> str:
    """A `document.cookie` assignment for the app's path only, kept `hours`; `same_site="Lax"` also
    sends it when another site links here (a QR code scanned into a browser), "Strict" never does.
    Value and path are percent-encoded, so it holds no quote, bracket or ampersand to escape."""
    path = quote(f"/{base_path.strip('/')}" if base_path.strip("/") else "/", safe="/")
    return f"{name}={quote(value, safe='')}; Path={path}; Max-Age={hours * 3600}; SameSite={same_site}"


def token_cookie(token: str, base_path: str = "", hours: int = COOKIE_HOURS) -> str:
    """The cookie that keeps the teacher token in this browser, so the address bar (often projected) drops it."""
    return cookie(COOKIE, token, base_path, hours)


def cookie_token(cookies: Mapping[str, str]) -> str | None:
    """The token `token_cookie` stored, as the browser sends it back (None when there is none)."""
    raw = cookies.get(COOKIE)
    return unquote(raw) if raw else None
