#!/usr/bin/env python3
"""Every row of the scale targets, at 10k and 1M tickets, on the release binary.

Usage: cargo build --release && python3 benches/targets.py [--sizes 10000,1000000]
                                                          [--data 1000000=DIR]
For each size: `helpline demo` fills a fresh data dir (or --data copies the
database of a filled one), the server starts on loopback, and every row is measured: p99 of
40 sequential requests per query (one kept-alive connection), wrk (2 threads,
32 connections, 10 s) for throughput, the server's RSS during and after. The
table at the end holds both sizes and the growth p99(big)/p99(small).
Needs wrk (apt-get install wrk) and strip (binutils). Stops by itself.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "helpline")
PORT = int(os.environ.get("BENCH_PORT", "18083"))
SEED = 42
RUNS = 40

SINGLE = [
    ("default", ""),
    ("status=open", "status=open"),
    ("priority=high", "priority=high"),
    ("assignee_id=2", "assignee_id=2"),
    ("requester_id=100", "requester_id=100"),
    ("unassigned", "unassigned=true"),
    ("tag=vip", "tag=vip"),
    ("channel=email", "channel=email"),
    ("category=billing", "category=billing"),
    ("type=incident", "type=incident"),
    ("unread", "unread=true"),
    ("following", "following=true"),
    ("sort=created_at", "sort=created_at"),
    ("sort=-priority", "sort=-priority"),
    ("status=open sort=created_at", "status=open&sort=created_at"),
]
COMBINED = [
    ("status+priority+sort", "status=open&priority=high&sort=created_at"),
    ("tag+status", "tag=vip&status=open"),
]
SEARCHES = [
    ("a word in 10 %", "q=printer"),
    ("two such words", "q=refunded+duplicate"),
    ("OR", "q=invoice+OR+refund"),
    ("a phrase", "q=%22charged+twice%22"),
    ("a word, newest first", "q=printer&sort=-updated_at"),
]


class Client:
    def __init__(self, token=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        self.token = token

    def call(self, method, path, body=None):
        headers = {}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        self.conn.request(method, path, data, headers)
        res = self.conn.getresponse()
        payload = res.read()
        ms = (time.perf_counter() - t0) * 1000
        if res.status >= 400:
            raise RuntimeError(f"{method} {path}: {res.status} {payload[:200]!r}")
        return json.loads(payload or b"null"), ms

    def p99(self, path):
        for _ in range(3):
            self.call("GET", path)
        times = sorted(self.call("GET", path)[1] for _ in range(RUNS))
        return times[int(len(times) * 0.99) - 1 if len(times) >= 100 else -1]


def wrk(path, token, lua=None):
    cmd = ["wrk", "-t2", "-c32", "-d10s", "--latency", "-H", f"Authorization: Bearer {token}"]
    if lua:
        cmd += ["-s", lua]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{PORT}{path}"], capture_output=True, text=True,
                         check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"wrk {path}: {non2xx.group(1)} failed responses")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    return rps, p99


class Rss(threading.Thread):
    """The server's peak RSS while it runs, sampled every 50 ms."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, False

    def now(self):
        with open(f"/proc/{self.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024

    def run(self):
        while not self.stop:
            try:
                self.peak = max(self.peak, self.now())
            except (OSError, AttributeError):
                return
            time.sleep(0.05)


def measure(size, reuse):
    row = {}
    with tempfile.TemporaryDirectory() as scratch:
        data = scratch
        env = {"HELPLINE_LOG": "warn", "HELPLINE_DATA_DIR": data, "PATH": os.environ.get("PATH", "")}
        if reuse:
            # A copy: the run's own writes (tickets, queued mail) never pile up in the original.
            shutil.copy(os.path.join(reuse, "helpline.db"), os.path.join(data, "helpline.db"))
            row["demo"] = None
        else:
            t0 = time.perf_counter()
            subprocess.run([BIN, "demo", "--tickets", str(size), "--seed", str(SEED)], env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            row["demo"] = size / (time.perf_counter() - t0)
        server = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{PORT}"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rss = Rss(server.pid)
        try:
            for _ in range(3000):
                try:
                    Client().call("GET", "/health")
                    break
                except OSError:
                    time.sleep(0.01)
            rss.start()
            login = {"email": f"agent0-{SEED}@demo.example", "password": "helpline demo"}
            token = Client().call("POST", "/api/v1/auth/login", login)[0]["access_token"]
            client = Client(token)
            def worst(cases):
                each = [(client.p99(f"/api/v1/tickets?{q}"), name) for name, q in cases]
                row.setdefault("each", []).extend(each)
                return max(each)

            pages = [(f"{n}, page 200", f"{q}&page=200&per_page=20") for n, q in SINGLE]
            row["single"] = worst(SINGLE + pages)
            row["combined"] = worst(COMBINED)
            row["search"] = worst(SEARCHES)
            row["stats"] = (client.p99("/api/v1/tickets/stats"), "stats")
            row["wrk_list"] = wrk("/api/v1/tickets?status=open", token)
            row["wrk_search"] = wrk("/api/v1/tickets?q=printer", token)
            one = client.call("GET", "/api/v1/tickets?per_page=1")[0]["items"][0]["id"]
            row["wrk_one"] = wrk(f"/api/v1/tickets/{one}", token)
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
                lua.write('wrk.method = "POST"\n'
                          'wrk.headers["Content-Type"] = "application/json"\n'
                          'wrk.body = \'{"subject":"Load test ticket","body":"Created by the benchmark",'
                          '"requester_id":100}\'\n')
            row["wrk_create"] = wrk("/api/v1/tickets", token, lua.name)
            os.unlink(lua.name)
            row["rss_after"] = rss.now()
            rss.stop = True
            rss.join()
            row["rss_peak"] = rss.peak
        finally:
            server.terminate()
            server.wait()
    return row


def stripped_size():
    with tempfile.TemporaryDirectory() as d:
        copy = os.path.join(d, "helpline")
        shutil.copy(BIN, copy)
        subprocess.run(["strip", copy], check=True)
        return os.path.getsize(copy) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,1000000")
    ap.add_argument("--data", action="append", default=[], help="SIZE=DIR: reuse a filled data dir")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    reuse = dict((int(k), v) for k, v in (d.split("=", 1) for d in args.data))
    rows = {}
    for size in sizes:
        print(f"measuring {size:,} tickets ...", flush=True)
        rows[size] = measure(size, reuse.get(size))
    small, big = sizes[0], sizes[-1]

    def ms(v):
        return f"{v[0]:.1f} ms ({v[1]})"

    def wrk_cell(v):
        return f"{v[0]:,.0f} req/s, p99 {v[1]}"

    def growth(key):
        return rows[big][key][0] / max(rows[small][key][0], 0.01)

    table = [
        ("single-filter lists, first page and page 200, worst p99", "<= 10 ms", lambda r: ms(r["single"])),
        ("32 connections, status=open", ">= 3,000 req/s", lambda r: wrk_cell(r["wrk_list"])),
        ("combined filters, worst p99", "<= 20 ms", lambda r: ms(r["combined"])),
        ("search, worst p99", "<= 50 ms", lambda r: ms(r["search"])),
        ("32 connections, q=printer", ">= 300 req/s", lambda r: wrk_cell(r["wrk_search"])),
        ("GET /tickets/stats p99", "<= 20 ms", lambda r: ms(r["stats"])),
        ("create ticket, 32 connections", ">= 6,000 req/s", lambda r: wrk_cell(r["wrk_create"])),
        ("GET one ticket, 32 connections", ">= 20,000 req/s", lambda r: wrk_cell(r["wrk_one"])),
        ("server RSS peak / after", "<= 100 MiB",
         lambda r: f"{r['rss_peak']:.0f} / {r['rss_after']:.0f} MiB"),
        ("helpline demo", ">= 30,000 tickets/s",
         lambda r: "(reused)" if r["demo"] is None else f"{r['demo']:,.0f} tickets/s"),
    ]
    print()
    print(f"| what | target | {small:,} | {big:,} |")
    print("|---|---|---|---|")
    for name, target, cell in table:
        print(f"| {name} | {target} | {cell(rows[small])} | {cell(rows[big])} |")
    if big != small:
        print(f"| growth, lists (worst single filter) | <= 2 | | {growth('single'):.1f} |")
        print(f"| growth, stats | <= 2 | | {growth('stats'):.1f} |")
        print(f"| growth, search (worst) | <= 3 | | {growth('search'):.1f} |")
    print(f"| stripped release binary | <= 15 MB | {stripped_size():.1f} MB | |")
    print()
    for size in sizes:
        each = ", ".join(f"{name} {v:.1f} ms" for v, name in rows[size]["each"])
        print(f"\nevery query's p99 at {size:,}: {each}")


if __name__ == "__main__":
    main()
