"""A multilang library for localstorm and Apache Storm, written for localstorm.

It speaks Storm's multilang protocol (docs/Multilang-protocol.md): JSON
messages, each followed by a line "end", on stdin and stdout. Its public names
are those of Apache Storm's storm.py, so components written for that library
run with this one: Tuple, Bolt, BasicBolt, Spout, emit, emitDirect, ack, fail,
reportError, log (and logTrace ... logError), rpcMetrics, sync.
"""

import collections
import json
import os
import sys
import traceback

_END = "end"

# What the component is (set by run()): "bolt" or "spout". Emits differ.
_mode = None
# The tuple a BasicBolt is processing: its emits are anchored to it.
_basic_anchor = None

# The parent's messages arrive in one stream. Waiting for the task ids of an
# emit, a bolt may read tuples first (and the reverse); each kind read early
# waits in its own queue.
_early_commands = collections.deque()
_early_task_ids = collections.deque()


def readMsg():
    """Read one message: lines up to an "end" line, decoded as JSON."""
    lines = []
    while True:
        line = sys.stdin.readline()
        if line == "":
            raise EOFError("stdin closed by the parent")
        line = line.rstrip("\r\n")
        if line == _END:
            return json.loads("\n".join(lines))
        lines.append(line)


def sendMsgToParent(msg):
    """Write one message and flush it."""
    out = sys.stdout
    out.write(json.dumps(msg))
    out.write("\n" + _END + "\n")
    out.flush()


def readTaskIds():
    if _early_task_ids:
        return _early_task_ids.popleft()
    while True:
        msg = readMsg()
        if isinstance(msg, list):
            return msg
        _early_commands.append(msg)


def readCommand():
    if _early_commands:
        return _early_commands.popleft()
    while True:
        msg = readMsg()
        if not isinstance(msg, list):
            return msg
        _early_task_ids.append(msg)


def readTuple():
    msg = readCommand()
    return Tuple(msg["id"], msg["comp"], msg["stream"], msg["task"], msg["tuple"])


def sync():
    sendMsgToParent({"command": "sync"})


def sendpid(pid_dir):
    """Answer the handshake: record the pid in pid_dir, then send it."""
    pid = os.getpid()
    with open(os.path.join(pid_dir, str(pid)), "w"):
        pass
    sendMsgToParent({"pid": pid})


def initComponent():
    """Read the handshake; return [conf, context]."""
    setup = readMsg()
    sendpid(setup["pidDir"])
    return [setup["conf"], setup["context"]]


def emit(*args, **kwargs):
    """Emit a tuple; return the ids of the tasks it was sent to.

    Bolt: emit(tup, stream=None, anchors=[]). Spout: emit(tup, stream=None, id=None).
    """
    _send_emit(*args, **kwargs)
    return readTaskIds()


def emitDirect(task, *args, **kwargs):
    """Emit a tuple to one task of a direct stream (no task ids come back)."""
    kwargs["directTask"] = task
    _send_emit(*args, **kwargs)


def _send_emit(*args, **kwargs):
    if _mode == "bolt":
        _emit_from_bolt(*args, **kwargs)
    else:
        _emit_from_spout(*args, **kwargs)


def _emit_from_bolt(tup, stream=None, anchors=None, directTask=None):
    if _basic_anchor is not None:
        anchors = [_basic_anchor]
    msg = {"command": "emit", "anchors": [a.id for a in (anchors or [])], "tuple": tup}
    if stream is not None:
        msg["stream"] = stream
    if directTask is not None:
        msg["task"] = directTask
    sendMsgToParent(msg)


def _emit_from_spout(tup, stream=None, id=None, directTask=None):
    msg = {"command": "emit", "tuple": tup}
    if id is not None:
        msg["id"] = id
    if stream is not None:
        msg["stream"] = stream
    if directTask is not None:
        msg["task"] = directTask
    sendMsgToParent(msg)


def ack(tup):
    sendMsgToParent({"command": "ack", "id": tup.id})


def fail(tup):
    sendMsgToParent({"command": "fail", "id": tup.id})


def reportError(msg):
    sendMsgToParent({"command": "error", "msg": msg})


def log(msg, level=2):
    """Log msg in the worker's log; level 0 trace, 1 debug, 2 info, 3 warn, 4 error."""
    sendMsgToParent({"command": "log", "msg": msg, "level": level})


def logTrace(msg):
    log(msg, 0)


def logDebug(msg):
    log(msg, 1)


def logInfo(msg):
    log(msg, 2)


def logWarn(msg):
    log(msg, 3)


def logError(msg):
    log(msg, 4)


def rpcMetrics(name, params):
    sendMsgToParent({"command": "metrics", "name": name, "params": params})


class Tuple(object):
    __slots__ = ("id", "component", "stream", "task", "values")

    def __init__(self, id, component, stream, task, values):
        self.id = id
        self.component = component
        self.stream = stream
        self.task = task
        self.values = values

    def is_heartbeat_tuple(self):
        return self.task == -1 and self.stream == "__heartbeat"

    def __repr__(self):
        return "<Tuple component=%r id=%r stream=%r task=%r values=%r>" % (
            self.component, self.id, self.stream, self.task, self.values)


class Bolt(object):
    """A bolt that acks and fails its tuples itself."""

    def initialize(self, stormconf, context):
        pass

    def process(self, tup):
        pass

    def run(self):
        global _mode
        _mode = "bolt"
        conf, context = initComponent()
        try:
            self.initialize(conf, context)
            while True:
                tup = readTuple()
                if tup.is_heartbeat_tuple():
                    sync()
                    continue
                self.process(tup)
        except EOFError:
            return
        except Exception:
            reportError(traceback.format_exc())


class BasicBolt(object):
    """A bolt whose emits are anchored to the input, acked after process()
    returns and failed (with the error reported) when it raises."""

    def initialize(self, stormconf, context):
        pass

    def process(self, tup):
        pass

    def run(self):
        global _mode, _basic_anchor
        _mode = "bolt"
        conf, context = initComponent()
        try:
            self.initialize(conf, context)
            while True:
                tup = readTuple()
                if tup.is_heartbeat_tuple():
                    sync()
                    continue
                _basic_anchor = tup
                try:
                    self.process(tup)
                except Exception:
                    reportError(traceback.format_exc())
                    fail(tup)
                else:
                    ack(tup)
                finally:
                    _basic_anchor = None
        except EOFError:
            return
        except Exception:
            reportError(traceback.format_exc())


class Spout(object):
    def initialize(self, conf, context):
        pass

    def activate(self):
        pass

    def deactivate(self):
        pass

    def ack(self, id):
        pass

    def fail(self, id):
        pass

    def nextTuple(self):
        pass

    def run(self):
        global _mode
        _mode = "spout"
        conf, context = initComponent()
        handlers = {
            "next": lambda msg: self.nextTuple(),
            "ack": lambda msg: self.ack(msg["id"]),
            "fail": lambda msg: self.fail(msg["id"]),
            "activate": lambda msg: self.activate(),
            "deactivate": lambda msg: self.deactivate(),
        }
        try:
            self.initialize(conf, context)
            while True:
                msg = readCommand()
                handler = handlers.get(msg.get("command"))
                if handler is not None:
                    handler(msg)
                sync()
        except EOFError:
            return
        except Exception:
            reportError(traceback.format_exc())
