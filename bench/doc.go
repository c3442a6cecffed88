// Command bench measures what sqsfleet costs and how fast it goes, against
// the fauxqs SQS emulator on this machine, and reports it in one run as a
// table and as one JSON line (the last line of stdout). `make bench` builds
// the daemon and runs it; progress goes to stderr.
//
// It measures, each on a fresh queue:
//
//   - raw: the ceiling. A plain Go loop that only receives (10 at a time)
//     and batch-deletes, with the SDK client the engine uses, asking for the
//     same attributes, from as many goroutines as the engine has pollers.
//     Every throughput below is also given as a ratio to it: the emulator
//     and the consumer share the machine's two cores, so absolute numbers
//     move between runs and machines while the ratios hold.
//   - rawhttp: the raw loop that also POSTs each message to the http sink
//     (the ten of a batch in parallel, plain net/http keep-alive client)
//     before deleting them: what any program that hands SQS messages to a
//     local HTTP app costs here, with no engine. It bounds what the http
//     handler can reach on this machine, and the table shows the http
//     handler's throughput as a ratio to it too.
//   - the http sink is a process of its own (this program with
//     -sink-child), a minimal net/http server that reads each body and
//     answers 200, as an application beside the daemon would be. Its CPU
//     per 10k messages has a column of its own.
//   - go, http, exec: messages per second through the engine at -concurrency
//     with a no-op Go handler, the http handler POSTing to a minimal local
//     sink, and the exec handler running `true`, from a backlog of
//     -messages (-exec-messages). The Go handler runs in a child process
//     that embeds the engine (this program with -engine-child); the http and
//     exec handlers run in the real daemon binary (-binary). Both are
//     observed from outside in the same way: /metrics is scraped every
//     50 ms, CPU time is read from /proc/PID/stat and peak RSS is VmHWM from
//     /proc/PID/status, so the figures are the consumer's own and not the
//     benchmark's. SQS requests per message come from
//     sqsfleet_sqs_requests_total. Throughput and CPU are taken over the
//     steady state, from 10% to 90% of the messages done; requests per
//     message over the whole phase.
//   - trickle: -trickle-rate messages per second, one at a time, to an
//     in-process engine: SQS requests per message when nothing can be
//     batched, and the latency from just before SendMessage to the
//     handler's start (p50, p99).
//   - idle: SQS requests per minute of an engine on an empty queue,
//     counted over -idle-window after the first polls (one long-poll wait,
//     20 s, is the period of an idle engine, so the window is a multiple of
//     it) and extrapolated to a minute. It runs alongside hol and heartbeat,
//     which do not touch its queue.
//   - hol: head-of-line blocking. Concurrency 10, one message whose handler
//     takes -hol-slow and -hol-fast instant ones behind it: when do the
//     fast ones finish, against when the slow one does?
//   - heartbeat: -heartbeat-messages held in flight by handlers that block,
//     with a -heartbeat-visibility timeout, for -heartbeat-hold: how many
//     ChangeMessageVisibilityBatch requests per 10 messages per extension
//     period (one wave of extensions every half visibility timeout).
//   - big: peak RSS of the daemon with the http handler at -concurrency and
//     -big-size messages.
//
// The targets of issue 6 are checked and marked in the table. Flags choose
// sizes; the defaults finish in under two minutes on a 2-core machine.
//
// The raw loop runs once to warm the emulator up (Node compiles its hot
// paths as they run). Then raw, go, http and rawhttp run -rounds times
// (3), interleaved: one round is each of them in turn. Each reports its
// median run, and ratios are median to median. A run's steady state lasts
// about a second here and single runs move by 10%; interleaving spreads
// whatever else the machine does over every phase rather than one. A
// warning says so when the raw runs spread by more than 15% of their
// median (something else was using the CPU: run again). /metrics is
// scraped without compression, since at 20 scrapes a second gzip would be
// a cost of the measurement rather than of the daemon.
//
// A receive whose response is lost after SQS sent it ("deserialization
// failed ... use of closed network connection", which the SDK retries; seen
// about once per 50,000 requests under full CPU load until the adapter's
// body guard fixed its cause, see worker/awssqs/bodyguard.go) leaves its
// messages invisible until their visibility timeout. A phase then ends once
// only such messages are left, and reports them as stranded rather than
// waiting 30 s.
//
// For investigating: -profile DIR writes CPU and allocation profiles of the
// engine child (with -via child, also for the http and exec phases) for `go
// tool pprof`; -consumer-env KEY=value tries a setting such as GOGC=50 or
// GOMEMLIMIT=28MiB on the consumers; BENCH_DEBUG=1 in the environment prints
// every sample, the consumers' stderr, and the child's SQS connection reuse.
package main
