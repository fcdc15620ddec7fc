// Command ratiojson turns the output of the Go binding's TestRatios (`make
// bench`) into JSON lines for the cross-language benchmark harness: each Go
// figure as a ratio to C measured in the same run. TestRatios makes rounds in
// which every variant of an op runs in turn (the Go variants and the op's C
// loop, comparison/c/baseline.h); the ratio of each round is taken, and its
// min/median/max over the rounds reported (at least 5 rounds):
//
//	{"lang":"go","info":true,"cpu":"AMD EPYC","loadavg_start":"0.50 0.40 0.30","loadavg_end":"...","reps":25,...}
//	{"lang":"go","op":"read","ns_per_op":193.1,"c_op":"read","c_ns_per_op":167.2,
//	 "ratio_min":1.10,"ratio_median":1.15,"ratio_max":1.31,"reps":25}
//	{"lang":"go","op":"read_alloc",...}
//	{"lang":"c","op":"read","ns_per_op":167.2,"min_ns":160.0,"max_ns":180.3,"reps":25}
//
// ns_per_op is the median over the rounds. "read" is the Append method with a
// buffer kept across calls, "read_alloc" the allocating one; both are compared
// with the same C read. "read" is also compared with C read_buf (ss_read_into
// a caller buffer, what the Append method does when the buffer has room).
// Lines with "floor":true give what no binding making one cgo call per read
// can go below: floor_read_cgo, ss_read_into called once per operation through
// cgo with nothing of the binding around it, as a ratio to both C reads; and
// the cost of a bare cgo call (a C no-op, and ss_version) from Go minus the
// same call from C. A readable summary goes to stderr.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// minRounds is SSB_MIN_REPS of comparison/c/baseline.h.
const minRounds = 5

type round struct {
	Op      string  `json:"op"`
	Variant string  `json:"variant"`
	Round   int     `json:"round"`
	NsPerOp float64 `json:"ns_per_op"`
}

type spread struct{ min, median, max float64 }

// times holds, for each {op, variant}, ns/op by round number.
type times map[[2]string]map[int]float64

// paired returns the rounds in which both a and b ran, as two aligned slices.
func (t times) paired(a, b [2]string) (x, y []float64) {
	for r, v := range t[a] {
		if w, ok := t[b][r]; ok {
			x, y = append(x, v), append(y, w)
		}
	}
	return x, y
}

