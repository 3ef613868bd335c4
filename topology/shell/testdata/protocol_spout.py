# A spout exercising the spout side of the protocol. Each "next" emits one
# tuple with a message id and echoes the task ids it got back; ack and fail
# are reported as tuples on the "events" stream, without ids.
import json
import os
import sys

sys.path.insert(0, os.environ["STORM_PY_DIR"])
import storm  # noqa: E402


class ProtocolSpout(storm.Spout):
    def initialize(self, conf, context):
        self.n = 0

    def activate(self):
        storm.emit(["activate"], stream="events")

    def deactivate(self):
        storm.emit(["deactivate"], stream="events")

    def nextTuple(self):
        mode = os.environ.get("SPOUT_MODE", "")
        if mode == "hang" and self.n > 0:
            import time
            time.sleep(3600)
        if mode == "bad-metric" and self.n > 0:
            storm.rpcMetrics("never-registered", 1)
        if mode == "die" and self.n > 0:
            sys.stderr.write("spout dying on purpose\n")
            sys.stderr.flush()
            os._exit(4)
        ids = storm.emit(["n%d" % self.n], id=self.n)
        storm.emit([json.dumps(ids)], stream="events")
        storm.emitDirect(7, ["direct%d" % self.n], stream="direct")
        storm.sendMsgToParent({"command": "emit", "stream": "events", "tuple": ["no-ids"],
                               "need_task_ids": False})
        storm.log("next %d" % self.n)
        self.n += 1

    def ack(self, id):
        storm.rpcMetrics("my-count", 2)
        storm.emit(["ack %s" % json.dumps(id)], stream="events")

    def fail(self, id):
        storm.emit(["fail %s" % json.dumps(id)], stream="events")


ProtocolSpout().run()
