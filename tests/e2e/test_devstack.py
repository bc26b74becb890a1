"""`make run`'s launcher as a user runs it: up, usable, SIGTERM, nothing left behind, data kept."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import json

import psutil
import pytest

READY_TIMEOUT_S = 90


def start(data_dir, database_url: str) -> tuple[subprocess.Popen, dict[str, str]]:
    env = {**os.environ, "LOG_FORMAT": "json"}
    # On a real server, a scratch database; embedded otherwise, as `make run` does.
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = database_url
    process = subprocess.Popen([sys.executable, "-m", "devstack", "--free-ports", "--data-dir", str(data_dir)],
                               env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    endpoints = {}
    deadline = time.monotonic() + READY_TIMEOUT_S
    for line in process.stderr:
        if match := re.match(r"\[devstack\]\s+(gateway|messenger|counter|syncer)\s+(\S+)\s+metrics (\S+)", line):
            endpoints[match[1]] = match[2]
            endpoints[f"{match[1]}-metrics"] = match[3]
        if "Ctrl-C stops everything" in line:
            return process, endpoints
        if time.monotonic() > deadline:
            break
    process.kill()
    raise AssertionError(f"devstack did not come up; last line: {line!r}")


def http_json(url: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def stop(process: subprocess.Popen) -> list[psutil.Process]:
    children = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    return alive


def test_make_run_launcher_serves_stops_cleanly_and_keeps_data(tmp_path, scratch_database_url):
    process, endpoints = start(tmp_path / "data", scratch_database_url)
    try:
        gateway = endpoints["gateway"]
        email = "carol@email.com"
        http_json(f"{gateway}/auth/sign-up", {
            "email": email, "password": "1234567890", "name": "Carol", "surname": "Ng",
            "birthday": "1990-01-01T00:00:00Z", "sex": "female", "city": "Oslo", "interests": "ski"})
        for name in ("gateway", "messenger", "counter", "syncer"):
            with urllib.request.urlopen(endpoints[f"{name}-metrics"], timeout=10) as response:
                assert b"process_resident_memory_bytes" in response.read()
    finally:
        leftovers = stop(process)
    assert leftovers == [], f"processes left running: {leftovers}"

    # A restart finds the account again: data lives under the data folder (or the given database).
    process, endpoints = start(tmp_path / "data", scratch_database_url)
    try:
        tokens = http_json(f"{endpoints['gateway']}/auth/sign-in", {"email": email, "password": "1234567890"})
        assert tokens["access_token"] and tokens["refresh_token"]
    finally:
        assert stop(process) == []
