"""The receiver example in docs/integration.md runs, and accepts only correctly signed posts."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from http.server import HTTPServer
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook

from app.services.webhooks import new_secret

DOC = Path(__file__).resolve().parents[2] / "docs" / "integration.md"


def test_docs_receiver_verifies_signatures(capsys):
    text = DOC.read_text(encoding="utf-8")
    code = re.search(r"<!-- receiver-example -->\n```python\n(.*?)```", text, re.S).group(1)
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 15
    secret = new_secret()
    # Everything but the last line (which serves forever on port 8080) with our secret.
    body, last = code.rsplit("\n", 2)[0], code.strip().splitlines()[-1]
    assert last.startswith("HTTPServer(")
    namespace: dict = {}
    exec(body.replace("whsec_...", secret), namespace)  # noqa: S102 - our own documentation
    server = HTTPServer(("127.0.0.1", 0), namespace["Receiver"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        payload = '{"type":"ticket.called","timestamp":"x","data":{"number":"A-042"}}'
        now = datetime.now(UTC)
        headers = {"webhook-id": "wh:1:te:1", "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": Webhook(secret).sign("wh:1:te:1", now, payload),
                   "content-type": "application/json"}
        assert httpx.post(url, content=payload, headers=headers).status_code == 204
        assert "wh:1:te:1 ticket.called A-042" in capsys.readouterr().out
        tampered = payload.replace("A-042", "A-043")
        assert httpx.post(url, content=tampered, headers=headers).status_code == 401
        wrong = {**headers, "webhook-signature": Webhook(new_secret()).sign(
            "wh:1:te:1", now, payload)}
        assert httpx.post(url, content=payload, headers=wrong).status_code == 401
    finally:
        server.shutdown()
        server.server_close()
