package nimbus

import (
	"net"
	"testing"
)

func TestDialable(t *testing.T) {
	for _, tc := range []struct {
		addr *net.TCPAddr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "127.0.0.1:8080"}, // 0.0.0.0 on a dual-stack socket
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41503}, "127.0.0.1:41503"},
		{&net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 80}, "10.1.2.3:80"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 80}, "[::1]:80"},
	} {
		if got := dialable(tc.addr); got != tc.want {
			t.Errorf("dialable(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
