"""Drives localstorm's nimbus with a Python client that thrift-compiler
generated from the project's IDL (package `storm`, on PYTHONPATH), over
Storm's wire: framed transport, binary protocol. Prints one JSON document of
what it saw; the Go test checks it.

usage: storm_client.py PORT TOPOLOGY_NAME
       storm_client.py PORT submit TOPOLOGY_NAME RESOURCES_DIR

The second form submits, as Storm's non-JVM tools do, a topology of shell
components (the storm.py-style Python scripts of RESOURCES_DIR) in a jar
whose resources/ holds them, then tries a name already alive and a Java
component.
"""
import io
import json
import os
import sys
import zipfile

from thrift.protocol import TBinaryProtocol
from thrift.transport import TSocket, TTransport

from storm import Nimbus
from storm.ttypes import (AlreadyAliveException, Bolt, ComponentCommon,
                         ComponentObject, GlobalStreamId, Grouping,
                         InvalidTopologyException, JavaObject, KillOptions,
                         NotAliveException, NullStruct, RebalanceOptions,
                         ShellComponent, SpoutSpec, StormTopology, StreamInfo)


def main():
    if sys.argv[2] == "submit":
        submit(int(sys.argv[1]), sys.argv[3], sys.argv[4])
        return
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


def jar_of(resources_dir):
    """A jar (a zip) with the Python files of resources_dir under resources/,
    beside a class file as a real jar has."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        jar.writestr("org/example/Main.class", b"\xca\xfe\xba\xbe")
        for f in sorted(os.listdir(resources_dir)):
            if f.endswith(".py"):
                with open(os.path.join(resources_dir, f), "rb") as src:
                    jar.writestr("resources/" + f, src.read())
    return buf.getvalue()


def upload(client, content):
    location = client.beginFileUpload()
    for i in range(0, len(content), 1000):
        client.uploadChunk(location, content[i:i + 1000])
    client.finishFileUpload(location)
    return location


def shell(script):
    return ComponentObject(shell=ShellComponent(execution_command="python3", script=script))


def common(streams, inputs=None, parallelism=1, conf=None):
    return ComponentCommon(
        inputs=inputs or {},
        streams={sid: StreamInfo(output_fields=fields, direct=False) for sid, fields in streams.items()},
        parallelism_hint=parallelism,
        json_conf=json.dumps(conf) if conf else None)


def wordcount():
    return StormTopology(
        spouts={"sentences": SpoutSpec(spout_object=shell("randomsentence.py"), common=common({"default": ["sentence"]}))},
        bolts={
            "split": Bolt(bolt_object=shell("splitsentence.py"), common=common(
                {"default": ["word"]}, {GlobalStreamId("sentences", "default"): Grouping(shuffle=NullStruct())},
                parallelism=2, conf={"topology.tasks": 4})),
            "count": Bolt(bolt_object=shell("wordcount.py"), common=common(
                {"default": ["word", "count"]}, {GlobalStreamId("split", "default"): Grouping(fields=["word"])},
                parallelism=2)),
            "log": Bolt(bolt_object=ComponentObject(java_object=JavaObject(
                full_class_name="org.apache.storm.flux.wrappers.bolts.LogInfoBolt", args_list=[])),
                common=common({}, {GlobalStreamId("count", "default"): Grouping(fields=[])})),
        },
        state_spouts={})


def submit(port, name, resources_dir):
    transport = TTransport.TFramedTransport(TSocket.TSocket("127.0.0.1", port))
    client = Nimbus.Client(TBinaryProtocol.TBinaryProtocol(transport))
    transport.open()
    jar = jar_of(resources_dir)
    conf = json.dumps({"topology.workers": 1, "topology.max.spout.pending": 100, "topology.debug": None})
    out = {}
    client.submitTopology(name, upload(client, jar), conf, wordcount())
    out["id"] = client.getTopologySummaryByName(name).id
    try:
        client.submitTopology(name, upload(client, jar), conf, wordcount())
        out["alreadyAlive"] = None
    except AlreadyAliveException as e:
        out["alreadyAlive"] = e.msg
    java = wordcount()
    java.bolts["count"].bolt_object = ComponentObject(java_object=JavaObject(full_class_name="com.example.WordCountBolt", args_list=[]))
    try:
        client.submitTopology(name + "-java", upload(client, jar), conf, java)
        out["invalid"] = None
    except InvalidTopologyException as e:
        out["invalid"] = e.msg
    user = client.getUserTopology(out["id"])
    out["bolts"] = sorted(user.bolts)
    out["splitCommand"] = [user.bolts["split"].bolt_object.shell.execution_command, user.bolts["split"].bolt_object.shell.script]
    transport.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
