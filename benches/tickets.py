#!/usr/bin/env python3
"""Ticket workload on the release binary: demo fill speed, then query latency
and throughput against the filled database, on loopback only.

Usage: cargo build --release && python3 benches/tickets.py [TICKETS]
Needs wrk (apt-get install wrk). Stops by itself; the data lives in a temp dir.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "helpline")
PORT = int(os.environ.get("BENCH_PORT", "18082"))
BASE = f"http://127.0.0.1:{PORT}"
TICKETS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
SEED = 42


def call(method, path, token=None, body=None):
    req = urllib.request.Request(BASE + path, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, data) as res:
        payload = json.loads(res.read() or b"null")
    return payload, (time.perf_counter() - t0) * 1000


def median_ms(path, token, runs=15):
    times = sorted(call("GET", path, token)[1] for _ in range(runs))
    return times[len(times) // 2], call("GET", path, token)[0]


def wrk(path, token, script=None):
    cmd = ["wrk", "-t2", "-c16", "-d10s", "--latency", "-H", f"Authorization: Bearer {token}"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + [BASE + path], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    return rps, p99


def main():
    with tempfile.TemporaryDirectory() as data:
        env = {"HELPLINE_LOG": "warn", "HELPLINE_DATA_DIR": data, "PATH": os.environ.get("PATH", "")}
        t0 = time.perf_counter()
        subprocess.run([BIN, "demo", "--tickets", str(TICKETS), "--seed", str(SEED)], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fill = time.perf_counter() - t0
        size = os.path.getsize(os.path.join(data, "helpline.db")) / 1e6
        print(f"demo --tickets {TICKETS}: {fill:.1f} s ({TICKETS / fill:,.0f} tickets/s), database {size:.0f} MB")

        server = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{PORT}"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(500):
                try:
                    call("GET", "/health")
                    break
                except OSError:
                    time.sleep(0.01)
            token = call("POST", "/api/v1/auth/login", body={"email": f"agent0-{SEED}@demo.example",
                                                             "password": "helpline demo"})[0]["access_token"]
            for label, path in [
                ("list, default sort", "/api/v1/tickets"),
                ("status=open", "/api/v1/tickets?status=open"),
                ("assignee_id=2", "/api/v1/tickets?assignee_id=2"),
                ("requester_id=100", "/api/v1/tickets?requester_id=100"),
                ("unassigned, sort=-priority", "/api/v1/tickets?unassigned=true&sort=-priority"),
                ("tag=vip", "/api/v1/tickets?tag=vip"),
                ("channel=email (no counter: counted up to 10,000)", "/api/v1/tickets?channel=email"),
                ("status=open,in_progress,pending (three statuses)", "/api/v1/tickets?status=open,in_progress,pending"),
                ("unread=true, open statuses (the agent's Unread view)",
                 "/api/v1/tickets?unread=true&status=open,in_progress,pending"),
                ("following=true", "/api/v1/tickets?following=true"),
                ("q=printer (common word)", "/api/v1/tickets?q=printer"),
                ("q=refunded duplicate (two words)", "/api/v1/tickets?q=refunded+duplicate"),
                ("q=fuser (no match)", "/api/v1/tickets?q=fuser"),
                ("one ticket with messages", "/api/v1/tickets/12345"),
                ("stats", "/api/v1/tickets/stats"),
            ]:
                ms, body = median_ms(path, token)
                total = body.get("total") if isinstance(body, dict) else None
                capped = "+" if isinstance(body, dict) and body.get("total_capped") else ""
                extra = f", total {total:,}{capped}" if isinstance(total, int) else ""
                print(f"GET {label}: median {ms:.1f} ms{extra}")
            rps, p99 = wrk("/api/v1/tickets/12345", token)
            print(f"wrk GET /api/v1/tickets/12345: {rps:,.0f} req/s, p99 {p99}")
            rps, p99 = wrk("/api/v1/tickets?status=open", token)
            print(f"wrk GET /api/v1/tickets?status=open: {rps:,.0f} req/s, p99 {p99}")
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
                lua.write('wrk.method = "POST"\n'
                          'wrk.headers["Content-Type"] = "application/json"\n'
                          'wrk.body = \'{"subject":"Load test ticket","body":"Created by the benchmark",'
                          '"requester_id":100}\'\n')
            rps, p99 = wrk("/api/v1/tickets", token, lua.name)
            os.unlink(lua.name)
            print(f"wrk POST /api/v1/tickets (insert + FTS + audit): {rps:,.0f} req/s, p99 {p99}")
            rss = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{server.pid}/status").read()).group(1))
            print(f"server RSS after the runs: {rss / 1024:.0f} MiB")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
