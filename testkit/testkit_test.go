package testkit_test

import (
	"strings"
	"testing"

	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/testkit"
	"github.com/localstorm/localstorm/topology"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// wantCounts is what the count bolt must emit for sentences: for every word,
// the running counts 1..n (in some order across the two count tasks).
func wantCounts(sentences []string) []topology.Values {
	seen := map[string]int{}
	var out []topology.Values
	for _, s := range sentences {
		for _, w := range strings.Fields(s) {
			seen[w]++
			out = append(out, topology.Values{w, seen[w]})
		}
	}
	return out
}

func TestCompleteTopologyWordCount(t *testing.T) {
	c := testkit.Start(t)
	sentences := []string{"the cow jumped over the moon", "the man went to the store", "four score and seven years ago"}
	var mocked []topology.Values
	for _, s := range sentences {
		mocked = append(mocked, topology.Values{s})
	}
	res := testkit.CompleteTopology(t, c, wordcount.Builder(), testkit.MockedSources{"sentences": mocked})

	testkit.AssertTuples(t, res.Tuples("sentences", "default"), mocked)
	var words []topology.Values
	for _, s := range sentences {
		for _, w := range strings.Fields(s) {
			words = append(words, topology.Values{w})
		}
	}
	testkit.AssertTuples(t, res.Tuples("split", "default"), words)
	testkit.AssertTuples(t, res.Tuples("count", "default"), wantCounts(sentences))
}

func TestSameMultiset(t *testing.T) {
	a := []topology.Values{{"a", 1}, {"b", 2}, {"a", 1}}
	for _, tc := range []struct {
		b    []topology.Values
		same bool
	}{
		{[]topology.Values{{"a", 1}, {"a", 1}, {"b", 2}}, true},
		{[]topology.Values{{"a", int64(1)}, {"b", uint64(2)}, {"a", 1.0}}, true},
		{[]topology.Values{{"a", 1}, {"b", 2}}, false},
		{[]topology.Values{{"a", 1}, {"b", 2}, {"b", 2}}, false},
		{[]topology.Values{{"a", 1}, {"b", 2}, {"a", 1}, {"c", 3}}, false},
	} {
		if got := testkit.SameMultiset(a, tc.b); got != tc.same {
			t.Errorf("SameMultiset(%v, %v) = %v, want %v", a, tc.b, got, tc.same)
		}
	}
}
