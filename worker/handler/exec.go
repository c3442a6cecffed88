package handler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sqsfleet/sqsfleet/worker"
	"github.com/sqsfleet/sqsfleet/worker/task"
)

// Environment variables the exec handler sets for each message. Together with
// every variable starting with EnvAttrPrefix they are reserved: values for
// them inherited from the daemon's environment or given in ExecConfig.Env are
// dropped, so a command never mistakes a stale value (for example the
// daemon's own SQSFLEET_QUEUE_URL setting, or a group id when the message has
// none) for metadata of the message it is processing.
const (
	EnvMessageID              = "SQSFLEET_MESSAGE_ID"
	EnvReceiveCount           = "SQSFLEET_RECEIVE_COUNT"
	EnvQueueURL               = "SQSFLEET_QUEUE_URL"
	EnvSentTimestamp          = "SQSFLEET_SENT_TIMESTAMP"
	EnvFirstReceivedTimestamp = "SQSFLEET_FIRST_RECEIVED_TIMESTAMP"
	EnvGroupID                = "SQSFLEET_GROUP_ID"
	EnvSenderID               = "SQSFLEET_SENDER_ID"
	// EnvPayloadBucket and EnvPayloadKey name the S3 object a message's
	// body was read from, when the message carried an SQS extended client
	// pointer (see worker.Payload); unset otherwise.
	EnvPayloadBucket = "SQSFLEET_PAYLOAD_BUCKET"
	EnvPayloadKey    = "SQSFLEET_PAYLOAD_KEY"
	// EnvAttrPrefix prefixes one variable per message attribute; the rest of
	// the name is AttrEnvName(attribute name).
	EnvAttrPrefix = "SQSFLEET_ATTR_"

	// What an unwrapped SNS envelope said (worker/envelope).
	EnvSNSSubject   = "SQSFLEET_SNS_SUBJECT"
	EnvSNSTopicARN  = "SQSFLEET_SNS_TOPIC_ARN"
	EnvSNSMessageID = "SQSFLEET_SNS_MESSAGE_ID"
	EnvSNSTimestamp = "SQSFLEET_SNS_TIMESTAMP"
	// What an unwrapped EventBridge envelope said (worker/envelope).
	EnvEventID         = "SQSFLEET_EVENT_ID"
	EnvEventSource     = "SQSFLEET_EVENT_SOURCE"
	EnvEventDetailType = "SQSFLEET_EVENT_DETAIL_TYPE"
	EnvEventTime       = "SQSFLEET_EVENT_TIME"
	EnvEventAccount    = "SQSFLEET_EVENT_ACCOUNT"
	EnvEventRegion     = "SQSFLEET_EVENT_REGION"
	EnvEventResources  = "SQSFLEET_EVENT_RESOURCES"
)

// ExitDataErr is the exit status (EX_DATAERR from sysexits.h) with which a
// command tells the exec handler that the message itself is bad, so retrying
// is pointless and the message is dead-lettered at once.
const ExitDataErr = 65

const (
	defaultOutputTail = 4096
	// execWaitDelay bounds how long Handle waits, once the command has exited
	// or been killed, for descendants that still hold its stdin, stdout or
	// stderr pipes. Without it a backgrounded grandchild could keep a message
	// (and a worker slot) busy forever.
	execWaitDelay = 2 * time.Second
)

// ExecConfig configures an Exec handler.
type ExecConfig struct {
	// Command is the argv to run for every message; Command[0] is looked up
	// in PATH when it contains no slash. There is no shell: use
	// []string{"sh", "-c", "..."} to get one.
	Command []string
	// Env holds extra "KEY=value" entries appended to the daemon's own
	// environment (as it is when NewExec is called); a later entry
	// overrides an earlier one with the same key. When Dir is set, PWD is
	// set to it.
	Env []string
	// Dir is the working directory of the command; "" means the daemon's.
	Dir string
	// OutputTail is how many of the last bytes the command wrote to stderr
	// are quoted in the error when it fails. Default 4096. Memory use is
	// bounded by it however much the command writes.
	OutputTail int
	// Stdout and Stderr, when set, receive a copy of everything the command
	// writes to its stdout and stderr, typically the daemon's os.Stderr.
	// Many messages run at once, so they must be safe for concurrent use and
	// the output of concurrent commands interleaves. Write errors on them are
	// ignored: losing a log copy must not fail a message. nil discards.
	Stdout io.Writer
	Stderr io.Writer
	// Source names the queue in the events of HandleBatch.
	Source EventSource
}

