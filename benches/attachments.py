#!/usr/bin/env python3
"""Attachment throughput and memory on the release binary: upload (raw body and
multipart) and download of a 20 MB file, with the server's peak RSS during
each, on loopback only. The server should stream files to and from the
database, so its RSS must not grow by anything like twice the file size.

Usage: cargo build --release && python3 benches/attachments.py
Env: BENCH_ROUNDS (default 5), BENCH_PORT (default 18085).
Stops by itself; the data lives in a temp dir.
"""
import hashlib
import http.client
import json
import os
import platform
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "helpline")
PORT = int(os.environ.get("BENCH_PORT", "18085"))
BASE = f"http://127.0.0.1:{PORT}"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SIZE = 20_000_000  # bytes; under the default attachments.max_file_bytes (25 MiB)
PIECE = 1 << 20  # 1 MiB writes and reads
PASSWORD = "bench password 123"
EMAIL = "bench@example.com"


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


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_kib(pid):
    return status_kib(pid, "VmRSS")


def reset_hwm(pid):
    """Resets the kernel's peak-RSS mark (VmHWM) to the current RSS; False when not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Sampler(threading.Thread):
    """Samples the server's VmRSS every 10 ms and keeps the peak."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = rss_kib(pid)
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self.done.wait(0.01)

    def stop(self):
        self.done.set()
        self.join()
        self.peak = max(self.peak, rss_kib(self.pid))
        return self.peak


def measured(pid, hwm_ok, work):
    """Runs work() while watching the server's RSS; returns (result, seconds, (before, peak) KiB)."""
    before = rss_kib(pid)
    if hwm_ok:
        reset_hwm(pid)
    sampler = Sampler(pid)
    sampler.start()
    try:
        t0 = time.perf_counter()
        result = work()
        secs = time.perf_counter() - t0
    finally:
        peak = sampler.stop()
    if hwm_ok:
        peak = max(peak, status_kib(pid, "VmHWM"))
    return result, secs, (before, peak)


def connect():
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)


def post_pieces(token, path, content_type, parts):
    """POSTs the concatenation of `parts` (bytes-like) in 1 MiB writes; returns the JSON answer."""
    length = sum(len(p) for p in parts)
    conn = connect()
    try:
        conn.putrequest("POST", path, skip_accept_encoding=True)
        conn.putheader("Authorization", "Bearer " + token)
        conn.putheader("Content-Type", content_type)
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        for part in parts:
            view = memoryview(part)
            for at in range(0, len(view), PIECE):
                conn.send(view[at:at + PIECE])
        res = conn.getresponse()
        body = res.read()
        if res.status != 201:
            raise RuntimeError(f"POST {path}: {res.status} {res.reason}: {body[:300]!r}")
        return json.loads(body)
    finally:
        conn.close()


def upload_raw(token, data, name):
    return post_pieces(token, f"/api/v1/uploads?filename={name}", "application/octet-stream", [data])


