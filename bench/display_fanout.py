"""Display fan-out: N boards on 2 server processes sharing one PostgreSQL (LISTEN/NOTIFY).

For each N, N websocket boards connect to /ws/display, half to each process. A counter then
calls tickets one at a time, alternately through process A and B; every board records when the
ticket.called event arrives. Latency = arrival minus the moment the call-next API request
returned (both on this machine's wall clock; negative means the board had it before the API
answer). Boards run in several client processes so the measuring side is not the bottleneck.

Real boards are TVs, each with its own CPU; here a thousand of them share the servers' two
cores. So by default each board is a minimal frame reader (`RawBoard`: the handshake, then it
only scans frames and answers pings, a few microseconds a message) instead of the websockets
library's client (`--client websockets`, about ten times that, which on this machine costs
more CPU per call than both servers together). The client processes freeze their heaps after
connecting, so a garbage collection of a thousand connections cannot pause one mid-call.

    MPP_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        python bench/display_fanout.py [--boards 100 500 1000] [--calls 20]

Target: p99 under 100 ms at 1,000 boards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def client_main(urls: list[str], count: int, offset: int, calls: int, ready: mp.Queue,
                results: mp.Queue, go: mp.Event, client: str = "raw") -> None:
    run = _raw_clients if client == "raw" else _clients
    asyncio.run(run(urls, count, offset, calls, ready, results, go))


class RawBoard(asyncio.Protocol):
    """A display board reduced to what the measurement needs: the websocket handshake, then
    unmasked server frames scanned for ticket.called (its arrival time taken before parsing),
    pings answered. Nothing is sent but pongs and the close."""

    def __init__(self, path: str, host: str, calls: int, arrivals: list[tuple[str, float]]
                 ) -> None:
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        self.calls, self.arrivals = calls, arrivals
        self.buf = b""
        self.upgraded = False
        self.snapshot = asyncio.get_running_loop().create_future()
        self.done = asyncio.get_running_loop().create_future()
        self.seen = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buf += data
        if not self.upgraded:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self._end(RuntimeError(head[:80].decode(errors="replace")))
                return
            self.upgraded, self.buf = True, rest
        while len(self.buf) >= 2:
            b0, b1 = self.buf[0], self.buf[1] & 0x7F
            start = 2
            if b1 == 126:
                if len(self.buf) < 4:
                    return
                b1, start = int.from_bytes(self.buf[2:4], "big"), 4
            elif b1 == 127:
                if len(self.buf) < 10:
                    return
                b1, start = int.from_bytes(self.buf[2:10], "big"), 10
            if len(self.buf) < start + b1:
                return
            payload, self.buf = self.buf[start:start + b1], self.buf[start + b1:]
            opcode = b0 & 0x0F
            if opcode == 0x9:  # ping: pong with the same payload (mask of zeros)
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0"  # type: ignore[attr-defined]
                                     + payload)
            elif opcode == 0x8:
                self._end(None)
            elif opcode == 0x1:
                if b'"ticket.called"' in payload[:40]:
                    self.arrivals.append((json.loads(payload)["number"], now))
                    self.seen += 1
                    if self.seen >= self.calls:
                        self._end(None)
                elif not self.snapshot.done() and b'"type":"snapshot"' in payload[:40]:
                    self.snapshot.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(exc)

    def _end(self, exc: BaseException | None) -> None:
        for fut in (self.snapshot, self.done):
            if not fut.done():
                fut.set_result(None) if exc is None else fut.set_exception(exc)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.transport.write(b"\x88\x82\0\0\0\0\x03\xe8")  # type: ignore[attr-defined]
            self.transport.close()


async def _raw_clients(urls: list[str], count: int, offset: int, calls: int, ready: mp.Queue,
                       results: mp.Queue, go: mp.Event) -> None:
    loop = asyncio.get_running_loop()
    arrivals: list[tuple[str, float]] = []
    boards: list[RawBoard] = []
    for i in range(count):
        u = urlsplit(urls[(offset + i) % len(urls)])
        path = u.path + (f"?{u.query}" if u.query else "")
        _, board = await loop.create_connection(
            lambda p=path, h=u.netloc: RawBoard(p, h, calls, arrivals), u.hostname, u.port)
        boards.append(board)
    await asyncio.wait_for(asyncio.gather(*(b.snapshot for b in boards)), 120)
    _freeze_heap()
    ready.put(count)
    await loop.run_in_executor(None, go.wait)
    await asyncio.wait([asyncio.ensure_future(b.done) for b in boards], timeout=60 + calls * 2)
    for b in boards:
        b.close()
    results.put(arrivals)


def _freeze_heap() -> None:
    """Move everything allocated so far (the connections) out of the collector's sight."""
    gc.collect()
    gc.freeze()


