"""A stranger's first ten minutes: a fresh virtual environment with nothing but the project,
`mpp demo`, and the URLs it prints, used exactly as printed, in Chromium.

This is the test that would have caught psycopg_pool missing from pyproject.toml: the server
runs from the new environment, outside the source tree, so nothing of ours leaks in.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.live import free_port

ROOT = Path(__file__).resolve().parents[2]
KTP = "Perekaman KTP-el"
# Not copied into the build: version control, environments, local databases, test output.
IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", "*.db", "*.db-*",
                                "build", "dist", "*.egg-info", "screenshots", "test-artifacts")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _run(cmd: list[str], **kw: Any) -> None:
    subprocess.run(cmd, check=True, timeout=900, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, **kw)


@pytest.fixture(scope="module")
def fresh_demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`python3 -m venv v && v/bin/pip install . && v/bin/mpp demo`, in a folder of its own."""
    work = tmp_path_factory.mktemp("stranger")
    src = work / "src"
    shutil.copytree(ROOT, src, ignore=IGNORE)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MPP_", "PYTHON", "VIRTUAL_ENV", "PROMETHEUS"))}
    env["PYTHONNOUSERSITE"] = "1"
    _run([sys.executable, "-m", "venv", str(work / "v")], env=env)
    _run([str(work / "v" / "bin" / "pip"), "install", "-q", str(src)], env=env, cwd=work)
    port = free_port()
    out = (work / "demo.out").open("wb")
    proc = subprocess.Popen([str(work / "v" / "bin" / "mpp"), "demo", "--port", str(port)],
                            cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (work / "demo.out").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (work / "demo.out").read_text()
            time.sleep(0.2)
        yield (work / "demo.out").read_text(), base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # a client's connection still open: no grace
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def printed_urls(text: str) -> dict[str, str]:
    return {m.group(1).strip(): m.group(2)
            for m in re.finditer(r"^  ([A-Za-z][^\n]*?)\s{2,}(http://\S+)", text, re.M)}


def printed_passwords(text: str) -> dict[str, str]:
    return dict(re.findall(r"^  ((?:petugas_|manajer|admin)\w*)\s+(\S+)$", text, re.M))


def test_fresh_install_demo_issues_and_calls(fresh_demo: Any, browser: Any) -> None:
    text, base = fresh_demo
    urls = printed_urls(text)
    for screen in ("Kiosk (take a ticket)", "Display board", "Booking check-in kiosk",
                   "Online booking (phone)", "Counter console", "Survey tablet", "Dashboard",
                   "Admin", "API docs"):
        assert screen in urls, (screen, text)
    # Every printed URL answers (staff screens send a browser to sign in, nothing fails).
    for url in urls.values():
        r = httpx.get(url, timeout=30, follow_redirects=True)
        assert r.status_code == 200, (url, r.status_code)

    ctx = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="id-ID")
    ctx.set_default_timeout(20_000)
    try:
        kiosk = ctx.new_page()
        kiosk.add_init_script("window.print = () => {};")
        kiosk.goto(urls["Kiosk (take a ticket)"])
        kiosk.locator(".k-agency", has_text="Disdukcapil").click()
        kiosk.locator("#service-list .k-service", has_text=KTP).click()
        kiosk.locator("#take-btn").click()
        # The demo sends citizens' messages to its console: the optional phone comes first.
        kiosk.locator("#phone-skip").click()
        expect(kiosk.locator("#screen-ticket")).to_be_visible()
        number = kiosk.locator("#ticket-screen .ticket").get_attribute("data-number")
        assert number and re.fullmatch(r"[A-Z]{1,3}-\d{3}", number)

        board = ctx.new_page()
        board.goto(urls["Display board"])
        board.wait_for_function("window.__board && window.__board.snapshots > 0")

        # The officer signs in with the printed password and calls the next citizen.
        password = printed_passwords(text)["petugas_dukcapil"]
        token = httpx.post(f"{base}/api/v1/auth/token", timeout=30, data={
            "username": "petugas_dukcapil", "password": password}).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        counters = httpx.get(f"{base}/api/v1/counters", headers=h, timeout=30).json()
        ktp = next(c for c in counters if c["service_ids"] and c["number"] == 1)
        assert httpx.post(f"{base}/api/v1/counters/{ktp['id']}/open", headers=h,
                          timeout=30).status_code == 200
        called = httpx.post(f"{base}/api/v1/counters/{ktp['id']}/call-next", headers=h,
                            timeout=30)
        assert called.status_code == 200 and called.json()["number"] == number
        board.wait_for_function("n => document.body.innerText.includes(n)", arg=number)
    finally:
        ctx.close()
