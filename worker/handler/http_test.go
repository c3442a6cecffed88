package handler

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
)

// recordedRequest is what the test server saw of one request.
type recordedRequest struct {
	method string
	header http.Header
	body   []byte
}

// recordingServer answers every request with respond and records it.
func recordingServer(t *testing.T, respond http.HandlerFunc) (*httptest.Server, func() recordedRequest) {
	t.Helper()
	var mu sync.Mutex
	var last recordedRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("server: reading body: %v", err)
		}
		mu.Lock()
		last = recordedRequest{method: r.Method, header: r.Header.Clone(), body: body}
		mu.Unlock()
		if respond != nil {
			respond(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() recordedRequest {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

func newHTTP(t *testing.T, cfg HTTPConfig) *HTTP {
	t.Helper()
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatalf("NewHTTP: %v", err)
	}
	return h
}

func TestHTTPRequest(t *testing.T) {
	srv, last := recordingServer(t, nil)
	h := newHTTP(t, HTTPConfig{URL: srv.URL + "/work?x=1"})

	bin := []byte{0, 1, 0xfe, 0xff}
	m := handlerTestMessage()
	m.FirstReceivedAt = time.Date(2024, 2, 3, 4, 5, 6, 789, time.FixedZone("CET", 3600))
	m.Attributes = map[string]worker.Attribute{
		"trace-id":     {DataType: "String", StringValue: "abc-123"},
		"Count":        {DataType: "Number", StringValue: "42"},
		"blob":         {DataType: "Binary", BinaryValue: bin},
		"tenant.name":  {DataType: "String.custom", StringValue: "acme corp"},
		"evil":         {DataType: "String", StringValue: "a\r\nX-Injected: 1\r\n\r\nbody\x00\x7f\tend"},
		"bad name\r\n": {DataType: "String", StringValue: "sanitised name"},
		"ünï":          {DataType: "String", StringValue: "ünïcode value"},
	}
	if err := h.Handle(context.Background(), m); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	got := last()
	if got.method != http.MethodPost {
		t.Errorf("method %s, want POST", got.method)
	}
	if string(got.body) != m.Body {
		t.Errorf("body %q, want %q", got.body, m.Body)
	}
	want := map[string]string{
		"X-Aws-Sqsd-Msgid":               m.ID,
		"X-Aws-Sqsd-Queue":               "jobs.fifo",
		"X-Aws-Sqsd-First-Received-At":   "2024-02-03T03:05:06Z",
		"X-Aws-Sqsd-Receive-Count":       "3",
		"X-Aws-Sqsd-Sender-Id":           "AIDAEXAMPLE",
		"X-Aws-Sqsd-Sent-At":             "2023-11-14T22:13:20Z",
		"X-Aws-Sqsd-Path":                "/work",
		"User-Agent":                     "sqsfleet",
		"Content-Type":                   "application/json",
		"X-Aws-Sqsd-Attr-trace-id":       "abc-123",
		"X-Aws-Sqsd-Attr-Count":          "42",
		"X-Aws-Sqsd-Attr-blob":           base64.StdEncoding.EncodeToString(bin),
		"X-Aws-Sqsd-Attr-tenant.name":    "acme corp",
		"X-Aws-Sqsd-Attr-evil":           "a  X-Injected: 1    body  \tend",
		"X-Aws-Sqsd-Attr-bad-name--":     "sanitised name",
		"X-Aws-Sqsd-Attr-" + "--n--":     "ünïcode value",
		"Content-Length":                 strconv.Itoa(len(m.Body)),
		"X-Injected":                     "",
		"X-Aws-Sqsd-Attr-Does-Not-Exist": "",
	}
	for k, v := range want {
		if g := got.header.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	for k, vs := range got.header {
		if len(vs) != 1 {
			t.Errorf("header %s sent %d times: %q", k, len(vs), vs)
		}
	}
}

func TestHTTPPathAndSentAt(t *testing.T) {
	for _, tt := range []struct{ url, path string }{
		{"http://127.0.0.1:8000", "/"},
		{"http://127.0.0.1:8000/", "/"},
		{"http://127.0.0.1:8000/jobs/run?token=x", "/jobs/run"},
		{"http://127.0.0.1:8000/a%20b/c", "/a%20b/c"},
	} {
		h := newHTTP(t, HTTPConfig{URL: tt.url})
		m := handlerTestMessage()
		m.SentAt = time.Time{}
		req, err := h.newRequest(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if got := req.Header.Get(HeaderPath); got != tt.path {
			t.Errorf("%s: %s = %q, want %q", tt.url, HeaderPath, got, tt.path)
		}
		// An unknown send time is left out rather than sent as year 1.
		if v, ok := req.Header[HeaderSentAt]; ok {
			t.Errorf("%s sent without a known send time: %q", HeaderSentAt, v)
		}
	}
}

func TestHTTPEnvelopeHeaders(t *testing.T) {
	srv, last := recordingServer(t, nil)
	h := newHTTP(t, HTTPConfig{URL: srv.URL})
	tests := []struct {
		name   string
		mutate func(m *worker.Message)
		want   map[string]string // "" means absent
	}{
		{
			name:   "none",
			mutate: func(*worker.Message) {},
			want: map[string]string{
				HeaderSNSTopicARN: "", HeaderSNSSubject: "", HeaderEventID: "", HeaderEventResources: "",
			},
		},
		{
			name: "sns",
			mutate: func(m *worker.Message) {
				m.SNS = sampleSNS("My First Message\r\nX-Injected: 1")
			},
			want: map[string]string{
				HeaderSNSMessageID: "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
				HeaderSNSTopicARN:  "arn:aws:sns:us-east-2:123456789012:MyTopic",
				HeaderSNSSubject:   "My First Message  X-Injected: 1",
				HeaderSNSTimestamp: "2012-04-25T21:49:25.719Z",
				HeaderEventID:      "",
			},
		},
		{
			name: "sns without subject",
			mutate: func(m *worker.Message) {
				m.SNS = sampleSNS("")
			},
			want: map[string]string{HeaderSNSMessageID: "95df01b4-ee98-5cb9-9903-4c221d41eb5e", HeaderSNSSubject: ""},
		},
		{
			name: "eventbridge",
			mutate: func(m *worker.Message) {
				m.Event = sampleEvent()
			},
			want: func() map[string]string {
				w := sampleEventWant(HeaderEventID, HeaderEventSource, HeaderEventDetailType, HeaderEventTime,
					HeaderEventAccount, HeaderEventRegion, HeaderEventResources)
				w[HeaderSNSTopicARN] = "" // an event sends no SNS headers
				return w
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := handlerTestMessage()
			tt.mutate(m)
			if err := h.Handle(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			got := last().header
			for k, v := range tt.want {
				if g, ok := got[k]; v == "" && ok {
					t.Errorf("%s = %q, want absent", k, g)
				} else if v != "" && got.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, got.Get(k), v)
				}
			}
		})
	}
}

func TestHTTPAttributeHeaderKeys(t *testing.T) {
	// Attribute headers keep the attribute's case on the wire (the server
	// side of net/http canonicalises, so look at the request itself), and
	// names equal but for case or sanitising produce one header: the name
	// sorting last wins.
	h := newHTTP(t, HTTPConfig{URL: "http://example.invalid/"})
	m := handlerTestMessage()
	m.Attributes = map[string]worker.Attribute{
		"myAttr":  {DataType: "String", StringValue: "camel"},
		"a b":     {DataType: "String", StringValue: "space"},
		"a-b":     {DataType: "String", StringValue: "dash"},
		"X":       {DataType: "String", StringValue: "upper"},
		"x":       {DataType: "String", StringValue: "lower"},
		"ordinal": {DataType: "Number", StringValue: "1"},
	}
	req, err := h.newRequest(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"X-Aws-Sqsd-Attr-myAttr":  "camel",
		"X-Aws-Sqsd-Attr-a-b":     "dash", // "a-b" sorts after "a b"
		"X-Aws-Sqsd-Attr-x":       "lower",
		"X-Aws-Sqsd-Attr-ordinal": "1",
	}
	n := 0
	for k, vs := range req.Header {
		if !strings.HasPrefix(k, HeaderAttrPrefix) {
			continue
		}
		n++
		if w, ok := want[k]; !ok || len(vs) != 1 || vs[0] != w {
			t.Errorf("header %q = %q, want %q (present in want: %v)", k, vs, w, ok)
		}
	}
	if n != len(want) {
		t.Errorf("%d attribute headers, want %d: %v", n, len(want), req.Header)
	}
}

func TestHTTPBodyAndContentType(t *testing.T) {
	big := make([]byte, 1<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		body   string
		attrs  map[string]worker.Attribute
		wantCT string
	}{
		{name: "default", body: `{"a":1}`, wantCT: "application/json"},
		{name: "empty body", body: "", wantCT: "application/json"},
		{name: "1MiB binary", body: string(big), wantCT: "application/json"},
		{name: "override", body: "plain", wantCT: "text/plain; charset=utf-8",
			attrs: map[string]worker.Attribute{"Content-Type": {DataType: "String", StringValue: "text/plain; charset=utf-8"}}},
		{name: "override any case", body: "<a/>", wantCT: "application/xml",
			attrs: map[string]worker.Attribute{"content-TYPE": {DataType: "String", StringValue: " application/xml "}}},
		{name: "blank override ignored", body: "x", wantCT: "application/json",
			attrs: map[string]worker.Attribute{"content-type": {DataType: "String", StringValue: "\r\n"}}},
		{name: "binary override ignored", body: "x", wantCT: "application/json",
			attrs: map[string]worker.Attribute{"Content-Type": {DataType: "Binary", BinaryValue: []byte("text/plain")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, last := recordingServer(t, nil)
			h := newHTTP(t, HTTPConfig{URL: srv.URL})
			m := handlerTestMessage()
			m.Body = tt.body
			m.Attributes = tt.attrs
			if err := h.Handle(context.Background(), m); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			got := last()
			if !bytes.Equal(got.body, []byte(tt.body)) {
				t.Errorf("body: got %d bytes, want %d", len(got.body), len(tt.body))
			}
			if ct := got.header.Get("Content-Type"); ct != tt.wantCT {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantCT)
			}
		})
	}
}

func TestHTTPStatuses(t *testing.T) {
	future := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		permanent  []int // HTTPConfig.PermanentStatuses
		status     int
		retryAfter string
		body       string

		wantErr       bool
		wantPermanent bool
		wantDelay     [2]time.Duration // RetryAfterError expected when [1] > 0
		wantIn        []string
	}{
		{name: "200", status: 200},
		{name: "202", status: 202, body: "queued"},
		{name: "204", status: 204},
		{name: "422 permanent", status: 422, body: `{"error":"field x missing"}`, wantErr: true, wantPermanent: true,
			wantIn: []string{"422", `{"error":"field x missing"}`}},
		{name: "429 seconds", status: 429, retryAfter: "7", body: "slow down", wantErr: true,
			wantDelay: [2]time.Duration{7 * time.Second, 7 * time.Second}, wantIn: []string{"429", "slow down"}},
		{name: "429 date", status: 429, retryAfter: future, wantErr: true,
			wantDelay: [2]time.Duration{25 * time.Second, 30 * time.Second}},
		{name: "503 seconds", status: 503, retryAfter: "120", wantErr: true,
			wantDelay: [2]time.Duration{2 * time.Minute, 2 * time.Minute}, wantIn: []string{"503"}},
		{name: "503 past date", status: 503, retryAfter: past, wantErr: true,
			wantDelay: [2]time.Duration{0, time.Nanosecond}},
		{name: "503 without Retry-After", status: 503, wantErr: true, wantIn: []string{"503"}},
		{name: "429 bad Retry-After", status: 429, retryAfter: "soon", wantErr: true},
		{name: "500", status: 500, body: "boom", wantErr: true, wantIn: []string{"500 Internal Server Error", "boom"}},
		{name: "400 not permanent by default", status: 400, wantErr: true},
		{name: "redirect not followed", status: 302, wantErr: true, wantIn: []string{"302"}},
		{name: "Retry-After on 500 ignored", status: 500, retryAfter: "5", wantErr: true},
		{name: "custom permanent", permanent: []int{400, 409}, status: 409, wantErr: true, wantPermanent: true},
		{name: "custom list replaces 422", permanent: []int{400}, status: 422, wantErr: true},
		{name: "empty list: nothing permanent", permanent: []int{}, status: 422, wantErr: true},
		{name: "permanent wins over Retry-After", permanent: []int{503}, status: 503, retryAfter: "5",
			wantErr: true, wantPermanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := recordingServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/elsewhere" {
					return // 200: following the redirect would turn failure into success
				}
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				if tt.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			h := newHTTP(t, HTTPConfig{URL: srv.URL, PermanentStatuses: tt.permanent})
			err := h.Handle(context.Background(), handlerTestMessage())
			if !checkHandleErr(t, err, tt.wantErr, tt.wantPermanent, tt.wantIn) {
				return
			}
			var ra *worker.RetryAfterError
			isRA := errors.As(err, &ra)
			if wantRA := tt.wantDelay[1] > 0; isRA != wantRA {
				t.Errorf("RetryAfterError = %v, want %v: %v", isRA, wantRA, err)
			} else if isRA && (ra.Delay < tt.wantDelay[0] || ra.Delay > tt.wantDelay[1]) {
				t.Errorf("delay %v, want in [%v, %v]", ra.Delay, tt.wantDelay[0], tt.wantDelay[1])
			}
		})
	}
}

