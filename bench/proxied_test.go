package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/worker/handler"
)

func TestLocalWait(t *testing.T) {
	for _, tc := range []struct {
		name      string
		delivered []int64
		arrival   int64
		want      time.Duration
		ok        bool
	}{
		{"one delivery", []int64{100}, 150, 50, true},
		{"redelivered: the latest before the call", []int64{100, 400, 900}, 450, 50, true},
		{"call before any recorded delivery: no wait", []int64{500}, 450, 0, true},
		{"never delivered", nil, 450, 0, false},
	} {
		got, ok := localWait(tc.delivered, tc.arrival)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: localWait = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLatencyRunsFlag(t *testing.T) {
	var l latencyRuns
	if err := l.Set("5ms:10,20 15ms:64"); err != nil {
		t.Fatal(err)
	}
	if got := l.String(); got != "5ms:10,20 15ms:64" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []string{"", "15ms", "x:10", "15ms:0", "15ms:a"} {
		if err := l.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}

// The recording sink notes each message's first call and holds a call as
// its URL or body asks.
func TestRecordingSink(t *testing.T) {
	srv := httptest.NewServer(&recorder{first: map[string]int64{}})
	defer srv.Close()
	post := func(query, id, body string) time.Duration {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/"+query, strings.NewReader(body))
		req.Header.Set(handler.HeaderMsgID, id)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return time.Since(start)
	}
	post("", "a", "x")
	post("", "a", "x")
	if took := post("?sleep=30ms", "b", "x"); took < 30*time.Millisecond {
		t.Errorf("?sleep=30ms answered after %s", took)
	}
	if took := post("", "c", "sleep=30ms;slow"); took < 30*time.Millisecond {
		t.Errorf("a sleep=30ms; body answered after %s", took)
	}
	arr, err := sinkArrivals(srv.URL + "/")
	if err != nil || len(arr) != 3 || arr["a"] == 0 || arr["a"] > arr["b"] {
		t.Errorf("arrivals %v, %v", arr, err)
	}
}
