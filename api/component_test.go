package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// ComponentPage asks for the escaped component's page with its window and
// sys, and a 404 is ErrNotFound.
func TestComponentPage(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath() + "?" + r.URL.RawQuery
		if r.URL.Query().Get("sys") != "1" {
			http.Error(w, `{"error":"404 Not Found"}`, http.StatusNotFound)
			return
		}
		w.Write([]byte(`{"id":"a/b","executors":2,"outputStats":[{"stream":"default","emitted":5,"transferred":4}]}`))
	}))
	defer srv.Close()
	c := NewClient(srv.URL)
	page, err := c.ComponentPage(context.Background(), "wc-1-2", "a/b", WindowAllTime, true)
	if err != nil || page.Executors != 2 || len(page.OutputStats) != 1 || page.OutputStats[0].Transferred != 4 {
		t.Fatalf("ComponentPage: %+v, %v", page, err)
	}
	if want := "/api/v1/topology/wc-1-2/component/a%2Fb?sys=1&window=%3Aall-time"; got != want {
		t.Errorf("request %s, want %s", got, want)
	}
	if _, err := c.ComponentPage(context.Background(), "wc-1-2", "x", "", false); !IsNotFound(err) {
		t.Errorf("a 404: %v, want ErrNotFound", err)
	}
}
