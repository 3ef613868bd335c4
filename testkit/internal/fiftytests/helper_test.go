package fiftytests

import (
	"os"
	"strings"
	"testing"

	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/testkit"
	"github.com/localstorm/localstorm/topology"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// ParallelEnv, set to 1, makes every test call t.Parallel, so that `go test`
// runs GOMAXPROCS of them at once (its default -parallel).
const ParallelEnv = "FIFTYTESTS_PARALLEL"

var sentences = []string{"the cow jumped over the moon", "the man went to the store", "four score and seven years ago"}

// wordCountTest is one test of the package: word count on 2 workers with
// mocked sentences, asserting every tuple the count bolt emits.
func wordCountTest(t *testing.T) {
	if os.Getenv(ParallelEnv) == "1" {
		t.Parallel()
	}
	c := testkit.Start(t)
	var mocked []topology.Values
	for _, s := range sentences {
		mocked = append(mocked, topology.Values{s})
	}
	res := testkit.CompleteTopology(t, c, wordcount.Builder(), testkit.MockedSources{"sentences": mocked})
	seen := map[string]int{}
	var want []topology.Values
	for _, s := range sentences {
		for _, w := range strings.Fields(s) {
			seen[w]++
			want = append(want, topology.Values{w, seen[w]})
		}
	}
	testkit.AssertTuples(t, res.Tuples("count", "default"), want)
}
