"""Drives localstorm's nimbus with a Python client that thrift-compiler
generated from the project's IDL (package `storm`, on PYTHONPATH), over
Storm's wire: framed transport, binary protocol. Prints one JSON document of
what it saw; the Go test checks it.

usage: storm_client.py PORT TOPOLOGY_NAME [NIMBUS_STORMDIST_DIR]
       storm_client.py PORT submit TOPOLOGY_NAME RESOURCES_DIR

The second form submits, as Storm's non-JVM tools do, a topology of shell
components (the storm.py-style Python scripts of RESOURCES_DIR) in a jar
whose resources/ holds them, then tries a name already alive and a Java
component.
"""
import hashlib
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
                         LogConfig, LogLevel, LogLevelAction,
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

    pages(client, topo_id, info.supervisors[0].supervisor_id, out)
    out["executorStats"] = sorted({e.component_id for e in ti.executors if e.stats is not None and
                                   set(e.stats.emitted) == {":all-time", "600", "10800", "86400"}})
    if len(sys.argv) > 3:
        out["download"] = download(client, sys.argv[3] + "/" + topo_id + "/stormjar.jar")
    logconfig(client, topo_id, out)

    client.deactivate(name)
    out["afterDeactivate"] = client.getTopologySummaryByName(name).status
    client.activate(name)
    out["afterActivate"] = client.getTopologySummaryByName(name).status
    try:
        client.rebalance(name, RebalanceOptions(topology_conf_overrides='{"topology.name": "other"}'))
        out["refusedConf"] = None
    except InvalidTopologyException as e:
        out["refusedConf"] = e.msg
    client.rebalance(name, RebalanceOptions(wait_secs=30, num_executors={"counter": 1},
                                            topology_conf_overrides='{"topology.max.spout.pending": 7}'))
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


def pages(client, topo_id, supervisor_id, out):
    """Storm UI's pages over Thrift, and NotAliveException for an unknown id."""
    page = client.getTopologyPageInfo(topo_id, ":all-time", False)
    out["topologyPage"] = {"name": page.name, "spouts": sorted(page.id_to_spout_agg_stats),
                           "bolts": sorted(page.id_to_bolt_agg_stats), "windows": sorted(page.topology_stats.window_to_emitted)}
    comp = client.getComponentPageInfo(topo_id, "counter", ":all-time", False)
    out["componentPage"] = {"type": comp.component_type, "executors": comp.num_executors,
                            "windows": sorted(comp.window_to_stats), "inputs": sorted(g.componentId for g in comp.gsid_to_input_stats)}
    sup = client.getSupervisorPageInfo(supervisor_id, "", False)
    out["supervisorPage"] = {"supervisors": [s.supervisor_id for s in sup.supervisor_summaries],
                             "workerTopologies": sorted({w.topology_id for w in sup.worker_summaries})}
    try:
        client.getTopologyPageInfo("no-such-id", "", False)
        out["pageNotAlive"] = None
    except NotAliveException as e:
        out["pageNotAlive"] = e.msg


def download(client, path):
    """beginFileDownload and downloadChunk to the empty chunk: size and sha256."""
    session = client.beginFileDownload(path)
    data = b""
    while True:
        chunk = client.downloadChunk(session)
        if not chunk:
            break
        data += chunk
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def logconfig(client, topo_id, out):
    """setLogConfig then getLogConfig: ROOT at DEBUG for 60 s."""
    client.setLogConfig(topo_id, LogConfig(named_logger_level={
        "ROOT": LogLevel(action=LogLevelAction.UPDATE, target_log_level="DEBUG", reset_log_level_timeout_secs=60)}))
    root = client.getLogConfig(topo_id).named_logger_level["ROOT"]
    out["logConfig"] = {"target": root.target_log_level, "timeout": root.reset_log_level_timeout_secs,
                        "hasEpoch": (root.reset_log_level_timeout_epoch or 0) > 0}


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
