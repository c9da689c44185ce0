// Package ingest receives line protocol from agents and from any
// InfluxDB line-protocol sender (Telegraf and others), turns each field
// into a sample of the recent window, and tells the availability tracker
// who reported.
package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/samples"
)

// Appender stores samples. lset is only valid during the call (the
// decoder reuses its memory): an Appender that keeps it must Copy it.
type Appender interface {
	Append(lset labels.Labels, t int64, v float64) error
}

// LineAppender is an Appender that also takes the samples of a line at
// once (the recent window, samples.Store, is one): one sample per name at
// t, each labelled base (without __name__) and its name, with
// errs[i] what Append would have returned for sample i. The decoder then
// builds no label set for a series the appender already has. base and
// names are only valid during the call.
type LineAppender interface {
	Appender
	AppendLine(base labels.Labels, names []string, t int64, vs []float64, errs []error)
}

// DecodeOptions say how to read one payload.
type DecodeOptions struct {
	// Precision is the unit of timestamps: time.Nanosecond, Microsecond,
	// Millisecond, Second, Minute or Hour.
	Precision time.Duration
	// Now is the time of lines without a timestamp.
	Now time.Time
	// Extra labels are added to every sample unless the line has a tag of
	// the same name.
	Extra []labels.Label
	// MaxLineBytes rejects longer lines (0: no limit).
	MaxLineBytes int
	// HostTag, when set, names the tag that identifies the sending host;
	// its distinct values are returned in Result.Hosts. A line whose host
	// tag is not a valid hostname is rejected.
	HostTag string
	// AdmitHost, when set (with HostTag), is called at the first line of
	// each host of the payload, before any of its samples is stored; when
	// it returns an error, every line of that host is rejected with it.
	AdmitHost func(host string) error
	// HostLabels, with HostTag, fills Result.HostLabels.
	HostLabels bool
	// MaxAge and MaxAhead bound the timestamps accepted, relative to Now
	// (0: no bound). A line outside is rejected: a sample far in the
	// future would make every later sample of its series out of order.
	MaxAge, MaxAhead time.Duration
}

// Result counts what a payload held.
type Result struct {
	Lines  int // lines read, valid or not
	Points int // samples stored
	// Ignored counts string fields, which are not samples and are
	// dropped: a line whose only fields are strings (Telegraf's
	// system,host=a uptime_format="1 day") is accepted, as InfluxDB and
	// VictoriaMetrics accept it, and only reports its host.
	Ignored int

	// Lines rejected, by reason: bad syntax, too long, no field at all,
	// a tag that may not become a label (or a host tag that is no
	// hostname), a timestamp outside [Now-MaxAge, Now+MaxAhead].
	RejectedSyntax, RejectedTooLong, RejectedNoField, RejectedLabel, RejectedTime int
	// RejectedHost counts lines of hosts AdmitHost refused for the
	// target limits, RejectedNotAllowed those of hosts the sender's token
	// may not speak for.
	RejectedHost, RejectedNotAllowed int
	// Samples the store refused, by reason.
	RefusedOutOfOrder, RefusedSeriesLimit, RefusedOther int

	// FirstErr is the first bad line, with its line number.
	FirstErr error
	// FirstRefused is the first sample the store refused, with its line
	// number and series name.
	FirstRefused error
	// Hosts are the distinct values of DecodeOptions.HostTag.
	Hosts []string
	// HostLabels (with DecodeOptions.HostLabels) are, per host whose
	// lines in the payload had at least two measurements and shared a
	// tag, the tags all
	// those lines carry (Telegraf's global tags such as site or role), the
	// host tag aside: a measurement's own tags (cpu, device, interface)
	// are not on every line, so they drop out.
	HostLabels map[string]map[string]string
}

// Rejected is the number of lines refused for any reason.
func (r *Result) Rejected() int {
	return r.RejectedSyntax + r.RejectedTooLong + r.RejectedNoField + r.RejectedLabel + r.RejectedTime + r.RejectedHost + r.RejectedNotAllowed
}

// Refused is the number of samples the store refused.
func (r *Result) Refused() int { return r.RefusedOutOfOrder + r.RefusedSeriesLimit + r.RefusedOther }

