#!/usr/bin/env python3
"""Live updates on the release binary: memory per open event stream, and how
long a new message takes to reach every subscriber. Loopback only.

Usage: cargo build --release && python3 benches/realtime.py [STREAMS] [MESSAGES]
Stops by itself; the data lives in a temp dir.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "helpline")
PORT = int(os.environ.get("BENCH_PORT", "18083"))
BASE = f"http://127.0.0.1:{PORT}"
STREAMS = int(sys.argv[1]) if len(sys.argv) > 1 else 500
MESSAGES = int(sys.argv[2]) if len(sys.argv) > 2 else 200
PASSWORD = "bench password 123"


def call(method, path, token=None, body=None):
    req = urllib.request.Request(BASE + path, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, data) as res:
        return json.loads(res.read() or b"null")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Subscriber(threading.Thread):
    """Reads one event stream over a raw socket; notes when each bench message arrives."""

    def __init__(self, token, arrivals):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", PORT))
        self.sock.sendall(
            f"GET /api/v1/events HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        )
        self.arrivals = arrivals
        self.ready = threading.Event()

    def run(self):
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            now = time.perf_counter()
            if not self.ready.is_set() and b"\r\n\r\n" in buf + chunk:
                self.ready.set()
            buf += chunk
            while b"bench-" in buf:
                i = buf.index(b"bench-") + 6
                j = i
                while j < len(buf) and buf[j:j + 1].isdigit():
                    j += 1
                if j == len(buf):
                    break
                self.arrivals.append((int(buf[i:j]), now))
                buf = buf[j:]
            buf = buf[-64:]


def main():
    data = tempfile.mkdtemp(prefix="helpline-bench-")
    env = dict(os.environ, HELPLINE_DATA_DIR=data, HELPLINE_LISTEN=f"127.0.0.1:{PORT}",
               HELPLINE_LOG="warn", HELPLINE_BCRYPT_COST="4",
               HELPLINE_REALTIME__MAX_CONNECTIONS=str(STREAMS + 100),
               HELPLINE_REALTIME__MAX_CONNECTIONS_PER_USER=str(STREAMS + 100))
    subprocess.run([BIN, "user", "create", "--email", "bench@example.com", "--role", "admin",
                    "--password-stdin"], input=PASSWORD.encode(), env=env, check=True,
                   stdout=subprocess.DEVNULL)
    server = subprocess.Popen([BIN, "serve"], env=env, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                call("GET", "/health")
                break
            except OSError:
                time.sleep(0.02)
        token = call("POST", "/api/v1/auth/login", body={"email": "bench@example.com", "password": PASSWORD})["access_token"]
        ticket = call("POST", "/api/v1/tickets", token, {"subject": "Bench", "body": "start"})["id"]
        time.sleep(0.3)
        idle = rss_kib(server.pid)
        arrivals = []
        subs = [Subscriber(token, arrivals) for _ in range(STREAMS)]
        for s in subs:
            s.start()
        for s in subs:
            s.ready.wait(10)
        time.sleep(0.5)
        connected = rss_kib(server.pid)
        sent = {}
        t0 = time.perf_counter()
        for n in range(MESSAGES):
            sent[n] = time.perf_counter()
            call("POST", f"/api/v1/tickets/{ticket}/messages", token, {"body": f"bench-{n}"})
        post_secs = time.perf_counter() - t0
        deadline = time.time() + 30
        while len(arrivals) < STREAMS * MESSAGES and time.time() < deadline:
            time.sleep(0.05)
        latencies = sorted((at - sent[n]) * 1000 for n, at in arrivals if n in sent)
        loaded = rss_kib(server.pid)
        pct = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))] if latencies else float("nan")
        print(f"streams: {STREAMS}, messages: {MESSAGES}, deliveries: {len(latencies)} of {STREAMS * MESSAGES}")
        print(f"server RSS: idle {idle / 1024:.1f} MiB, with streams {connected / 1024:.1f} MiB "
              f"({(connected - idle) / max(STREAMS, 1):.1f} KiB per stream), after the run {loaded / 1024:.1f} MiB")
        print(f"POST message while {STREAMS} streams listen: {MESSAGES / post_secs:.0f} req/s (sequential)")
        print(f"post-to-stream latency: p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, max {latencies[-1] if latencies else float('nan'):.1f} ms")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
