package polling

import (
	"log/slog"
	"slices"
	"sync"
	"time"
)

// cutSamples is how many parked GETs must have been cut, each at about the
// same age, before the cut is reported.
const cutSamples = 3

// cutTolerance is how far apart the ages of those GETs may be, as a
// fraction of the youngest: a proxy's request timeout cuts at one age,
// clients that go away at many.
const cutTolerance = 0.1

// minCutAge is the youngest age at which a cut GET counts: no proxy that
// ends requests sooner could carry long-polling at all, while clients that
// go away together (a process of many clients exiting, a network falling)
// end GETs parked a moment before, at one short age.
const minCutAge = time.Second

// cutReportInterval is the least time between two reports of cut GETs.
const cutReportInterval = 10 * time.Minute

// cutDetector watches for long-polling GETs that the client's side of the
// connection ends while they are parked, again and again at one age shorter
// than the ping interval: the mark of a proxy or load balancer whose request
// timeout is shorter than the server holds a GET. Clients that go away (a
// closed tab, a lost network) do so at ages that differ. It logs one line
// naming the option to set, at most once per cutReportInterval. It is shared
// by the polling transports of one engine: every cut ends its session, so
// the samples come from different sessions.
type cutDetector struct {
	logger       *slog.Logger
	pingInterval time.Duration
	hold         time.Duration    // the MaxPollHold in force, 0 if none
	now          func() time.Time // time.Now, or a test's clock
	mu           sync.Mutex
	ages         []time.Duration // guarded by mu: ages of the last cuts, oldest first
	reported     time.Time       // guarded by mu: when the last report was logged
}

// cut records that a GET parked for age was ended by the client's side of
// the connection, and logs a report when the last cutSamples cuts agree.
// It reports whether it logged.
func (d *cutDetector) cut(age time.Duration) bool {
	if d.pingInterval <= 0 || age >= d.pingInterval || age < minCutAge {
		return false
	}
	d.mu.Lock()
	d.ages = append(d.ages, age)
	if len(d.ages) > cutSamples {
		d.ages = slices.Delete(d.ages, 0, len(d.ages)-cutSamples)
	}
	if len(d.ages) < cutSamples {
		d.mu.Unlock()
		return false
	}
	lo, hi := slices.Min(d.ages), slices.Max(d.ages)
	now := d.now()
	if float64(hi-lo) > cutTolerance*float64(lo) ||
		(!d.reported.IsZero() && now.Sub(d.reported) < cutReportInterval) {
		d.mu.Unlock()
		return false
	}
	d.reported = now
	d.ages = d.ages[:0]
	d.mu.Unlock()

	suggest := max(lo*3/4, lo-2*time.Second).Round(time.Second)
	if suggest <= 0 {
		suggest = lo / 2
	}
	d.logger.Warn("polling: long-polling GETs are being cut by an intermediary: a proxy or load balancer "+
		"between the clients and the server ends requests it has waited on for about this long, "+
		"and each cut ends a session; set MaxPollHold below it",
		"cut_after", lo.Round(100*time.Millisecond), "ping_interval", d.pingInterval,
		"max_poll_hold", d.hold, "suggested_max_poll_hold", suggest)
	return true
}
