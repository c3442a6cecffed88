// Package wait is the one way sqsfleet's tests wait for asynchronous work:
// poll a condition with a deadline instead of sleeping for a guessed time.
//
// The engine, the scaler and the daemon do their work in goroutines of their
// own, so a test sees the effect some time after it caused it. A fixed sleep
// is either too short on a loaded machine (a flaky test) or too long
// everywhere (a slow one); polling returns as soon as the condition holds
// and the deadline only bounds a failure, so it can be generous.
//
// Where the code under test signals a change (the worker's fake queue wakes
// its waiters on every call), waiting on that signal is better still; this
// package is for conditions nothing announces: metrics, Stats, files a
// subprocess writes, an emulator's queue counts.
//
// Inside a testing/synctest bubble the polling sleeps on the bubble's fake
// clock, so the timeout is fake time too and costs nothing real.
package wait
