"""Drives localstorm's nimbus with a Python client that thrift-compiler
generated from the project's IDL (package `storm`, on PYTHONPATH), over
Storm's wire: framed transport, binary protocol. Prints one JSON document of
what it saw; the Go test checks it.

usage: storm_client.py PORT TOPOLOGY_NAME
"""
import json
import sys

from thrift.protocol import TBinaryProtocol
from thrift.transport import TSocket, TTransport

from storm import Nimbus
from storm.ttypes import KillOptions, NotAliveException, RebalanceOptions


def main():
    port, name = int(sys.argv[1]), sys.argv[2]
    transport = TTransport.TFramedTransport(TSocket.TSocket("127.0.0.1", port))
    client = Nimbus.Client(TBinaryProtocol.TBinaryProtocol(transport))
    transport.open()
    out = {}

    info = client.getClusterInfo()
    out["supervisors"] = len(info.supervisors)
    out["slots"] = sum(s.num_workers for s in info.supervisors)
    out["leader"] = [n.port for n in info.nimbuses if n.isLeader]
    out["topologies"] = {t.name: t.id for t in info.topologies}
    topo_id = out["topologies"][name]

    ti = client.getTopologyInfo(topo_id)
    out["info"] = {
        "status": ti.status,
        "executors": sorted({e.component_id for e in ti.executors}),
        "errors": sorted(ti.errors.keys()),
    }
    out["byName"] = client.getTopologyInfoByName(name).id
    out["topologyConf"] = json.loads(client.getTopologyConf(topo_id)).get("topology.name")
    out["nimbusConf"] = "storm.zookeeper.root" in json.loads(client.getNimbusConf())
    user = client.getUserTopology(topo_id)
    out["spouts"], out["bolts"] = sorted(user.spouts), sorted(user.bolts)
    out["nameAllowed"] = [client.isTopologyNameAllowed(name), client.isTopologyNameAllowed("fresh-name")]

    client.deactivate(name)
    out["afterDeactivate"] = client.getTopologySummaryByName(name).status
    client.activate(name)
    out["afterActivate"] = client.getTopologySummaryByName(name).status
    client.rebalance(name, RebalanceOptions(wait_secs=30, num_executors={"counter": 1}))
    out["afterRebalance"] = client.getTopologySummaryByName(name).status

    try:
        client.activate("no-such-topology")
        out["notAlive"] = None
    except NotAliveException as e:
        out["notAlive"] = e.msg

    client.killTopologyWithOpts(name, KillOptions(wait_secs=0))
    out["afterKill"] = [t.status for t in client.getTopologySummaries() if t.name == name]
    transport.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
