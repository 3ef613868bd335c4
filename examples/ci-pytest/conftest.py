"""Fixtures that give a pytest session a localstorm cluster.

The session starts one detached cluster in a temporary data dir, submits
topology/topology.yaml (Flux) to it, and waits until the spout's lines are
all acked; the tests then read what the topology did through the REST API
(Storm UI's paths). At the end of the session the cluster is stopped, and,
if any test failed, its logs are exported first for the CI job to keep.

Environment (all optional):
  LOCALSTORM    the localstorm command (default: localstorm on PATH)
  CLUSTER       the cluster's name (default: ci-pytest)
  ARTIFACTS     where the logs go when a test failed (default: ./localstorm-logs)
  ACKED         how many lines must be acked before the tests run
                (default: all of them, corpus.LINES)
  WAIT_TIMEOUT  how long to wait for that (default: 2m)
"""

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TOPOLOGY_DIR = HERE / "topology"
sys.path.insert(0, str(TOPOLOGY_DIR))
import corpus  # noqa: E402  (the lines the spout emits)

LOCALSTORM = os.environ.get("LOCALSTORM", "localstorm")
CLUSTER = os.environ.get("CLUSTER", "ci-pytest")
ARTIFACTS = os.environ.get("ARTIFACTS", "localstorm-logs")
ACKED = int(os.environ.get("ACKED", corpus.LINES))
WAIT_TIMEOUT = os.environ.get("WAIT_TIMEOUT", "2m")
TOPOLOGY = "ci-pytest-words"


def localstorm(*args, check=True):
    """Runs `localstorm ARGS --cluster CLUSTER`; returns its stdout."""
    cmd = [LOCALSTORM, *args, "--cluster", CLUSTER]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.stderr:
        sys.stderr.write(proc.stderr)
    if check and proc.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(cmd), proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout


@pytest.fixture(scope="session")
def cluster(request, tmp_path_factory):
    """A detached cluster for the session: what `up -d -o json` printed."""
    data_dir = tmp_path_factory.mktemp("localstorm")
    # If the start fails, `up -d` exits non-zero and leaves nothing running.
    info = json.loads(localstorm("up", "--detach", "-o", "json", "--dir", str(data_dir), "--supervisors", "2"))
    try:
        yield info
    finally:
        # Runs however the session ends: tests failed, a fixture raised, Ctrl-C.
        if request.session.testsfailed:
            localstorm("export", "logs", ARTIFACTS, check=False)
        localstorm("down", check=False)


@pytest.fixture(scope="session")
def topology(cluster):
    """The id of the topology, submitted and with ACKED lines acked."""
    topology_id = localstorm("submit", str(TOPOLOGY_DIR / "topology.yaml"), "--wait").strip()
    localstorm("wait", "topology", TOPOLOGY, "--acked", str(ACKED), "--no-errors", "--timeout", WAIT_TIMEOUT)
    return topology_id


class RestAPI:
    """GETs of Storm UI's REST API (/api/v1/...), answers decoded from JSON."""

    def __init__(self, base):
        self.base = base.rstrip("/")

    def get(self, path, **query):
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.load(resp)

    def topology(self, topology_id):
        return self.get("/api/v1/topology/" + urllib.parse.quote(topology_id, safe=""), window=":all-time")

    def component(self, topology_id, component):
        path = "/api/v1/topology/%s/component/%s" % (
            urllib.parse.quote(topology_id, safe=""), urllib.parse.quote(component, safe=""))
        return self.get(path, window=":all-time")


@pytest.fixture(scope="session")
def api(cluster):
    return RestAPI(cluster["api"])


def eventually(check, timeout=30.0):
    """Retries check (a function that asserts) until it passes or timeout
    seconds passed: each worker reports its counts on its own heartbeat, so
    a bolt's count may trail the spout's acks by a heartbeat."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