// Decoder turns line protocol into samples. It reuses its buffers, so a
// payload costs no allocation per line beyond the samples' labels; it is
// not safe for concurrent use (pool it).
type Decoder struct {
	tags        []tag
	fields      []field
	sb          labels.ScratchBuilder
	lset        labels.Labels  // reused for every sample (ScratchBuilder.Overwrite)
	base        []labels.Label // the line's labels but __name__, sorted
	arena       []byte         // this line's escaped tags and field keys; reset per line
	measurement []byte         // this line's measurement
	name        []byte         // the metric name being built
	names       []byte         // a line's metric names, for a LineAppender
	nameStrs    []string       // views of names
	values      []float64
	errs        []error
	body        []byte // the payload being decoded
	hostsSeen   map[string]struct{}
	hostsBad    map[string]error // hosts AdmitHost refused
	hostTags    map[string]*hostTags
	// hostTagsFree are hostTags of earlier payloads, to reuse.
	hostTagsFree []*hostTags
}

// hostTags are the tags common to a host's lines so far: its first
// line's tags (and host name and measurement) kept in one string, and a
// bit per tag still seen on every line (tags past the 64th are dropped).
type hostTags struct {
	host, measurement string
	tags              []tag
	keep              uint64
	mixed             bool // more than one measurement
}

// noteHostTags narrows host's common tags to those of the line just
// parsed. A new host costs a few allocations; a line none.
func (d *Decoder) noteHostTags(host, hostTag string) {
	if d.hostTags == nil {
		d.hostTags = map[string]*hostTags{}
	}
	ht := d.hostTags[host]
	if ht == nil {
		n := len(host) + len(d.measurement)
		for _, t := range d.tags {
			n += len(t.k) + len(t.v)
		}
		var b strings.Builder
		b.Grow(n)
		b.WriteString(host)
		b.Write(d.measurement)
		for _, t := range d.tags {
			if t.k != hostTag {
				b.WriteString(t.k)
				b.WriteString(t.v)
			}
		}
		all := b.String()
		if n := len(d.hostTagsFree); n > 0 {
			ht, d.hostTagsFree = d.hostTagsFree[n-1], d.hostTagsFree[:n-1]
		} else {
			ht = &hostTags{}
		}
		*ht = hostTags{host: all[:len(host)], measurement: all[len(host) : len(host)+len(d.measurement)], tags: ht.tags[:0]}
		at := len(host) + len(d.measurement)
		for _, t := range d.tags {
			if t.k != hostTag && len(ht.tags) < 64 {
				k := all[at : at+len(t.k)]
				v := all[at+len(t.k) : at+len(t.k)+len(t.v)]
				ht.keep |= 1 << len(ht.tags)
				ht.tags = append(ht.tags, tag{k, v})
			}
			if t.k != hostTag {
				at += len(t.k) + len(t.v)
			}
		}
		d.hostTags[ht.host] = ht
		return
	}
	if !ht.mixed && ht.measurement != string(d.measurement) {
		ht.mixed = true
	}
	for i, t := range ht.tags {
		if ht.keep&(1<<i) != 0 && !slices.Contains(d.tags, t) {
			ht.keep &^= 1 << i
		}
	}
}

type tag struct{ k, v string }

// field is one numeric field; its metric name (measurement_key) is only
// built when its labels are.
type field struct {
	key []byte
	v   float64
}

// Reasons a line is rejected, besides syntax, told apart with errors.Is.
var (
	errNoField     = errors.New("no field")
	errBadLabel    = errors.New("invalid tag")
	errOutOfWindow = errors.New("timestamp outside the accepted window")
	errHostRefused = errors.New("host refused")
	// errHostNotAllowed: the sender's token may not speak for the host
	// (admitHost wraps it in errHostRefused too).
	errHostNotAllowed = errors.New("host not allowed for this token")
)

// reasonError is a line's error that says why (errors.Is(err, reason))
// with its own message.
type reasonError struct {
	reason error
	err    error
}

func (e *reasonError) Error() string   { return e.err.Error() }
func (e *reasonError) Unwrap() []error { return []error{e.reason, e.err} }