def upload_multipart(token, data, name):
    boundary = "helpline-bench-" + os.urandom(12).hex()
    head = (f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return post_pieces(token, "/api/v1/uploads", f"multipart/form-data; boundary={boundary}",
                       [head, data, tail])


def download(token, upload_id, buf):
    """GETs a file into `buf` (preallocated) in 1 MiB reads; returns its length."""
    conn = connect()
    try:
        conn.putrequest("GET", f"/api/v1/attachments/{upload_id}", skip_accept_encoding=True)
        conn.putheader("Authorization", "Bearer " + token)
        conn.endheaders()
        res = conn.getresponse()
        if res.status != 200:
            raise RuntimeError(f"GET attachment {upload_id}: {res.status} {res.reason}: {res.read()[:300]!r}")
        declared = int(res.getheader("Content-Length", "-1"))
        view = memoryview(buf)
        got = 0
        while True:
            n = res.readinto(view[got:got + PIECE]) if got < len(view) else len(res.read(PIECE))
            if not n:
                break
            got += n
        if declared != got:
            raise RuntimeError(f"attachment {upload_id}: Content-Length {declared}, received {got}")
        return got
    finally:
        conn.close()


def distinct(base, n):
    """The base bytes with the first 8 replaced, so every round stores a new blob."""
    data = bytearray(base)
    data[:8] = struct.pack(">Q", n + 1)
    return data


def machine():
    model = ""
    try:
        model = re.search(r"model name\s*:\s*(.+)", open("/proc/cpuinfo").read()).group(1).strip()
    except (OSError, AttributeError):
        pass
    return f"{os.cpu_count()} CPUs{', ' + model if model else ''}, Linux {platform.release()}, Python {platform.python_version()}"


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def main():
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} not found: run cargo build --release first")
    data_dir = tempfile.TemporaryDirectory(prefix="helpline-bench-")
    env = dict(os.environ, HELPLINE_DATA_DIR=data_dir.name, HELPLINE_LISTEN=f"127.0.0.1:{PORT}",
               HELPLINE_LOG="warn", HELPLINE_BCRYPT_COST="4")
    subprocess.run([BIN, "user", "create", "--email", EMAIL, "--role", "admin", "--password-stdin"],
                   input=PASSWORD.encode(), env=env, check=True, stdout=subprocess.DEVNULL)
    server = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            try:
                call("GET", "/health")
                break
            except OSError:
                if server.poll() is not None:
                    sys.exit(f"the server exited with {server.returncode}")
                time.sleep(0.02)
        else:
            sys.exit("server did not answer within 10 s")
        token = call("POST", "/api/v1/auth/login", body={"email": EMAIL, "password": PASSWORD})["access_token"]
        pid = server.pid
        hwm_ok = reset_hwm(pid)
        time.sleep(0.5)
        idle = rss_kib(pid)

        base = os.urandom(SIZE)
        rows = []  # (operation, [MB/s], [(RSS before, peak) KiB])

        stored = [0]  # uploads so far: each round's content differs from every other

        def upload_rounds(label, tag, send):
            speeds, peaks, ids = [], [], []
            for n in range(ROUNDS):
                stored[0] += 1
                body = distinct(base, stored[0])
                digest = hashlib.sha256(body).hexdigest()
                name = f"bench-{tag}-{n}.bin"
                answer, secs, peak = measured(pid, hwm_ok, lambda: send(token, body, name))
                if not isinstance(answer, dict) or answer.get("size") != SIZE or answer.get("sha256") != digest:
                    raise RuntimeError(f"{label} round {n}: stored size {answer.get('size')}, "
                                       f"sha256 {answer.get('sha256')}, expected {SIZE}, {digest}")
                speeds.append(SIZE / 1e6 / secs)
                peaks.append(peak)
                ids.append((answer["id"], digest))
            rows.append((label, speeds, peaks))
            return ids

        raw = upload_rounds("upload, raw body", "raw", upload_raw)
        upload_rounds("upload, multipart", "multipart", upload_multipart)

        buf = bytearray(SIZE)
        speeds, peaks = [], []
        for n in range(ROUNDS):
            upload_id, digest = raw[n % len(raw)]
            got, secs, peak = measured(pid, hwm_ok, lambda: download(token, upload_id, buf))
            if got != SIZE or hashlib.sha256(buf).hexdigest() != digest:
                raise RuntimeError(f"download round {n}: {got} bytes, SHA-256 does not match the upload")
            speeds.append(SIZE / 1e6 / secs)
            peaks.append(peak)
        rows.append(("download", speeds, peaks))
        after = rss_kib(pid)

        limit_mib = 2 * SIZE / 2**20
        print(f"binary size: {os.path.getsize(BIN) / 1e6:.1f} MB")
        print(f"machine: {machine()}")
        print(f"file: {SIZE:,} bytes ({SIZE / 2**20:.1f} MiB), {ROUNDS} rounds each, distinct content per upload")
        print(f"peak RSS: sampled every 10 ms"
              + (", and the kernel's VmHWM reset before each round" if hwm_ok else " (VmHWM reset not allowed)"))
        print(f"idle RSS after login: {idle / 1024:.1f} MiB")
        print()
        print("| operation | MB/s (median) | MB/s (min-max) | peak RSS (MiB) | peak growth over idle (MiB) |")
        print("|---|---|---|---|---|")
        worst, worst_label = 0, ""
        for label, speeds, rss in rows:
            peak = max(p for _, p in rss)
            if peak - idle >= worst:
                worst, worst_label = peak - idle, label
            print(f"| {label} | {median(speeds):.0f} | {min(speeds):.0f}-{max(speeds):.0f} "
                  f"| {peak / 1024:.1f} | {(peak - idle) / 1024:.1f} |")
        print()
        print(f"RSS after all rounds: {after / 1024:.1f} MiB")
        for label, speeds, rss in rows:
            print(f"{label}, per round: peak growth over idle (MiB) "
                  + ", ".join(f"{(p - idle) / 1024:.1f}" for _, p in rss)
                  + "; over the RSS just before the round "
                  + ", ".join(f"{(p - b) / 1024:.1f}" for b, p in rss))
        worst_mib = worst / 1024
        verdict = ("streams: under twice the file" if worst_mib < limit_mib
                   else "DOES NOT STREAM: grows by twice the file or more")
        cmp = "<" if worst_mib < limit_mib else ">="
        print(f"verdict: peak growth {worst_mib:.1f} MiB ({worst_label}) {cmp} {limit_mib:.1f} MiB "
              f"(twice the file): {verdict}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        data_dir.cleanup()


if __name__ == "__main__":
    main()
