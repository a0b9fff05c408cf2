"""The front-end helper (app/web/static/js/mpp.js) in Chromium against a real server: the API's
refusals arrive as MPP.ApiError with their code, message and field, a lost answer is a
"network" error, the websocket comes back after a drop, and text never becomes HTML."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser]


@pytest.mark.parametrize("backend", ["sqlite"])  # the helper has nothing to do with the database
def test_requests_errors_reconnects_and_text(demo_server: Any, page: Any) -> None:
    page.goto(demo_server.url + "/booking")  # a page that runs a script: it loads the helper
    got = page.evaluate("""async () => {
      const out = {};
      try { await MPP.request("GET", "/api/v1/tickets/999999"); out.anon = "no error"; }
      catch (e) { out.anon = [e instanceof MPP.ApiError, e.status, e.code, !!e.message]; }
      try { await MPP.request("POST", "/api/v1/bookings", { body: { service_id: "x" } }); }
      catch (e) { out.invalid = [e.status, e.code, e.field]; }
      try { await MPP.request("GET", "http://127.0.0.1:9/", { networkMessage: "offline" }); }
      catch (e) { out.network = [e.status, e.code, e.message]; }
      out.ok = (await MPP.request("GET", "/healthz")).status;
      out.text = MPP.el("p", { text: "<b>x</b>" }, "<i>y</i>").innerHTML;
      out.short = MPP.text("span", "a b", 0).outerHTML;
      return out;
    }""")
    assert got["anon"] == [True, 401, "not_authenticated", True]
    assert got["invalid"][0] == 422 and got["invalid"][1] == "validation_error"
    assert got["invalid"][2] == "service_id"
    assert got["network"] == [0, "network", "offline"]
    assert got["ok"] == "ok"
    assert got["text"] == "&lt;b&gt;x&lt;/b&gt;&lt;i&gt;y&lt;/i&gt;"
    assert got["short"] == '<span class="a b">0</span>'

    # A websocket dropped on purpose comes back by itself, with a fresh snapshot.
    snapshots = page.evaluate("""() => new Promise((resolve, reject) => {
      let n = 0, opens = 0;
      const live = MPP.connect("/ws/display?site_id=1", {
        open: () => { opens += 1; },
        delay: () => 50,
        message: (m) => {
          if (m.type !== "snapshot") return;
          n += 1;
          if (n === 1) live.reconnect();
          else { live.stop(); resolve([n, opens]); }
        },
      });
      setTimeout(() => reject(new Error("no second snapshot")), 10000);
    })""")
    assert snapshots == [2, 2]
