"""Webhook throughput on one relay: fan-out of N ticket events into the outbox, then delivery
to a loopback receiver that verifies every signature, beside the physical limit (the same
client posting the same bodies in a loop, no outbox).

    python -m bench.webhook_delivery [--events 1000] [--database-url sqlite:///...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.db.models_integration import WebhookEndpoint  # noqa: E402
from app.db.session import make_engine, make_session_factory, unit_of_work  # noqa: E402
from app.services import outbox, tickets, webhooks  # noqa: E402
from app.services.context import Ctx  # noqa: E402
from app.services.mallfile import SYSTEM  # noqa: E402
from app.services.outbox import RelayPolicy  # noqa: E402
from tests.support.world import build_world  # noqa: E402


def receiver(secret: str) -> tuple[ThreadingHTTPServer, dict[str, int]]:
    seen = {"ok": 0, "bad": 0}
    hook = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                hook.verify(body, dict(self.headers))
                seen["ok"] += 1
            except Exception:  # noqa: BLE001
                seen["bad"] += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    secret = webhooks.new_secret()
    server, seen = receiver(secret)
    target = f"http://127.0.0.1:{server.server_address[1]}/hook"
    with unit_of_work(factory) as session:
        world = build_world(session, now=now, site_code=f"bench-{int(time.time())}")
        session.add(WebhookEndpoint(site_id=world.site.id, url=target, events=["*"],
                                    secret=secret, created_at=now))
        service_id = world.ktp.id
    t0 = time.perf_counter()
    for _ in range(args.events):
        with unit_of_work(factory) as session:
            tickets.issue_ticket(Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM),
                                 service_id=service_id)
    issue_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    written = 0
    while (n := webhooks.fan_out(factory)) > 0:
        written += n
    fan_s = time.perf_counter() - t0
    settings = Settings(database_url=url, webhook_allow_private_targets=True)
    channels = {"webhook": webhooks.WebhookChannel(settings, factory)}
    policy = RelayPolicy(batch=50, timeout_seconds=5)
    t0 = time.perf_counter()
    while outbox.relay_once(factory, channels, policy) > 0:
        pass
    relay_s = time.perf_counter() - t0
    delivered, bad = seen["ok"], seen["bad"]
    # The physical limit: the same client and bodies, straight to the receiver.
    client = httpx.Client(timeout=5, follow_redirects=False, trust_env=False)
    body = '{"type":"ticket.issued","timestamp":"x","data":{"number":"A-001"}}'
    t0 = time.perf_counter()
    for i in range(min(args.events, 1000)):
        ts = datetime.now(UTC)
        client.post(target, content=body, headers={
            "webhook-id": f"raw{i}", "webhook-timestamp": str(int(ts.timestamp())),
            "webhook-signature": Webhook(secret).sign(f"raw{i}", ts, body)})
    raw_s = time.perf_counter() - t0
    raw_rate = min(args.events, 1000) / raw_s
    print(f"{args.events} tickets issued in {issue_s:.1f} s ({url.split(':')[0]})")
    print(f"fan-out: {written} outbox rows in {fan_s * 1000:.0f} ms "
          f"({written / fan_s:,.0f} rows/s)")
    print(f"relay: {delivered} signed deliveries verified ({bad} bad) in {relay_s:.1f} s"
          f" = {delivered / relay_s:,.0f} deliveries/s on one relay")
    print(f"physical limit (same client, same receiver, no outbox): {raw_rate:,.0f} posts/s;"
          f" the relay reaches {100 * delivered / relay_s / raw_rate:.0f} % of it")
    server.shutdown()
    engine.dispose()
    return 0 if bad == 0 and delivered == written else 1


if __name__ == "__main__":
    raise SystemExit(main())