func TestParseRetryAfterHeader(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"99999999999999999999999", time.Duration(1<<63-1) / time.Second * time.Second, true},
		{"Mon, 01 Jan 2024 12:01:00 GMT", time.Minute, true},
		{"Monday, 01-Jan-24 12:00:30 GMT", 30 * time.Second, true}, // RFC 850
		{"Mon Jan  1 12:00:10 2024", 10 * time.Second, true},       // asctime
		{"Mon, 01 Jan 2024 11:00:00 GMT", 0, true},                 // past
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"5s", 0, false},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfterHeader(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfterHeader(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	h := newHTTP(t, HTTPConfig{URL: srv.URL})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := h.Handle(ctx, handlerTestMessage())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	var ra *worker.RetryAfterError
	if worker.IsPermanent(err) || errors.As(err, &ra) {
		t.Fatalf("err = %v, want plain retryable error", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := h.Handle(ctx, handlerTestMessage()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
}

func TestHTTPTransportError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	h := newHTTP(t, HTTPConfig{URL: "http://user:secret@" + addr + "/"})
	err = h.Handle(context.Background(), handlerTestMessage())
	if err == nil || worker.IsPermanent(err) {
		t.Fatalf("err = %v, want retryable error", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error leaks the URL password: %v", err)
	}
}

func TestHTTPHugeResponseIsBounded(t *testing.T) {
	const tail = 100
	var written atomic.Int64
	chunk := bytes.Repeat([]byte("y"), 32<<10)
	for _, status := range []int{200, 500, 422} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
				// Up to 1 GiB, until the client hangs up.
				for i := 0; i < 1<<15; i++ {
					n, err := w.Write(chunk)
					written.Add(int64(n))
					if err != nil {
						return
					}
				}
			}))
			t.Cleanup(srv.Close)
			written.Store(0)
			h := newHTTP(t, HTTPConfig{URL: srv.URL, ResponseTail: tail})
			err := h.Handle(context.Background(), handlerTestMessage())
			if (err == nil) != (status == 200) {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				if len(err.Error()) > tail+200 {
					t.Fatalf("error is %d bytes", len(err.Error()))
				}
				if !strings.Contains(err.Error(), strings.Repeat("y", tail)) {
					t.Fatalf("error lacks the body head: %v", err)
				}
			}
			srv.Close() // waits for the handler to notice the hang-up
			if w := written.Load(); w >= 1<<30 {
				t.Fatalf("server wrote the whole %d bytes: the client read it all", w)
			}
		})
	}
}

