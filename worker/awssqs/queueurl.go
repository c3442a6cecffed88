package awssqs

import (
	"net/url"
	"strings"
)

// QueueURL is what an SQS queue URL says about its queue. SQS queue URLs
// are https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (other partitions and
// dual-stack endpoints change only the suffix after REGION), the legacy
// https://REGION.queue.amazonaws.com/ACCOUNT/NAME, or an emulator's
// http://HOST:PORT/ACCOUNT/NAME.
type QueueURL struct {
	// Region is the region the host names: the label after "sqs", or the
	// one before "queue" in the legacy form. "" when the host names none (an
	// emulator, a proxy, a private DNS name).
	Region string
	// Account is the path segment before the name, "" when there is none.
	Account string
	// Name is the last path segment, the queue's name. "" when the URL has
	// no path.
	Name string
}

// ParseQueueURL takes an SQS queue URL apart. It never fails: each field is
// "" when the URL does not give it, and the caller decides whether that is
// an error. A string that is not a URL at all is taken as a path, so a bare
// queue name is its own Name.
func ParseQueueURL(raw string) QueueURL {
	var q QueueURL
	p := raw
	if u, err := url.Parse(raw); err == nil {
		p = u.Path
		q.Region = regionOfHost(u.Hostname())
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	q.Name = segs[len(segs)-1]
	if len(segs) > 1 {
		q.Account = segs[len(segs)-2]
	}
	return q
}

// regionOfHost returns the region an SQS endpoint host names, or "".
func regionOfHost(host string) string {
	labels := strings.Split(host, ".")
	for i, l := range labels {
		// "sqs.amazonaws.com" names no region: "amazonaws" is not one.
		if l == "sqs" && i+1 < len(labels) && labels[i+1] != "amazonaws" {
			return labels[i+1]
		}
	}
	if len(labels) > 2 && labels[1] == "queue" {
		return labels[0]
	}
	return ""
}