async def _clients(urls: list[str], count: int, offset: int, calls: int, ready: mp.Queue,
                   results: mp.Queue, go: mp.Event) -> None:
    import websockets

    arrivals: list[tuple[str, float]] = []
    socks = []
    # Connect in small batches: a thousand handshakes at once is a different benchmark.
    for i in range(count):
        url = urls[(offset + i) % len(urls)]
        socks.append(await websockets.connect(url, max_queue=None, open_timeout=60,
                                              ping_interval=None))
    for ws in socks:
        while json.loads(await ws.recv())["type"] != "snapshot":
            pass
    _freeze_heap()
    ready.put(count)

    async def listen(ws) -> None:
        seen = 0
        try:
            while seen < calls:
                raw = await ws.recv()
                now = time.time()
                # Cheap check first: parse only the calls.
                if '"ticket.called"' in raw[:40]:
                    arrivals.append((json.loads(raw)["number"], now))
                    seen += 1
        except Exception:  # noqa: BLE001 - a dropped board shows up as missing arrivals
            return

    tasks = [asyncio.create_task(listen(ws)) for ws in socks]
    await asyncio.get_running_loop().run_in_executor(None, go.wait)
    await asyncio.wait(tasks, timeout=60 + calls * 2)
    for ws in socks:
        await ws.close()
    results.put(arrivals)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to show cost apart from machine load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def run_round(servers, world, officer: dict[str, str], boards: int, calls: int,
              client_procs: int, client: str = "raw") -> dict[str, float]:
    import httpx

    kiosk = {"Authorization": f"Bearer {world['kiosk_token']}"}
    urls = [s.url.replace("http://", "ws://") + f"/ws/display?site_id={world['site_id']}"
            for s in servers]
    ready: mp.Queue = mp.Queue()
    results: mp.Queue = mp.Queue()
    go = mp.Event()
    share = [boards // client_procs + (1 if i < boards % client_procs else 0)
             for i in range(client_procs)]
    procs = [mp.Process(target=client_main, args=(urls, n, i, calls, ready, results, go, client))
             for i, n in enumerate(share) if n]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    connected = sum(ready.get(timeout=300) for _ in procs)
    connect_s = time.perf_counter() - t0
    returned: dict[str, float] = {}
    sent: dict[str, float] = {}
    with httpx.Client(timeout=30) as http:
        for _ in range(calls):
            r = http.post(f"{servers[0].url}/api/v1/tickets",
                          json={"service_id": world["service_id"]}, headers=kiosk)
            r.raise_for_status()
        go.set()
        time.sleep(0.5)
        cpu0 = [cpu_seconds(s.proc.pid) for s in servers]
        for i in range(calls):
            server = servers[i % 2]
            sent_at = time.time()
            r = http.post(f"{server.url}/api/v1/counters/{world['counter_id']}/call-next",
                          headers=officer)
            returned_at = time.time()
            r.raise_for_status()
            number = r.json()["number"]
            returned[number] = returned_at
            sent[number] = sent_at
            # Start serving so the next call-next may finish it; pause between calls.
            http.post(f"{server.url}/api/v1/tickets/{r.json()['id']}/start",
                      headers=officer).raise_for_status()
            time.sleep(0.3)
        cpu1 = [cpu_seconds(s.proc.pid) for s in servers]
    # Server CPU per call (call-next + start, each fanned out to every board of the process).
    cpu_ms = max(b - a for a, b in zip(cpu0, cpu1, strict=True)) * 1000 / calls
    arrivals: list[tuple[str, float]] = []
    for _ in procs:
        arrivals += results.get(timeout=300)
    for p in procs:
        p.join(30)
    lat = [(at - returned[num]) * 1000 for num, at in arrivals if num in returned]
    # Upper bound that no slow HTTP answer can hide: from the request leaving the client.
    lat_sent = [(at - sent[num]) * 1000 for num, at in arrivals if num in sent]
    expected = connected * calls
    return {
        "boards": connected, "calls": calls, "received": len(lat), "expected": expected,
        "p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": max(lat),
        "min": min(lat), "mean": statistics.fmean(lat), "connect_s": connect_s,
        "p50_sent": percentile(lat_sent, 50), "p99_sent": percentile(lat_sent, 99),
        "cpu_ms": cpu_ms,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument("--client", choices=["raw", "websockets"], default="raw",
                        help="board clients: minimal frame readers (default) or the websockets "
                             "library's client")
    parser.add_argument("--no-deflate", action="store_true",
                        help="serve websockets without permessage-deflate compression")
    args = parser.parse_args()
    base = os.environ.get("MPP_BENCH_DATABASE_URL") or os.environ.get("MPP_TEST_DATABASE_URL")
    if not base or not base.startswith("postgresql"):
        print("set MPP_TEST_DATABASE_URL (or MPP_BENCH_DATABASE_URL) to a PostgreSQL URL")
        return 2
    os.environ["MPP_TEST_DATABASE_URL"] = base

    import httpx
    from sqlalchemy.orm import sessionmaker

    from app.db.session import make_engine
    from tests.support.databases import create_database, drop_database
    from tests.support.live import LiveServer, free_port, prepare_database, server_env
    from tests.support.world import PASSWORD, build_world

    tmp = Path(tempfile.mkdtemp(prefix="fanout-"))
    url = create_database("postgresql", tmp)
    prepare_database(url)
    engine = make_engine(url)
    with sessionmaker(engine, expire_on_commit=False)() as s:
        w = build_world(s, now=datetime.now(UTC))
        s.commit()
        world = {"site_id": w.site.id, "service_id": w.ktp.id, "counter_id": w.c1.id,
                 "kiosk_token": w.kiosk_token, "officer": w.officer_d.username}
    engine.dispose()
    servers = []
    try:
        extra = ["--ws-per-message-deflate", "false"] if args.no_deflate else []
        for name in ("a", "b"):
            port = free_port()
            servers.append(LiveServer(
                url=f"http://127.0.0.1:{port}", database_url=url, port=port,
                env=server_env(url, MPP_LOG_LEVEL="WARNING"), log_path=tmp / f"{name}.log",
                extra_args=extra).start())
        r = httpx.post(f"{servers[0].url}/api/v1/auth/token",
                       data={"username": world["officer"], "password": PASSWORD})
        officer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        httpx.post(f"{servers[0].url}/api/v1/counters/{world['counter_id']}/open",
                   headers=officer).raise_for_status()
        print(f"display fan-out: 2 server processes, PostgreSQL LISTEN/NOTIFY, "
              f"{args.calls} calls per run, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}, permessage-deflate {'off' if extra else 'on'}, "
              f"{args.client} board clients")
        print("latency from the call-next API request returning (and, last two columns, from "
              "it being sent)")
        print(f"{'boards':>7} {'received':>11} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
              f"{'min ms':>8} {'connect s':>10} {'p50 sent':>9} {'p99 sent':>9} "
              f"{'cpu ms/call':>11}")
        for n in args.boards:
            res = run_round(servers, world, officer, n, args.calls, args.client_procs,
                            args.client)
            print(f"{res['boards']:>7} {res['received']:>5}/{res['expected']:<5}"
                  f"{res['p50']:>8.1f} {res['p99']:>8.1f} {res['max']:>8.1f} "
                  f"{res['min']:>8.1f} {res['connect_s']:>10.1f} {res['p50_sent']:>9.1f} "
                  f"{res['p99_sent']:>9.1f} {res['cpu_ms']:>11.1f}", flush=True)
    finally:
        for s in servers:
            s.stop()
        drop_database(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
