package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// sinkFlag, as the first argument, runs this program as the http sink: the
// local web app that the http handler and the raw http loop POST to. It
// reads each request's body and answers 200, nothing else. It runs in a
// process of its own, as an application beside the daemon would, so that
// every client pays the same cross-process round trip and the sink's CPU
// is measured on its own rather than mixed into the benchmark's.
const sinkFlag = "-sink-child"

// runSink serves until SIGTERM, announcing its URL as the first line of
// stdout.
func runSink() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		return 1
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
		}),
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

// sinkProc is the running sink child.
type sinkProc struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

// startSink starts the sink child and waits for its URL.
func (b *bench) startSink() (*sinkProc, error) {
	cmd := exec.Command(b.self, sinkFlag)
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
