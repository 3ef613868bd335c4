# A reliable spout: emits corpus.LINES lines, each with a message id, and
# emits a line again if its tuple tree failed.
import corpus
import storm


class LinesSpout(storm.Spout):
    def initialize(self, conf, context):
        self.next = 0
        self.pending = {}
        self.replay = []

    def nextTuple(self):
        if self.replay:
            msg_id = self.replay.pop(0)
        elif self.next < corpus.LINES:
            msg_id = "line-%d" % self.next
            self.pending[msg_id] = corpus.line(self.next)
            self.next += 1
        else:
            return
        storm.emit([self.pending[msg_id]], id=msg_id)

    def ack(self, id):
        self.pending.pop(id, None)

    def fail(self, id):
        if id in self.pending:
            self.replay.append(id)


LinesSpout().run()
