package faultproxy

import (
	"time"

	"github.com/sqsfleet/sqsfleet/internal/faults"
)

// BrownOut is the fault mix of a bad day at SQS, the one the end-to-end
// test and the benchmark's faults phase both apply, so that their figures
// describe the same weather: per request, 2% throttled, 2% InternalError,
// 2% reset before forwarding, 2% response lost after SQS acted, 5% delayed
// by up to a second.
func BrownOut(seed uint64) faults.Config {
	return faults.Config{
		Seed:     seed,
		MaxDelay: time.Second,
		Rules: []faults.Rule{
			{Kind: faults.Throttle, Rate: 0.02},
			{Kind: faults.ServerError, Rate: 0.02},
			{Kind: faults.Reset, Rate: 0.02},
			{Kind: faults.Lost, Rate: 0.02},
			{Kind: faults.Delay, Rate: 0.05},
		},
	}
}
