#!/usr/bin/env python3
"""Start-up time, memory and HTTP throughput of the release binary on loopback.

Usage: cargo build --release && python3 benches/http_baseline.py
Needs wrk (apt-get install wrk). Targets 127.0.0.1 only and stops by itself.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "helpline")
PORT = int(os.environ.get("BENCH_PORT", "18081"))
BASE = f"http://127.0.0.1:{PORT}"


def start(data_dir):
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [BIN, "--data-dir", data_dir, "serve", "--listen", f"127.0.0.1:{PORT}"],
        stderr=subprocess.DEVNULL,
        env={"HELPLINE_LOG": "warn"},
    )
    deadline = t0 + 10
    while time.perf_counter() < deadline:
        try:
            urllib.request.urlopen(BASE + "/health").read()
            return proc, (time.perf_counter() - t0) * 1000
        except OSError:
            time.sleep(0.002)
    proc.kill()
    sys.exit("server did not answer within 10 s")


def rss_kib(pid):
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))


def wrk(path):
    out = subprocess.run(
        ["wrk", "-t2", "-c32", "-d10s", "--latency", BASE + path],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    return rps, p99


def main():
    with tempfile.TemporaryDirectory() as data:
        proc, first = start(data)
        proc.terminate(); proc.wait()
        proc, again = start(data)
        time.sleep(0.5)
        idle = rss_kib(proc.pid)
        print(f"binary size: {os.path.getsize(BIN) / 1e6:.1f} MB")
        print(f"first start (creates database and key) to first 200: {first:.1f} ms")
        print(f"restart to first 200: {again:.1f} ms")
        print(f"idle RSS: {idle / 1024:.1f} MiB")
        for path in ["/health", "/api/v1/settings/public"]:
            rps, p99 = wrk(path)
            print(f"GET {path}: {rps:,.0f} req/s, p99 {p99}")
        print(f"RSS after load: {rss_kib(proc.pid) / 1024:.1f} MiB")
        proc.terminate(); proc.wait()


if __name__ == "__main__":
    main()
