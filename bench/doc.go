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
//   - latency and faults: the daemon binary with the http
//     handler behind the fault proxy (internal/faultproxy, the project's
//     fault model applied per request; bench/faultproxy is the same proxy
//     as a command), which this program runs in its own process on a
//     loopback port and the daemon reaches through AWS_ENDPOINT_URL_SQS.
//     Every run is shown beside the same run through a proxy that adds
//     nothing, so the proxy's own cost is in both. The handler calls go to
//     a second sink child, the recording sink, which notes each message's
//     first call and can hold calls (?sleep= in the handler URL, or a
//     "sleep=DUR;" body) to play a slower application.
//     latency: -latency-runs (5 ms at concurrency 10 and 20, 15 ms at 10,
//     20, 64 and 256) with a fast handler, then 20 ms and 1 s handlers and a
//     backlog with one -latency-slow (30 s) message first, at 15 ms.
//     Reported: messages per second (steady state, from /metrics), requests
//     per message counted at the proxy (message path, retries included),
//     and the local wait of a message: from the proxy finishing the
//     ReceiveMessage response that carried it to the sink receiving its
//     handler call. It is measured from outside, since the engine does not
//     expose it; it includes the http handler's own POST (well under a
//     millisecond here) and the clock both processes read. The cores each
//     process kept busy show when the machine, not the latency, is the
//     bound.
//     faults: at each -faults-concurrency (10, 64), the brown-out mix
//     (faultproxy.BrownOut: 2% throttled, 2% 500, 2% reset, 2% lost after
//     SQS acted, 5% delayed up to 1 s) on -faults-messages (1000) and 1%
//     500s alone on -faults-500-messages (4000), each beside the same
//     backlog without faults. The drain time runs from the daemon's start
//     until the emulator reports the queue empty; a lost receive hides its
//     messages for a visibility timeout, so the daemon runs with
//     -faults-visibility (5 s). The proxy reports throttled answers and
//     the retries after them (it tells a retry by the SDK's Amz-Sdk-Request
//     attempt number and Amz-Sdk-Invocation-Id) with their mean backoff.
//     Every message must be handled, the DLQ must stay empty and the
//     daemon must not exit. The faults are drawn from -seed; the same seed
//     and the same sequence of requests give the same faults. The proxy
//     also reports each lost receive response that carried messages: when
//     the last message it hid became visible again is a time no consumer
//     can drain before, and a message lost in two responses in a row is
//     hidden for two visibility timeouts, so the drain target allows one
//     visibility timeout per lost response the worst-hit message was in.
//     -faults-mix replaces the brown-out mix (KIND[@OPERATION]=RATE,...)
//     to see what one kind of fault costs.
//
// The targets are checked and marked in the table: the throughput and
// requests-per-message ones of the throughput phases, the latency phase's
// (1,000 and 5,000 messages a second at 15 ms, 0.22 requests per message,
// local wait under 1 s) and the faults phase's drain times.
// Flags choose sizes; the defaults finish in about five minutes on a 2-core
// machine, of which the latency phase takes about two and the faults phase
// one (-phases=latency,faults runs only those two).
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
