package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sqsfleet/sqsfleet/internal/fauxqs"
	"github.com/sqsfleet/sqsfleet/internal/wait"
)

// Instance and task roles hand out credentials that expire. The daemon must
// fetch new ones as they run out, from the same chain the SDK uses on ECS
// (the container credentials endpoint), and keep working across them.
func TestExpiringCredentialsAreRefreshed(t *testing.T) {
	emu := fauxqs.Start(t)
	url, _ := emu.CreateQueueWithDLQ(t, "creds", 10)
	var served atomic.Int64
	creds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId":     "AKIDTEST" + string(rune('A'+n%26)),
			"SecretAccessKey": "secret",
			"Token":           "token",
			// Short-lived, as a rotating role's are near their end.
			"Expiration": time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339),
		})
	}))
	t.Cleanup(creds.Close)

	addr := freeAddr(t)
	startDaemon(t, emu,
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", // no static keys: use the endpoint
		"AWS_CONTAINER_CREDENTIALS_FULL_URI="+creds.URL+"/v2/credentials",
		"SQSFLEET_QUEUE_URL="+url,
		"SQSFLEET_QUEUE_WAIT_TIME=1s",
		"SQSFLEET_HANDLER_TYPE=exec", "SQSFLEET_HANDLER_COMMAND=true",
		"SQSFLEET_HTTP_ADDR="+addr,
	)
	c := emu.SQS(t)
	// Across several credential lifetimes: credentials fetched again and
	// again, messages keep flowing, and the daemon stays healthy.
	for round := range 4 {
		sendN(t, c, url, "round", 5)
		wait.For(t, 20*time.Second, "messages processed", func() bool { return drained(t, emu, url) })
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("round %d: /healthz %d", round, resp.StatusCode)
		}
		before := served.Load()
		wait.For(t, 10*time.Second, "credentials fetched again", func() bool { return served.Load() > before })
	}
	if served.Load() < 4 {
		t.Errorf("credentials endpoint hit %d times, want a refresh per lifetime", served.Load())
	}
}