// Decode parses body and appends every sample to app. Valid lines are
// kept even when others are bad. body may be modified (over-long lines are
// blanked out). With a nil app, Decode only parses and validates: the
// result counts lines and errors, and Points stays 0.
func (d *Decoder) Decode(body []byte, o DecodeOptions, app Appender) Result {
	var res Result
	d.prescan(body, o.MaxLineBytes, &res)
	d.body = body
	defer func() { d.body = nil }()
	if o.HostTag != "" {
		if d.hostsSeen == nil {
			d.hostsSeen = map[string]struct{}{}
		}
		clear(d.hostsSeen)
		clear(d.hostsBad)
		for _, ht := range d.hostTags {
			d.hostTagsFree = append(d.hostTagsFree, ht)
		}
		clear(d.hostTags)
	}
	dec := lineprotocol.NewDecoderWithBytes(body)
	logical := 0
	for dec.Next() {
		logical++
		res.Lines++
		ts, err := d.line(dec, o, &res)
		if err == nil && o.HostTag != "" && o.AdmitHost != nil {
			err = d.admitHost(o)
		}
		if err != nil {
			switch {
			case errors.Is(err, errNoField):
				res.RejectedNoField++
			case errors.Is(err, errBadLabel):
				res.RejectedLabel++
			case errors.Is(err, errOutOfWindow):
				res.RejectedTime++
			case errors.Is(err, errHostNotAllowed):
				res.RejectedNotAllowed++
			case errors.Is(err, errHostRefused):
				res.RejectedHost++
			default:
				res.RejectedSyntax++
			}
			if res.FirstErr == nil {
				res.FirstErr = lineError(err, body, logical)
			}
			continue
		}
		if app == nil {
			continue
		}
		// The tags and extra labels are the same for every field of the
		// line: sort them once, and slot each field's name in.
		d.base = d.base[:0]
		for _, t := range d.tags {
			d.base = append(d.base, labels.Label{Name: t.k, Value: t.v})
		}
		for _, l := range o.Extra {
			if !d.hasTag(l.Name) {
				d.base = append(d.base, l)
			}
		}
		slices.SortFunc(d.base, func(a, b labels.Label) int { return strings.Compare(a.Name, b.Name) })
		if la, ok := app.(LineAppender); ok {
			if len(d.fields) > 0 {
				d.appendLine(la, ts, logical, &res)
			}
		} else {
			d.appendSamples(app, ts, logical, &res)
		}
		if o.HostTag != "" {
			for _, t := range d.tags {
				if t.k == o.HostTag {
					if o.HostLabels {
						d.noteHostTags(t.v, o.HostTag)
					}
					if _, ok := d.hostsSeen[t.v]; !ok {
						host := strings.Clone(t.v) // t.v lives in the arena
						d.hostsSeen[host] = struct{}{}
						res.Hosts = append(res.Hosts, host)
					}
				}
			}
		}
	}
	for host, ht := range d.hostTags {
		if !ht.mixed || ht.keep == 0 {
			continue
		}
		if res.HostLabels == nil {
			res.HostLabels = map[string]map[string]string{}
		}
		common := map[string]string{}
		for i, t := range ht.tags {
			if ht.keep&(1<<i) != 0 {
				common[t.k] = t.v
			}
		}
		res.HostLabels[host] = common
	}
	res.Lines += res.RejectedTooLong
	return res
}

// appendLine hands the line just parsed (d.base, d.fields) to app at once.
func (d *Decoder) appendLine(app LineAppender, ts int64, logical int, res *Result) {
	d.names, d.nameStrs, d.values = d.names[:0], d.nameStrs[:0], d.values[:0]
	for _, f := range d.fields {
		// measurement_field, the naming rule of package wire.
		d.names = append(append(append(d.names, d.measurement...), '_'), f.key...)
		d.values = append(d.values, f.v)
	}
	// The views are taken once d.names no longer grows.
	at := 0
	for _, f := range d.fields {
		n := len(d.measurement) + 1 + len(f.key)
		d.nameStrs = append(d.nameStrs, unsafe.String(&d.names[at], n))
		at += n
	}
	if cap(d.errs) < len(d.fields) {
		d.errs = make([]error, len(d.fields))
	}
	errs := d.errs[:len(d.fields)]
	d.sb.Reset()
	for _, l := range d.base {
		d.sb.Add(l.Name, l.Value)
	}
	d.sb.Overwrite(&d.lset)
	app.AppendLine(d.lset, d.nameStrs, ts, d.values, errs)
	for i, err := range errs {
		d.count(err, res, logical, d.nameStrs[i], ts)
	}
	clear(errs)
}

