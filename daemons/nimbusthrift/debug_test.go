package nimbusthrift

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/localstorm/localstorm/daemons/nimbusthrift/storm"
)

func (f *fakeBackend) Debug(ctx context.Context, id, component string, enable bool, pct float64) error {
	if err := f.known(id); err != nil {
		return err
	}
	return f.record("debug %s %q %v %v", id, component, enable, pct)
}

func TestDebug(t *testing.T) {
	f, s := serveFake(t, Options{})
	c := dial(t, s.Addr().String())
	ctx := context.Background()
	if err := c.Debug(ctx, "wc", "", true, 25); err != nil {
		t.Fatal(err)
	}
	if got, want := f.lastAction(), `debug `+fakeID+` "" true 25`; got != want {
		t.Errorf("nimbus was asked %q, want %q", got, want)
	}
	if err := c.Debug(ctx, "wc", "count", false, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := f.lastAction(), `debug `+fakeID+` "count" false 0`; got != want {
		t.Errorf("nimbus was asked %q, want %q", got, want)
	}
	var nae *storm.NotAliveException
	if err := c.Debug(ctx, "nope", "", true, 10); !errors.As(err, &nae) || nae.Msg != "nope is not alive" {
		t.Errorf("debug of a name not alive: %v", err)
	}
	var tae thrift.TApplicationException
	if err := c.Debug(ctx, "wc", "nosuch", true, 10); !errors.As(err, &tae) || !strings.Contains(err.Error(), `no component "nosuch"`) {
		t.Errorf("debug of an unknown component: %v", err)
	}
}
