# The lines the spout emits, shared with the tests that check what the
# topology did with them: line i is SENTENCES[i % len(SENTENCES)].
SENTENCES = [
    "a storm in a teacup",
    "every cloud has a silver lining",
    "the calm before the storm",
    "it never rains but it pours",
    "any port in a storm",
    "right as rain",
]

# How many lines the spout emits, each once (again only if it failed).
LINES = 250


def line(i):
    return SENTENCES[i % len(SENTENCES)]


def words():
    """Every word of the LINES lines, in order."""
    return [w for i in range(LINES) for w in line(i).split(" ")]