// appendSamples hands the line just parsed to app sample by sample.
func (d *Decoder) appendSamples(app Appender, ts int64, logical int, res *Result) {
	at, _ := slices.BinarySearchFunc(d.base, model.MetricNameLabel, func(l labels.Label, name string) int { return strings.Compare(l.Name, name) })
	for _, f := range d.fields {
		// measurement_field, the naming rule of package wire.
		d.name = append(append(append(d.name[:0], d.measurement...), '_'), f.key...)
		d.sb.Reset()
		for _, l := range d.base[:at] {
			d.sb.Add(l.Name, l.Value)
		}
		d.sb.Add(model.MetricNameLabel, unsafe.String(unsafe.SliceData(d.name), len(d.name)))
		for _, l := range d.base[at:] {
			d.sb.Add(l.Name, l.Value)
		}
		d.sb.Overwrite(&d.lset)
		d.count(app.Append(d.lset, ts, f.v), res, logical, unsafe.String(unsafe.SliceData(d.name), len(d.name)), ts)
	}
}

// count records the outcome of one sample's append.
func (d *Decoder) count(err error, res *Result, logical int, name string, ts int64) {
	switch {
	case err == nil:
		res.Points++
		return
	case errors.Is(err, samples.ErrOutOfOrder):
		res.RefusedOutOfOrder++
	case errors.Is(err, samples.ErrTooMany), errors.Is(err, samples.ErrTooManyForTarget):
		res.RefusedSeriesLimit++
	default:
		res.RefusedOther++
	}
	if res.FirstRefused == nil {
		res.FirstRefused = fmt.Errorf("line %d: %s at %s: %w", physicalLine(d.body, logical), name, formatMillis(ts), err)
	}
}

// admitHost asks o.AdmitHost about the host of the line just parsed, once
// per host and payload, and returns the refusal of a refused one.
func (d *Decoder) admitHost(o DecodeOptions) error {
	for _, t := range d.tags {
		if t.k != o.HostTag {
			continue
		}
		if _, ok := d.hostsSeen[t.v]; ok {
			return nil
		}
		if err, ok := d.hostsBad[t.v]; ok {
			return err
		}
		if err := o.AdmitHost(t.v); err != nil {
			if d.hostsBad == nil {
				d.hostsBad = map[string]error{}
			}
			err = &reasonError{errHostRefused, err}
			d.hostsBad[strings.Clone(t.v)] = err
			return err
		}
	}
	return nil
}

// prescan turns lines longer than max into comments, so the decoder skips
// them, and counts them as rejected. It is a memchr-speed pass.
func (d *Decoder) prescan(body []byte, max int, res *Result) {
	if max <= 0 {
		return
	}
	lineNo := 0
	for start := 0; start < len(body); {
		lineNo++
		end := bytes.IndexByte(body[start:], '\n')
		if end < 0 {
			end = len(body)
		} else {
			end += start
		}
		if end-start > max {
			body[start] = '#'
			res.RejectedTooLong++
			if res.FirstErr == nil {
				res.FirstErr = fmt.Errorf("line %d: line is %d bytes, longer than the limit of %d", lineNo, end-start, max)
			}
		}
		start = end + 1
	}
}

// physicalLine finds the line number of the logical-th line the decoder
// read (it skips blank lines and comments). Only called on errors.
func physicalLine(body []byte, logical int) int {
	lineNo, seen := 0, 0
	for start := 0; start < len(body); {
		lineNo++
		end := bytes.IndexByte(body[start:], '\n')
		if end < 0 {
			end = len(body)
		} else {
			end += start
		}
		trimmed := bytes.TrimRight(bytes.TrimLeft(body[start:end], " \t\r"), "\r")
		if len(trimmed) > 0 && trimmed[0] != '#' {
			if seen++; seen == logical {
				return lineNo
			}
		}
		start = end + 1
	}
	return logical
}