// Exec is the handler that runs a command once per message. It is safe for concurrent use.
//
// Contract with the command:
//
//   - The message body is the command's stdin, byte for byte. The command need
//     not read it; exiting without reading it is not an error. A body stored
//     in S3 (worker.Payload) is streamed from S3 to stdin, never held in
//     memory whole, and SQSFLEET_PAYLOAD_BUCKET and SQSFLEET_PAYLOAD_KEY name
//     its object.
//   - Metadata is in the environment: SQSFLEET_MESSAGE_ID,
//     SQSFLEET_RECEIVE_COUNT (1 on the first delivery), SQSFLEET_QUEUE_URL,
//     SQSFLEET_SENT_TIMESTAMP and SQSFLEET_FIRST_RECEIVED_TIMESTAMP
//     (milliseconds since the Unix epoch, as SQS reports them; unset when
//     unknown), SQSFLEET_GROUP_ID (FIFO queues only) and SQSFLEET_SENDER_ID
//     (when known).
//   - When an SNS envelope was unwrapped: SQSFLEET_SNS_SUBJECT (when the
//     publisher gave one), SQSFLEET_SNS_TOPIC_ARN, SQSFLEET_SNS_MESSAGE_ID
//     and SQSFLEET_SNS_TIMESTAMP. When an EventBridge envelope was
//     unwrapped: SQSFLEET_EVENT_ID, _SOURCE, _DETAIL_TYPE, _TIME, _ACCOUNT,
//     _REGION and _RESOURCES (the ARNs comma-separated; unset when none).
//   - Each message attribute is in SQSFLEET_ATTR_<NAME>, NAME being
//     AttrEnvName(attribute name). String and Number attributes carry their
//     value, Binary attributes their standard base64 encoding. Distinct
//     attribute names can map to the same variable ("a.b" and "a-b" both give
//     SQSFLEET_ATTR_A_B); attributes are applied in sorted name order, so the
//     attribute whose name sorts last wins, the same way on every delivery.
//   - Trace context, when the message has it: _X_AMZN_TRACE_ID (the
//     AWSTraceHeader system attribute, as Lambda names it), TRACEPARENT and
//     TRACESTATE (the traceparent and tracestate String attributes, as
//     OpenTelemetry's environment carrier names them). The attributes are
//     in SQSFLEET_ATTR_* as well. These names are reserved like the
//     SQSFLEET_ ones: the daemon's own values never pass through.
//   - A scheduled task (package task) also has SQSFLEET_TASK_NAME,
//     SQSFLEET_TASK_PATH and SQSFLEET_TASK_SCHEDULED_AT (UTC, RFC 3339);
//     its stdin is the message body as for any message. Attributes named
//     beanstalk.sqsd.* are not passed as SQSFLEET_ATTR_*. A malformed task
//     is dead-lettered without running the command.
//   - Exit status 0 means success. Exit status 65 (EX_DATAERR) means the
//     message can never be processed: it is dead-lettered without retries.
//     Any other status, death by a signal, or running past the handler
//     timeout is a retryable failure. The error quotes the exit status or
//     signal and the last OutputTail bytes of stderr.
//   - The command runs in its own process group. When the handler's context
//     is done (handler timeout, shutdown) the whole group is killed with
//     SIGKILL, so helpers it started in the background die with it, and the
//     error wraps ctx.Err(). Descendants that leave the group (setsid,
//     daemonising) are not killed; if they keep the command's stdout or
//     stderr open, Handle stops waiting for them about two seconds after the
//     command itself is gone. After a normal exit nothing is killed.
type Exec struct {
	path       string   // resolved Command[0]
	argv       []string // Command as configured, argv[0] unresolved
	env        []string // daemon env + Env, reserved names removed
	dir        string
	outputTail int
	stdout     io.Writer
	stderr     io.Writer
	waitDelay  time.Duration
	source     EventSource
}

