// Command firstack is the word-count example with a spout that reports its
// first acked tuple to an HTTP URL, so that localcluster's benchmark of
// `up` + `submit` + first acked tuple sees the ack the moment it happens
// rather than at the next stats heartbeat (task.heartbeat.frequency.secs).
//
// The URL comes from the topology conf key localstorm.bench.ack.url
// (`localstorm submit firstack -c localstorm.bench.ack.url=http://...`).
package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/localstorm/localstorm/examples/wordcount"
	"github.com/localstorm/localstorm/topology"
	"github.com/localstorm/localstorm/topology/run"
)

// AckURLKey is the topology conf key naming where the first ack is reported.
const AckURLKey = "localstorm.bench.ack.url"

func main() {
	// wordcount.Builder with the reporting spout.
	b := topology.NewBuilder()
	b.SetSpout("sentences", func() topology.Spout { return &spout{} }, 1)
	b.SetBasicBolt("split", func() topology.BasicBolt { return &wordcount.SplitBolt{} }, 2).
		ShuffleGrouping("sentences")
	b.SetBasicBolt("count", func() topology.BasicBolt { return wordcount.NewCountBolt() }, 2).
		FieldsGrouping("split", topology.Fields{"word"})
	b.SetConf("topology.workers", 2)
	b.SetConf("topology.max.spout.pending", 1000)
	run.Main("firstack", b)
}

// spout is wordcount's sentence spout that POSTs once, on its first ack.
type spout struct {
	wordcount.SentenceSpout
	out      topology.SpoutCollector
	url      string
	reported bool
}

func (s *spout) Open(ctx *topology.Context, out topology.SpoutCollector) error {
	s.out = out
	s.url, _ = ctx.Conf[AckURLKey].(string)
	return s.SentenceSpout.Open(ctx, out)
}

func (s *spout) Ack(msgID any) {
	s.SentenceSpout.Ack(msgID)
	if s.reported || s.url == "" {
		return
	}
	s.reported = true
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Post(s.url, "text/plain", strings.NewReader(fmt.Sprint(msgID)))
	if err != nil {
		s.out.ReportError(fmt.Errorf("firstack: report the first ack to %s: %w", s.url, err))
		return
	}
	resp.Body.Close()
}