func main() {
	t := times{}
	var cond struct {
		CPU         string `json:"cpu"`
		LoadAvg     string `json:"loadavg"`
		Fingerprint string `json:"fingerprint"`
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		text := sc.Text()
		if rest, ok := strings.CutPrefix(text, "baseline: "); ok {
			_ = json.Unmarshal([]byte(rest), &cond)
			continue
		}
		rest, ok := strings.CutPrefix(text, "round: ")
		if !ok {
			continue
		}
		var r round
		if err := json.Unmarshal([]byte(rest), &r); err != nil {
			fmt.Fprintf(os.Stderr, "ratiojson: %v in %q\n", err, text)
			os.Exit(1)
		}
		key := [2]string{r.Op, r.Variant}
		if t[key] == nil {
			t[key] = map[int]float64{}
		}
		t[key][r.Round] = r.NsPerOp
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "ratiojson:", err)
		os.Exit(1)
	}
	rounds := -1
	for _, byRound := range t {
		if rounds < 0 || len(byRound) < rounds {
			rounds = len(byRound)
		}
	}
	if rounds < minRounds {
		fmt.Fprintf(os.Stderr, "ratiojson: %d rounds of some variant, at least %d needed (BENCH_ROUNDS)\n",
			max(rounds, 0), minRounds)
		os.Exit(1)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fields := strings.Fields(string(load))
	loadEnd := strings.Join(fields[:min(3, len(fields))], " ")
	info, _ := json.Marshal(map[string]any{"lang": "go", "info": true, "cpu": cond.CPU, "loadavg_start": cond.LoadAvg,
		"loadavg_end": loadEnd, "fingerprint": cond.Fingerprint, "reps": rounds,
		"order": "rounds of a few ms per variant: every variant of an op in turn, the order rotating from round to round"})
	fmt.Println(string(info))

	missing := false
	var summary []string
	ratio := func(name, variant, op, cVariant, cName string, floor bool) {
		g, c := t.paired([2]string{op, variant}, [2]string{op, cVariant})
		if len(g) == 0 {
			fmt.Fprintf(os.Stderr, "ratiojson: no rounds of %s/%s with %s/%s\n", op, variant, op, cVariant)
			missing = true
			return
		}
		r := ratiosOf(g, c)
		fl := ""
		if floor {
			fl = `"floor":true,`
		}
		fmt.Printf("{\"lang\":\"go\",\"op\":%q,%s\"ns_per_op\":%.1f,\"c_op\":%q,\"c_ns_per_op\":%.1f,"+
			"\"ratio_min\":%.3f,\"ratio_median\":%.3f,\"ratio_max\":%.3f,\"reps\":%d}\n",
			name, fl, spreadOf(g).median, cName, spreadOf(c).median, r.min, r.median, r.max, len(g))
		label := name
		if cName != op {
			label += " vs C " + cName
		}
		summary = append(summary, fmt.Sprintf("# %-30s %7.1f ns vs C %7.1f ns: ratio %.2f (min %.2f, max %.2f)",
			label, spreadOf(g).median, spreadOf(c).median, r.median, r.min, r.max))
	}
	for _, op := range []string{"read", "upsert", "get_recent_sessions"} {
		ratio(op, "go", op, "c", op, false)
		ratio(op+"_alloc", "go_alloc", op, "c", op, false)
		c := spreadOf(values(t[[2]string{op, "c"}]))
		fmt.Printf("{\"lang\":\"c\",\"op\":%q,\"ns_per_op\":%.1f,\"min_ns\":%.1f,\"max_ns\":%.1f,\"reps\":%d}\n",
			op, c.median, c.min, c.max, len(t[[2]string{op, "c"}]))
	}
	ratio("read", "go", "read", "c_buf", "read_buf", false)
	ratio("floor_read_cgo", "floor_cgo", "read", "c", "read", true)
	ratio("floor_read_cgo", "floor_cgo", "read", "c_buf", "read_buf", true)
	for _, op := range []string{"cgo_noop", "cgo_version"} {
		g, c := t.paired([2]string{op, "go"}, [2]string{op, "c"})
		if len(g) == 0 {
			fmt.Fprintf(os.Stderr, "ratiojson: no rounds of %s\n", op)
			missing = true
			continue
		}
		over := make([]float64, len(g))
		for k := range g {
			over[k] = g[k] - c[k]
		}
		o := spreadOf(over)
		fmt.Printf("{\"lang\":\"go\",\"op\":%q,\"floor\":true,\"ns_per_op\":%.1f,\"c_ns_per_op\":%.1f,"+
			"\"overhead_ns_min\":%.1f,\"overhead_ns_median\":%.1f,\"overhead_ns_max\":%.1f,\"reps\":%d}\n",
			op, spreadOf(g).median, spreadOf(c).median, o.min, o.median, o.max, len(g))
		summary = append(summary, fmt.Sprintf("# %-30s %7.1f ns from Go vs %5.1f ns from C: %.1f ns per cgo call "+
			"(min %.1f, max %.1f)", op, spreadOf(g).median, spreadOf(c).median, o.median, o.min, o.max))
	}
	fmt.Fprintf(os.Stderr, "# %s; load average %s at start, %s at end; %d rounds\n", cond.CPU, cond.LoadAvg, loadEnd,
		rounds)
	for _, s := range summary {
		fmt.Fprintln(os.Stderr, s)
	}
	if missing {
		os.Exit(1)
	}
}

func values(m map[int]float64) []float64 {
	out := make([]float64, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func ratiosOf(g, c []float64) spread {
	r := make([]float64, len(g))
	for k := range g {
		r[k] = g[k] / c[k]
	}
	return spreadOf(r)
}

func spreadOf(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return spread{s[0], med, s[n-1]}
}
