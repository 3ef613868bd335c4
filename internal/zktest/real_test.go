package zktest

import (
	"strings"
	"testing"
	"time"
)

func TestStartRealAnswersSrvr(t *testing.T) {
	s := StartReal(t, RealOptions{})
	out, err := FourLetter(s.Addr, "srvr", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Mode: standalone") || !strings.Contains(out, "3.8") {
		t.Fatalf("srvr = %q, want a standalone 3.8 server", out)
	}
}
