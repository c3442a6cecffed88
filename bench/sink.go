package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sqsfleet/sqsfleet/worker/handler"
)

// sinkFlag, as the first argument, runs this program as the http sink: the
// local web app that the http handler and the raw http loop POST to. It
// reads each request's body and answers 200, nothing else. It runs in a
// process of its own, as an application beside the daemon would, so that
// every client pays the same cross-process round trip and the sink's CPU
// is measured on its own rather than mixed into the benchmark's.
const sinkFlag = "-sink-child"

// recordFlag, after sinkFlag, makes the sink the recording sink of the
// latency and faults phases: it notes when each message's handler call
// starts (by the http handler's message id header), answers GET /arrivals
// with each one's first arrival ("id unix-nanoseconds" lines), and holds a
// call for the duration in its URL's sleep parameter (?sleep=20ms) or at
// the start of its body ("sleep=30s;..."), to play a slower application.
// The plain sink stays as it was, so the throughput phases pay for none of
// this.
const recordFlag = "-record"

// runSink serves until SIGTERM, announcing its URL as the first line of
// stdout.
func runSink(args []string) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		return 1
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
	if len(args) > 0 && args[0] == recordFlag {
		handler = (&recorder{first: map[string]int64{}}).ServeHTTP
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Printf("http://%s/\n", ln.Addr())
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "sink:", err)
		return 1
	}
	return 0
}

// recorder is the recording sink's handler (see recordFlag).
type recorder struct {
	mu    sync.Mutex
	first map[string]int64 // message id -> first arrival, unix ns
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	if r.Method == http.MethodGet {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		switch r.URL.Path {
		case "/arrivals":
			bw := bufio.NewWriter(w)
			for id, t := range rec.first {
				fmt.Fprintf(bw, "%s %d\n", id, t)
			}
			_ = bw.Flush()
		default:
			http.NotFound(w, r)
		}
		return
	}
	body, _ := io.ReadAll(r.Body)
	if id := r.Header.Get(handler.HeaderMsgID); id != "" {
		rec.mu.Lock()
		if _, seen := rec.first[id]; !seen {
			rec.first[id] = now.UnixNano()
		}
		rec.mu.Unlock()
	}
	hold, _ := time.ParseDuration(r.URL.Query().Get("sleep"))
	if v, ok := bytes.CutPrefix(body, []byte("sleep=")); ok {
		if i := bytes.IndexByte(v, ';'); i > 0 {
			hold, _ = time.ParseDuration(string(v[:i]))
		}
	}
	if hold > 0 {
		t := time.NewTimer(hold)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// sinkProc is the running sink child.
type sinkProc struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

// startSink starts the sink child (with args, e.g. recordFlag) and waits
// for its URL.
func (b *bench) startSink(args ...string) (*sinkProc, error) {
	cmd := exec.Command(b.self, append([]string{sinkFlag}, args...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &sinkProc{cmd: cmd, done: make(chan struct{})}
	l, started := firstLine(cmd, stdout, io.Discard, func(error) { close(s.done) })
	if !started {
		s.Close()
		return nil, fmt.Errorf("sink did not start")
	}
	s.url = strings.TrimSpace(l)
	if !strings.HasPrefix(s.url, "http://") {
		s.Close()
		return nil, fmt.Errorf("sink announced %q", l)
	}
	return s, nil
}

func (s *sinkProc) pid() int { return s.cmd.Process.Pid }

// Close stops the sink and waits for it.
func (s *sinkProc) Close() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