func TestHTTPConnectionReuse(t *testing.T) {
	var newConns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		switch r.URL.Query().Get("s") {
		case "422":
			w.WriteHeader(422)
			_, _ = io.WriteString(w, "bad")
		case "500":
			w.WriteHeader(500)
			_, _ = w.Write(bytes.Repeat([]byte("e"), 10000)) // more than ResponseTail
		case "429":
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
		default:
			_, _ = w.Write(bytes.Repeat([]byte("ok"), 20000)) // unread by Handle, drained
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	handlers := map[string]*HTTP{}
	for _, s := range []string{"200", "422", "500", "429"} {
		handlers[s] = newHTTP(t, HTTPConfig{URL: srv.URL + "/?s=" + s, Concurrency: 4})
	}
	// One handler per outcome would each have its own pool; use a single
	// transport by sharing the 200 handler's client.
	for s, h := range handlers {
		h.client, h.rt = handlers["200"].client, handlers["200"].rt
		handlers[s] = h
	}
	for i := 0; i < 20; i++ {
		for _, s := range []string{"200", "422", "500", "429"} {
			_ = handlers[s].Handle(context.Background(), handlerTestMessage())
		}
	}
	if n := newConns.Load(); n != 1 {
		t.Fatalf("%d connections for 80 sequential requests, want 1", n)
	}
}

func TestHTTPConcurrencyCapsConnections(t *testing.T) {
	var newConns, inFlight, maxInFlight atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	h := newHTTP(t, HTTPConfig{URL: srv.URL, Concurrency: 2})
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Go(func() {
			if err := h.Handle(context.Background(), handlerTestMessage()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := newConns.Load(); n > 2 {
		t.Errorf("%d connections, want at most Concurrency=2", n)
	}
	if n := maxInFlight.Load(); n > 2 {
		t.Errorf("%d requests in flight at once, want at most 2", n)
	}
}

func TestHTTPCustomClient(t *testing.T) {
	var calls atomic.Int32
	client := &http.Client{Transport: handlerRoundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		if r.Header.Get(HeaderMsgID) == "" {
			return nil, errors.New("missing message id header")
		}
		return &http.Response{StatusCode: 204, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	})}
	h := newHTTP(t, HTTPConfig{URL: "https://app.internal/sqs", Client: client})
	if err := h.Handle(context.Background(), handlerTestMessage()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("custom client called %d times", calls.Load())
	}
}

// TestHTTPErrorsHideURLSecrets: a token in handler.url's query or a
// password in its userinfo shows in no handler error, whether net/http
// fails the request (its *url.Error quotes the URL whole), the endpoint
// answers with an error status, or its body echoes the request line or the
// token. These errors go to the log and into the failure record on the DLQ.
func TestHTTPErrorsHideURLSecrets(t *testing.T) {
	const token, password = "TOKEN-7f3a9c", "PASSWORD-51d2"
	secrets := []string{token, password}
	check := func(what string, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error shows %s: %v", what, s, err)
			}
		}
		for _, w := range append(want, "token=REDACTED") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", what, err, w)
			}
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	h := newHTTP(t, HTTPConfig{URL: "http://app:" + password + "@" + closed + "/work?token=" + token})
	check("refused", h.Handle(context.Background(), handlerTestMessage()), "connection refused")

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "no route for "+r.Method+" "+r.URL.RequestURI()+"; bad token "+r.URL.Query().Get("token"))
	}))
	t.Cleanup(srv.Close)
	u := strings.Replace(srv.URL, "http://", "http://app:"+password+"@", 1) + "/work?token=" + token
	for _, perm := range [][]int{{500}, {}} {
		h = newHTTP(t, HTTPConfig{URL: u, PermanentStatuses: perm})
		err := h.Handle(context.Background(), handlerTestMessage())
		check("status 500", err, "500", "no route for POST /work?token=REDACTED", "bad token REDACTED")
		if worker.IsPermanent(err) != (len(perm) > 0) {
			t.Errorf("permanent %v: IsPermanent = %v", perm, worker.IsPermanent(err))
		}
	}

	// A token cut in two by ResponseTail is still recognised: no prefix of
	// it is quoted.
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, strings.Repeat("x", 17)+r.URL.Query().Get("token")+" and more")
	}))
	t.Cleanup(cut.Close)
	err = newHTTP(t, HTTPConfig{URL: cut.URL + "/work?token=" + token, ResponseTail: 20}).Handle(context.Background(), handlerTestMessage())
	if err == nil || strings.Contains(err.Error(), "x"+token[:3]) || !strings.Contains(err.Error(), strings.Repeat("x", 17)) {
		t.Errorf("token cut by the response tail: error %v, want 17 x and no part of %s", err, token)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = newHTTP(t, HTTPConfig{URL: u}).Handle(ctx, handlerTestMessage())
	check("cancelled", err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v is no longer context.Canceled", err)
	}

	if _, err := NewHTTP(HTTPConfig{URL: "http://app:" + password + "@[::1/work?token=" + token}); err == nil {
		t.Error("unparsable URL accepted")
	} else {
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("NewHTTP error shows %s: %v", s, err)
			}
		}
	}
}

