"""What the topology did with corpus.LINES lines, read through the REST API."""

import corpus
from conftest import TOPOLOGY, eventually

WORDS = corpus.words()


def by_id(components, key, name):
    return next(c for c in components if c[key] == name)


def test_topology_is_active_on_two_workers(api, topology):
    summary = api.get("/api/v1/topology/summary")
    mine = [t for t in summary["topologies"] if t["name"] == TOPOLOGY]
    assert len(mine) == 1
    assert mine[0]["id"] == topology
    assert mine[0]["status"] == "ACTIVE"
    assert mine[0]["workersTotal"] == 2


def test_every_line_acked_once(api, topology):
    def check():
        spout = by_id(api.topology(topology)["spouts"], "spoutId", "lines")
        assert spout["acked"] == corpus.LINES
        assert spout["failed"] == 0
        assert spout["emitted"] == corpus.LINES

    eventually(check)


def test_split_emits_every_word(api, topology):
    def check():
        split = by_id(api.topology(topology)["bolts"], "boltId", "split")
        assert split["executed"] == corpus.LINES
        assert split["acked"] == corpus.LINES
        assert split["emitted"] == len(WORDS)

    eventually(check)


def test_count_sees_every_word_across_its_executors(api, topology):
    def check():
        page = api.component(topology, "count")
        executors = page["executorStats"]
        assert len(executors) == 2
        assert sum(e["executed"] for e in executors) == len(WORDS)
        inputs = [(i["component"], i["stream"], i["executed"]) for i in page["inputStats"]]
        assert inputs == [("split", "default", len(WORDS))]

    eventually(check)


def test_no_component_reported_an_error(api, topology):
    info = api.topology(topology)
    for component in info["spouts"] + info["bolts"]:
        assert component["lastError"] == "", component