// NewExec validates cfg and returns a handler. It fails when the
// command is missing or cannot be found in PATH, or Dir is not a directory,
// so that a misconfiguration stops the daemon at start-up rather than
// failing every message.
func NewExec(cfg ExecConfig) (*Exec, error) {
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		return nil, errors.New("exec handler: command is empty")
	}
	if cfg.OutputTail < 0 {
		return nil, fmt.Errorf("exec handler: output tail %d is negative", cfg.OutputTail)
	}
	for _, kv := range cfg.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("exec handler: env entry %q is not KEY=value", kv)
		}
	}
	if cfg.Dir != "" {
		fi, err := os.Stat(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("exec handler: dir: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("exec handler: dir %s is not a directory", cfg.Dir)
		}
	}
	path := cfg.Command[0]
	if !strings.Contains(path, "/") {
		// Resolve once: it reports a typo at start-up and spares a PATH walk
		// per message. A name containing a slash is left to the kernel,
		// relative to Dir, exactly as a shell would run it.
		p, err := exec.LookPath(path)
		if err != nil {
			return nil, fmt.Errorf("exec handler: %w", err)
		}
		path = p
	}
	h := &Exec{
		path:       path,
		argv:       append([]string(nil), cfg.Command...),
		dir:        cfg.Dir,
		outputTail: cfg.OutputTail,
		stdout:     cfg.Stdout,
		stderr:     cfg.Stderr,
		waitDelay:  execWaitDelay,
		source:     cfg.Source,
	}
	if h.outputTail == 0 {
		h.outputTail = defaultOutputTail
	}
	for _, kv := range append(os.Environ(), cfg.Env...) {
		if !reservedEnv(kv) {
			h.env = append(h.env, kv)
		}
	}
	if cfg.Dir != "" {
		// os/exec only fixes PWD up when it builds the environment itself;
		// an inherited PWD naming the daemon's directory would mislead
		// commands that trust $PWD.
		abs, err := filepath.Abs(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("exec handler: dir: %w", err)
		}
		h.env = append(h.env, "PWD="+abs)
	}
	return h, nil
}

// Handle runs the command for m; see Exec for the contract.
func (h *Exec) Handle(ctx context.Context, m *worker.Message) error {
	t, isTask, err := task.Parse(m)
	if err != nil {
		// A malformed task never succeeds: dead-letter it with the reason.
		return worker.Permanent(fmt.Errorf("exec %s: %w", h.argv[0], err))
	}
	env := h.environ(m)
	if isTask {
		env = append(env, taskEnv(t)...)
	}
	var stdout io.Writer
	switch w := h.stdout.(type) {
	case nil:
		// os/exec connects /dev/null: no pipe, no copying.
	case *os.File:
		stdout = w // no copying through this process
	default:
		stdout = bestEffortWriter{w}
	}
	// A reader that is not an *os.File makes os/exec copy stdin from its own
	// goroutine and ignore EPIPE, so a command that never reads its stdin
	// cannot block us; the copy goes through a fixed buffer, so a payload
	// streamed from S3 takes no more memory than a small body.
	return h.run(ctx, env, m.BodyReader(), stdout)
}

// run runs the command once and classifies its end as Handle documents.
func (h *Exec) run(ctx context.Context, env []string, stdin io.Reader, stdout io.Writer) error {
	name := h.argv[0]
	cmd := exec.CommandContext(ctx, h.path, h.argv[1:]...)
	cmd.Args[0] = h.argv[0]
	cmd.Dir = h.dir
	cmd.Env = env
	cmd.Stdin = stdin
	if stdout != nil {
		cmd.Stdout = stdout
	}
	tail := newTailBuffer(h.outputTail)
	if h.stderr != nil {
		cmd.Stderr = teeWriter{tail: tail, w: h.stderr}
	} else {
		cmd.Stderr = tail
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var killed atomic.Bool
	cmd.Cancel = func() error {
		// Setpgid made the command's pid its process group id.
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			// The group is gone: the command exited on its own, and its exit
			// status, not ctx, is the outcome.
			return os.ErrProcessDone
		}
		if err == nil {
			killed.Store(true)
		}
		return err
	}
	cmd.WaitDelay = h.waitDelay

	err := cmd.Run()
	st := cmd.ProcessState
	switch {
	case st == nil:
		// Never started (or ctx was already done, in which case err is
		// ctx.Err()).
		return fmt.Errorf("exec %s: %w", name, err)
	case st.Exited() && st.ExitCode() == 0:
		// The command reported success. err may still be ErrWaitDelay (a
		// descendant held our pipes) or ctx.Err() (ctx ended between the exit
		// and our noticing it); neither undoes the work, and retrying would
		// process the message twice.
		return nil
	case killed.Load():
		return fmt.Errorf("exec %s: %w, process group killed (%w)%s", name, ctx.Err(), err, tail.suffix())
	case st.Exited() && st.ExitCode() == ExitDataErr:
		return worker.Permanent(fmt.Errorf("exec %s: %w (EX_DATAERR: message rejected)%s", name, err, tail.suffix()))
	default:
		return fmt.Errorf("exec %s: %w%s", name, err, tail.suffix())
	}
}