func (d *Decoder) hasTag(name string) bool {
	for _, t := range d.tags {
		if t.k == name {
			return true
		}
	}
	return false
}

// line reads one line into d.tags and d.fields and returns its timestamp
// in milliseconds.
func (d *Decoder) line(dec *lineprotocol.Decoder, o DecodeOptions, res *Result) (int64, error) {
	d.tags, d.fields, d.arena = d.tags[:0], d.fields[:0], d.arena[:0]
	strs := 0 // string fields, counted in res.Ignored once the line is valid
	m, err := dec.Measurement()
	if err != nil {
		return 0, err
	}
	d.measurement = d.keep(m) // the decoder may reuse m's memory on the next call
	for {
		k, v, err := dec.NextTag()
		if err != nil {
			return 0, err
		}
		if k == nil {
			break
		}
		if len(v) == 0 {
			continue
		}
		t := tag{d.view(k), d.view(v)}
		if err := d.checkTag(t, o.HostTag); err != nil {
			return 0, &reasonError{errBadLabel, err}
		}
		if len(d.tags) == MaxLineTags {
			return 0, &reasonError{errBadLabel, fmt.Errorf("more than %d tags", MaxLineTags)}
		}
		d.tags = append(d.tags, t)
	}
	for {
		// The raw bytes, parsed here: plain decimals take an exact fast
		// path (see parseFloat), and string values are never validated
		// only to be ignored.
		k, kind, raw, err := dec.NextFieldBytes()
		if err != nil {
			return 0, err
		}
		if k == nil {
			break
		}
		var f float64
		switch kind {
		case lineprotocol.Float:
			f, err = parseFloat(raw)
		case lineprotocol.Int:
			var n int64
			n, err = parseInt(raw)
			f = float64(n)
		case lineprotocol.Uint:
			var n uint64
			n, err = parseUint(raw)
			f = float64(n)
		case lineprotocol.Bool:
			var b bool
			b, err = parseBool(raw)
			if b {
				f = 1
			}
		default:
			strs++
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("field %q: invalid %s value %q", k, kindName(kind), raw)
		}
		d.fields = append(d.fields, field{key: d.keep(k), v: f})
	}
	var ts int64
	if p, ok := lpPrecision(o.Precision); ok {
		t, err := dec.Time(p, o.Now)
		if err != nil {
			return 0, err
		}
		ts = t.UnixMilli()
	} else { // minutes and hours, which the decoder does not know
		tb, err := dec.TimeBytes()
		if err != nil {
			return 0, err
		}
		if ts, err = timestamp(tb, o.Precision, o.Now); err != nil {
			return 0, err
		}
	}
	if len(d.fields) == 0 && strs == 0 {
		return 0, errNoField
	}
	// Senders usually write tags sorted (InfluxDB asks them to): check in
	// one pass, and sort only when they are not.
	for i := 1; i < len(d.tags); i++ {
		if d.tags[i].k <= d.tags[i-1].k {
			slices.SortFunc(d.tags, func(a, b tag) int { return strings.Compare(a.k, b.k) })
			for j := 1; j < len(d.tags); j++ {
				if d.tags[j].k == d.tags[j-1].k {
					return 0, fmt.Errorf("duplicate tag %q", d.tags[j].k)
				}
			}
			break
		}
	}
	if err := inWindow(ts, o); err != nil {
		return 0, &reasonError{errOutOfWindow, err}
	}
	res.Ignored += strs
	return ts, nil
}

// checkTag is checkTag but for the host tag of a host already seen in
// the payload, which is known to be valid.
func (d *Decoder) checkTag(t tag, hostTag string) error {
	if hostTag != "" && t.k == hostTag {
		if _, ok := d.hostsSeen[t.v]; ok {
			return nil
		}
	}
	return checkTag(t, hostTag)
}

// checkTag checks a tag that becomes a label (and, for hostTag, a
// target).
func checkTag(t tag, hostTag string) error {
	if err := checkTagKey(t.k); err != nil {
		return err
	}
	if hostTag != "" && t.k == hostTag {
		if err := checkHostname(t.v); err != nil {
			return fmt.Errorf("tag %s is not a valid hostname: %w", t.k, err)
		}
		return nil
	}
	if err := checkLabelValue(t.v); err != nil {
		return fmt.Errorf("tag %s: %w", t.k, err)
	}
	return nil
}

