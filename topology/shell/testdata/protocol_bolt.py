# A bolt exercising every multilang message kind, driven by its tuples:
# tuple[0] names the action, the rest are its arguments.
import json
import os
import sys

sys.path.insert(0, os.environ["STORM_PY_DIR"])
import storm  # noqa: E402


class ProtocolBolt(storm.Bolt):
    def initialize(self, conf, context):
        self.conf = conf
        self.context = context

    def process(self, tup):
        action = tup.values[0]
        if action == "emit":
            ids = storm.emit([tup.values[1]], anchors=[tup])
            # Echo the task ids received, on another stream, unanchored.
            storm.emit([json.dumps(ids)], stream="ids")
            storm.ack(tup)
        elif action == "emit-no-ids":
            storm.sendMsgToParent({"command": "emit", "anchors": [tup.id],
                                   "tuple": [tup.values[1]], "need_task_ids": False})
            storm.ack(tup)
        elif action == "direct":
            storm.emitDirect(tup.values[1], [tup.values[2]], stream="direct", anchors=[tup])
            storm.ack(tup)
        elif action == "ack":
            storm.ack(tup)
        elif action == "fail":
            storm.fail(tup)
        elif action == "log":
            storm.logWarn(tup.values[1])
            storm.ack(tup)
        elif action == "error":
            storm.reportError(tup.values[1])
            storm.ack(tup)
        elif action == "metrics":
            storm.rpcMetrics("my-metric", {"n": 1})
            storm.ack(tup)
        elif action == "count-metric":
            storm.rpcMetrics("my-count", 2)
            storm.rpcMetrics("my-count", None)
            storm.ack(tup)
        elif action == "unknown-metric":
            storm.rpcMetrics("never-registered", 1)
            storm.ack(tup)
        elif action == "context":
            storm.emit([json.dumps({"conf": self.conf, "context": self.context})], stream="ids")
            storm.ack(tup)
        elif action == "values":
            storm.emit([json.dumps(tup.values[1:]) + "|" + tup.component + "|" + tup.stream + "|" + str(tup.task)], stream="ids")
            storm.ack(tup)
        elif action == "ack-twice":
            storm.ack(tup)
            storm.ack(tup)
        elif action == "garbage":
            sys.stdout.write("this is not json\nend\n")
            sys.stdout.flush()
        elif action == "exit":
            sys.stderr.write("dying on purpose\n")
            sys.stderr.flush()
            os._exit(3)


ProtocolBolt().run()
