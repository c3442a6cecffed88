package redact

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"https://sqs.us-east-1.amazonaws.com/123456789012/jobs", "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"},
		{"http://localhost:4566/1/q", "http://localhost:4566/1/q"},
		{"https://admin:hunter2@sqs.example.com/1/dlq", "https://admin:REDACTED@sqs.example.com/1/dlq"},
		{"https://sk_live_4eC39HqLyjWDarjtT1zdp7dc@api.example.com/", "https://REDACTED@api.example.com/"},
		{"http://app:s3cret@app.internal/sqs?access_token=abc&mode=fast&sig=x&empty=&id=3f2a",
			"http://app:REDACTED@app.internal/sqs?access_token=REDACTED&mode=REDACTED&sig=REDACTED&empty=&id=REDACTED"},
		{"http://host/?eyJhbGciOiJIUzI1NiIsInR5cCI6", "http://host/?REDACTED"},
		{"http://host/work?t=abc%20def&&x", "http://host/work?t=REDACTED&&REDACTED"},
		{"http://host/cb#access_token=secret", "http://host/cb#REDACTED"},
		{"http://u:p@ho st/%zz", "http://REDACTED"},
		{"not a url?token=x", "not%20a%20url?token=REDACTED"},
		{"plain", "plain"},
	} {
		if got := URL(c.in); got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestScrubberHidesWhatNetHTTPQuotes: the errors net/http returns quote the
// URL whole, with its query; the scrubbed error hides every secret in it and
// is still the same kind of error underneath.
func TestScrubberHidesWhatNetHTTPQuotes(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // a closed port: the request fails with a *url.Error
	raw := "http://app:PASSWORD1@" + addr + "/work?token=TOKEN12&mode=fast#FRAGMENT"
	s := NewScrubber(raw)

	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, doErr := http.DefaultClient.Do(req)
	if doErr == nil || !strings.Contains(doErr.Error(), "TOKEN12") {
		t.Fatalf("net/http's error %v does not quote the query; the test shows nothing", doErr)
	}
	got := s.Error(fmt.Errorf("http handler: %w", doErr))
	for _, secret := range []string{"PASSWORD1", "TOKEN12", "fast", "FRAGMENT"} {
		if strings.Contains(got.Error(), secret) {
			t.Errorf("scrubbed error %q shows %s", got, secret)
		}
	}
	// The URL net/http quotes (password as "***") is replaced whole.
	if !strings.Contains(got.Error(), `Post "`+URL(raw)+`"`) || !strings.Contains(got.Error(), "connection refused") {
		t.Errorf("scrubbed error %q lost what explains it", got)
	}
	var ue *url.Error
	if !errors.As(got, &ue) || !errors.Is(got, doErr) {
		t.Errorf("scrubbed error %T no longer wraps the original", got)
	}

	// The *url.Error itself, as the handler gets it.
	direct := s.Error(doErr)
	if !errors.As(direct, &ue) || strings.Contains(ue.URL, "TOKEN12") || strings.Contains(ue.Error(), "PASSWORD1") {
		t.Errorf("scrubbed *url.Error %q still shows a secret", direct)
	}
	var op *net.OpError
	if !errors.As(direct, &op) {
		t.Errorf("the dial error under %q is gone", direct)
	}
	if ctxErr := s.Error(&url.Error{Op: "Post", URL: raw, Err: context.DeadlineExceeded}); !errors.Is(ctxErr, context.DeadlineExceeded) {
		t.Errorf("%v is no longer a deadline", ctxErr)
	}
}

func TestScrubberString(t *testing.T) {
	s := NewScrubber("https://app:hunter22@app.internal/sqs?access_token=abcdef123&page=2&key=x%2By%3Dz1")
	for _, c := range []struct{ in, want string }{
		// A body echoing the request line, the token alone, or its decoded form.
		{"no route for POST /sqs?access_token=abcdef123&page=2&key=x%2By%3Dz1",
			"no route for POST /sqs?access_token=REDACTED&page=REDACTED&key=REDACTED"},
		{"invalid token abcdef123", "invalid token REDACTED"},
		{"bad key x+y=z1", "bad key REDACTED"},
		{"wrong password hunter22", "wrong password REDACTED"},
		// Short values stand alone untouched: "2" is no secret worth garbling a message for.
		{"status 502 on page 2", "status 502 on page 2"},
		{"", ""},
	} {
		if got := s.String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if raw := "https://app:hunter22@app.internal/sqs?access_token=abcdef123&page=2&key=x%2By%3Dz1"; s.Longest() != len(raw) {
		t.Errorf("Longest = %d, want %d, the whole URL's", s.Longest(), len(raw))
	}
	if err := errors.New("plain"); s.Error(err) != err {
		t.Error("an error with nothing to hide was wrapped")
	}
	if s.Error(nil) != nil {
		t.Error("Error(nil) is not nil")
	}
	// Unparsable: the URL is still hidden where it appears whole.
	bad := NewScrubber("http://u:p@ho st/%zz?token=x")
	if got := bad.String(`parse "http://u:p@ho st/%zz?token=x": invalid`); strings.Contains(got, "token=x") {
		t.Errorf("unparsable URL shown: %q", got)
	}
}

func FuzzURL(f *testing.F) {
	f.Add("http://app:pw@host/p?token=abc&x=1#frag")
	f.Add("http://host/?bare")
	f.Add("http://u:p@ho st/%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		got := URL(raw)
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		// Whatever the URL, no password, query value or fragment survives.
		if p, ok := u.User.Password(); ok && p != Mask && p != "" && strings.Contains(got, ":"+p+"@") {
			t.Fatalf("URL(%q) = %q shows the password", raw, got)
		}
		if gu, err := url.Parse(got); err == nil {
			for name, vs := range gu.Query() {
				for _, v := range vs {
					if v != Mask && v != "" {
						t.Fatalf("URL(%q) = %q keeps %s=%q", raw, got, name, v)
					}
				}
			}
			if gu.Fragment != "" && gu.Fragment != Mask {
				t.Fatalf("URL(%q) = %q keeps the fragment", raw, got)
			}
		}
	})
}
