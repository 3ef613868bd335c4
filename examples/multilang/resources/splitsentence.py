# Splits each sentence into words, as Apache Storm's storm-starter example.
import storm


class SplitSentence(storm.BasicBolt):
    def process(self, tup):
        for word in tup.values[0].split(" "):
            storm.emit([word])


SplitSentence().run()
