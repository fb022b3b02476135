package load

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Result is what one scenario variant measured against one server. It is
// written as one flat JSON object: server, scenario, the parameters and
// metrics in the order added, and error if the scenario failed.
type Result struct {
	Server   string
	Scenario string
	Fields   []Field
	Err      string
}

// Field is one parameter or metric of a Result.
type Field struct {
	Key   string
	Value any
}

func (r *Result) add(key string, v any) {
	if f, ok := v.(float64); ok {
		v = round(f)
	}
	r.Fields = append(r.Fields, Field{key, v})
}

// round keeps four significant digits, plenty for measurements.
func round(f float64) float64 {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	scale := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(f))))
	return math.Round(f*scale) / scale
}

// value returns the number recorded under key, if any.
func (r *Result) value(key string) (float64, bool) {
	for _, f := range r.Fields {
		if f.Key == key {
			v, ok := f.Value.(float64)
			return v, ok
		}
	}
	return 0, false
}

// MarshalJSON writes the Result as one flat object.
func (r Result) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	write := func(k string, v any) error {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(vb)
		return nil
	}
	write("server", r.Server)
	write("scenario", r.Scenario)
	for _, f := range r.Fields {
		if err := write(f.Key, f.Value); err != nil {
			return nil, err
		}
	}
	if r.Err != "" {
		write("error", r.Err)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// percentiles returns the q-quantiles of ds (which it sorts), in order.
func percentiles(ds []time.Duration, qs ...float64) []time.Duration {
	out := make([]time.Duration, len(qs))
	if len(ds) == 0 {
		return out
	}
	slices.Sort(ds)
	for i, q := range qs {
		k := int(math.Ceil(q*float64(len(ds)))) - 1
		out[i] = ds[min(max(k, 0), len(ds)-1)]
	}
	return out
}

// micros and millis express a duration for results.
func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuMark is a point in time with the CPU time each side had used by then.
type cpuMark struct {
	at     time.Time
	server time.Duration
	load   time.Duration
	busy   time.Duration // all processes, all processors
	reads  int64         // the server's read(2) calls so far
	writes int64         // the server's write(2) calls so far
}

// addCPU adds the CPU figures between a and b for count operations of the
// named kind: server CPU seconds, per 100k operations, operations per
// server CPU second, and each side's utilisation of a core.
func (r *Result) addCPU(a, b cpuMark, count int64, per string) {
	wall := b.at.Sub(a.at).Seconds()
	srv := (b.server - a.server).Seconds()
	r.add("server_cpu_s", srv)
	if count > 0 {
		r.add("server_cpu_s_per_100k_"+per, srv/float64(count)*1e5)
	}
	if srv > 0 {
		r.add(per+"_per_server_cpu_s", float64(count)/srv)
	}
	if count > 0 {
		r.add("server_reads_per_"+per, float64(b.reads-a.reads)/float64(count))
		r.add("server_writes_per_"+per, float64(b.writes-a.writes)/float64(count))
	}
	if wall > 0 {
		r.add("server_cpu_util", srv/wall)
		load := (b.load - a.load).Seconds()
		r.add("load_cpu_util", load/wall)
		// CPU used by neither side: other processes on the machine, which
		// make the measurement unreliable when high.
		r.add("other_cpu_util", max((b.busy-a.busy).Seconds()-srv-load, 0)/wall)
	}
}