// inWindow checks a line's timestamp (Unix milliseconds) against
// o.MaxAge and o.MaxAhead.
func inWindow(ts int64, o DecodeOptions) error {
	now := o.Now.UnixMilli()
	if o.MaxAhead > 0 && ts > now+o.MaxAhead.Milliseconds() {
		return fmt.Errorf("timestamp %s is more than %s ahead of the collector's clock (%s)", formatMillis(ts), o.MaxAhead, formatMillis(now))
	}
	if o.MaxAge > 0 && ts < now-o.MaxAge.Milliseconds() {
		return fmt.Errorf("timestamp %s is older than %s, the recent window (collector's clock %s)", formatMillis(ts), o.MaxAge, formatMillis(now))
	}
	return nil
}

// formatMillis renders Unix milliseconds for an error message.
func formatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

func kindName(k lineprotocol.ValueKind) string {
	switch k {
	case lineprotocol.Float:
		return "float"
	case lineprotocol.Int:
		return "integer"
	case lineprotocol.Uint:
		return "unsigned integer"
	case lineprotocol.Bool:
		return "boolean"
	}
	return "string"
}

// keep returns b, or a copy of it in the line's arena when b is not part
// of the payload itself: the line-protocol decoder returns unescaped
// values in its own buffer, which its next call overwrites.
func (d *Decoder) keep(b []byte) []byte {
	if len(b) == 0 || d.inBody(b) {
		return b
	}
	start := len(d.arena)
	d.arena = append(d.arena, b...)
	return d.arena[start:len(d.arena):len(d.arena)]
}

// inBody reports whether b lies within the payload.
func (d *Decoder) inBody(b []byte) bool {
	if len(d.body) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(d.body)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(d.body))
}

// view returns b as a string without copying when it is part of the
// payload (which outlives the decode), and otherwise copies it into the
// line's arena. Either way the string is only used to build the line's
// labels, which copy it.
func (d *Decoder) view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	c := d.keep(b)
	return unsafe.String(&c[0], len(c))
}

// timestamp converts a line's timestamp in unit to Unix milliseconds.
func timestamp(b []byte, unit time.Duration, now time.Time) (int64, error) {
	if len(b) == 0 {
		return now.UnixMilli(), nil
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid timestamp %q", b)
	}
	switch {
	case unit >= time.Millisecond:
		f := int64(unit / time.Millisecond)
		if v > math.MaxInt64/f || v < math.MinInt64/f {
			return 0, fmt.Errorf("timestamp %d out of range", v)
		}
		return v * f, nil
	default:
		return v / int64(time.Millisecond/unit), nil
	}
}

// lineError names the payload line of a decode error.
func lineError(err error, body []byte, logical int) error {
	var de *lineprotocol.DecodeError
	if errors.As(err, &de) {
		return fmt.Errorf("line %d: %w", de.Line, de.Err)
	}
	return fmt.Errorf("line %d: %w", physicalLine(body, logical), err)
}

func lpPrecision(unit time.Duration) (lineprotocol.Precision, bool) {
	switch unit {
	case time.Nanosecond:
		return lineprotocol.Nanosecond, true
	case time.Microsecond:
		return lineprotocol.Microsecond, true
	case time.Millisecond:
		return lineprotocol.Millisecond, true
	case time.Second:
		return lineprotocol.Second, true
	}
	return 0, false
}

// ParsePrecision maps InfluxDB's precision parameter to a unit. Empty
// means nanoseconds, as InfluxDB does.
func ParsePrecision(s string) (time.Duration, error) {
	switch s {
	case "", "n", "ns":
		return time.Nanosecond, nil
	case "u", "us", "µ":
		return time.Microsecond, nil
	case "ms":
		return time.Millisecond, nil
	case "s":
		return time.Second, nil
	case "m":
		return time.Minute, nil
	case "h":
		return time.Hour, nil
	}
	return 0, fmt.Errorf("invalid precision %q (want ns, us, ms, s, m or h)", s)
}