type handlerRoundTripFunc func(*http.Request) (*http.Response, error)

func (f handlerRoundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewHTTPHandlerErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  HTTPConfig
	}{
		{"empty URL", HTTPConfig{}},
		{"no scheme", HTTPConfig{URL: "localhost:8080/x"}},
		{"ftp", HTTPConfig{URL: "ftp://host/x"}},
		{"no host", HTTPConfig{URL: "http:///x"}},
		{"unparsable", HTTPConfig{URL: "http://[::1"}},
		{"negative concurrency", HTTPConfig{URL: "http://h/", Concurrency: -1}},
		{"negative tail", HTTPConfig{URL: "http://h/", ResponseTail: -1}},
		{"2xx permanent", HTTPConfig{URL: "http://h/", PermanentStatuses: []int{200}}},
		{"out of range", HTTPConfig{URL: "http://h/", PermanentStatuses: []int{600}}},
	}
	for _, tt := range tests {
		if h, err := NewHTTP(tt.cfg); err == nil {
			t.Errorf("%s: got handler %+v, want error", tt.name, h)
		}
	}
}

func TestAttrHeaderName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"trace-id", "trace-id"},
		{"Mixed.Case_9", "Mixed.Case_9"},
		{"with space", "with-space"},
		{"colon:x", "colon-x"},
		{"crlf\r\nX-Evil", "crlf--X-Evil"},
		{"é", "--"},
		{"!#$%&'*+-.^_`|~", "!#$%&'*+-.^_`|~"},
		{`"(),/;<=>?@[\]{}`, "----------------"},
	}
	for _, tt := range tests {
		if got := AttrHeaderName(tt.in); got != tt.want {
			t.Errorf("AttrHeaderName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// validHeaderFieldName mirrors golang.org/x/net/http/httpguts
// ValidHeaderFieldName, which net/http's transport enforces: a non-empty
// RFC 9110 token.
func validHeaderFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// validHeaderFieldValue mirrors httpguts.ValidHeaderFieldValue: no control
// bytes other than tab.
func validHeaderFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func FuzzAttrHeaderName(f *testing.F) {
	for _, s := range []string{"", "a", "trace-id", "Content-Type", "a b", "x\r\nX-Evil: 1", "ünïcödé", "\x00\x7f\xff", `"(),/;<=>?@[\]{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := checkNameMapping(t, "AttrHeaderName", AttrHeaderName, name)
		if full := HeaderAttrPrefix + got; !validHeaderFieldName(full) {
			t.Fatalf("%q is not a valid header field name", full)
		}
		if validHeaderFieldName(name) && got != name {
			t.Fatalf("valid token %q changed to %q", name, got)
		}
		// The same input as an attribute value must come out safe too.
		if v := sanitizeHeaderValue(name); !validHeaderFieldValue(v) {
			t.Fatalf("sanitizeHeaderValue(%q) = %q contains control characters", name, v)
		}
	})
}

// Credentials in handler.url reach the application as HTTP basic
// authentication, as net/http's client sends them.
func TestHTTPURLCredentialsAreSentAsBasicAuth(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		got <- fmt.Sprintf("%v %s:%s", ok, u, p)
	}))
	defer srv.Close()
	h := newHTTP(t, HTTPConfig{URL: strings.Replace(srv.URL, "http://", "http://app:s3cr%40t@", 1) + "/work"})
	if err := h.Handle(context.Background(), handlerTestMessage()); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != "true app:s3cr@t" {
		t.Errorf("basic auth seen by the app: %q, want app:s3cr@t", g)
	}
}
