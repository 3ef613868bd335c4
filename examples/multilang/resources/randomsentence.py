# Emits sentences, each with a message id; a failed sentence is emitted
# again, as storm-starter's randomsentence.js and reliable spouts do.
# Argument: how many sentences to emit before emitting nothing (default: no
# limit).
import sys

import storm

SENTENCES = [
    "the cow jumped over the moon",
    "an apple a day keeps the doctor away",
    "four score and seven years ago",
    "snow white and the seven dwarfs",
    "i am at two with nature",
]


class RandomSentenceSpout(storm.Spout):
    def initialize(self, conf, context):
        self.limit = int(sys.argv[1]) if len(sys.argv) > 1 else None
        self.sent = 0
        self.pending = {}
        self.replay = []
        self.active = False

    def activate(self):
        self.active = True

    def deactivate(self):
        self.active = False

    def nextTuple(self):
        if self.replay:
            msg_id = self.replay.pop(0)
        elif self.limit is None or self.sent < self.limit:
            msg_id = "s%d" % self.sent
            self.pending[msg_id] = SENTENCES[self.sent % len(SENTENCES)]
            self.sent += 1
        else:
            return
        storm.emit([self.pending[msg_id]], id=msg_id)

    def ack(self, id):
        self.pending.pop(id, None)

    def fail(self, id):
        if id in self.pending:
            self.replay.append(id)


RandomSentenceSpout().run()
