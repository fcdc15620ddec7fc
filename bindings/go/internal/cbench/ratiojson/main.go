// Command ratiojson turns the output of `go test -bench Ops -count N` into
// JSON lines for the cross-language benchmark harness: each Go figure as a
// ratio to C measured in the same run. With -count N, go test runs
// BenchmarkOps N times, each time the Go variants of an op and then its C
// loop (comparison/c/baseline.h), so the k-th Go run and the k-th C run of an
// op form one repetition; the ratio of each repetition is taken, and its
// min/median/max over the N repetitions reported (N must be at least 5):
//
//	{"lang":"go","info":true,"cpu":"AMD EPYC","loadavg_start":"0.50 0.40 0.30","loadavg_end":"...","reps":7,...}
//	{"lang":"go","op":"read","ns_per_op":193.1,"c_op":"read","c_ns_per_op":167.2,
//	 "ratio_min":1.10,"ratio_median":1.15,"ratio_max":1.31,"reps":7}
//	{"lang":"go","op":"read_alloc",...}
//	{"lang":"c","op":"read","ns_per_op":167.2,"min_ns":160.0,"max_ns":180.3,"reps":7}
//
// ns_per_op is the median over the repetitions. "read" is the Append method
// with a buffer kept across calls, "read_alloc" the allocating one (go_alloc
// in the benchmark names); both are compared with the same C read. "read" is
// also compared with C read_buf (ss_read_into a caller buffer, what the
// Append method does when the buffer has room). Lines with "floor":true give
// the cost of a bare cgo call (a C no-op, and ss_version) from Go minus the
// same call from C, and read_floor the ratio (C read + that cost) / C read,
// below which no binding making one cgo call per read can go. A summary with
// the process CPU time ratios goes to stderr.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// minReps is SSB_MIN_REPS of comparison/c/baseline.h.
const minReps = 5

// BenchmarkOps/read/go-2   1870428   646.3 ns/op   512.0 cpu-ns/op ...
var (
	line     = regexp.MustCompile(`^BenchmarkOps/([A-Za-z0-9_]+)/([A-Za-z0-9_]+)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op`)
	cpu      = regexp.MustCompile(`\s([0-9.]+) cpu-ns/op`)
	baseline = regexp.MustCompile(`^baseline: (\{.*\})\s*$`)
)

var ops = []string{"read", "upsert", "get_recent_sessions"}

// variants: the benchmark's sub-benchmark name and the op name it is reported as.
var variants = []struct{ bench, suffix string }{{"go", ""}, {"go_alloc", "_alloc"}}

type spread struct{ min, median, max float64 }

func main() {
	runs := map[[2]string][]float64{} // {op, variant} -> ns/op of each run, in order
	cpuRuns := map[[2]string][]float64{}
	var cond struct {
		CPU         string `json:"cpu"`
		LoadAvg     string `json:"loadavg"`
		Fingerprint string `json:"fingerprint"`
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if m := baseline.FindStringSubmatch(sc.Text()); m != nil {
			_ = json.Unmarshal([]byte(m[1]), &cond)
			continue
		}
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		key := [2]string{m[1], m[2]}
		runs[key] = append(runs[key], ns)
		if c := cpu.FindStringSubmatch(sc.Text()); c != nil {
			if v, err := strconv.ParseFloat(c[1], 64); err == nil {
				cpuRuns[key] = append(cpuRuns[key], v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "ratiojson:", err)
		os.Exit(1)
	}
	reps := -1
	for _, xs := range runs {
		if reps < 0 || len(xs) < reps {
			reps = len(xs)
		}
	}
	if reps < minReps {
		fmt.Fprintf(os.Stderr, "ratiojson: %d repetitions of some benchmark, at least %d needed (BENCH_COUNT)\n", max(reps, 0), minReps)
		os.Exit(1)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	loadEnd := strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " ")
	info, _ := json.Marshal(map[string]any{"lang": "go", "info": true, "cpu": cond.CPU, "loadavg_start": cond.LoadAvg,
		"loadavg_end": loadEnd, "fingerprint": cond.Fingerprint, "reps": reps,
		"order": "per repetition: go, go_alloc, then c, for each op"})
	fmt.Println(string(info))

	missing := false
	var summary []string
	for _, op := range ops {
		c := runs[[2]string{op, "c"}]
		if len(c) == 0 {
			fmt.Fprintf(os.Stderr, "ratiojson: no result for %s/c\n", op)
			missing = true
			continue
		}
		c = c[:reps]
		cMed := spreadOf(c)
		for _, v := range variants {
			g := runs[[2]string{op, v.bench}]
			if len(g) == 0 {
				fmt.Fprintf(os.Stderr, "ratiojson: no result for %s/%s\n", op, v.bench)
				missing = true
				continue
			}
			g = g[:reps]
			ratios := make([]float64, reps)
			for k := range reps {
				ratios[k] = g[k] / c[k]
			}
			r := spreadOf(ratios)
			fmt.Printf("{\"lang\":\"go\",\"op\":%q,\"ns_per_op\":%.1f,\"c_op\":%q,\"c_ns_per_op\":%.1f,"+
				"\"ratio_min\":%.3f,\"ratio_median\":%.3f,\"ratio_max\":%.3f,\"reps\":%d}\n",
				op+v.suffix, spreadOf(g).median, op, cMed.median, r.min, r.median, r.max, reps)
			text := fmt.Sprintf("# %-26s %7.1f ns vs C %7.1f ns: ratio %.2f (min %.2f, max %.2f)",
				op+v.suffix, spreadOf(g).median, cMed.median, r.median, r.min, r.max)
			if gc, cc := cpuRuns[[2]string{op, v.bench}], cpuRuns[[2]string{op, "c"}]; len(gc) >= reps && len(cc) >= reps {
				cr := make([]float64, reps)
				for k := range reps {
					cr[k] = gc[k] / cc[k]
				}
				text += fmt.Sprintf(" | cpu-time ratio %.2f", spreadOf(cr).median)
			}
			summary = append(summary, text)
		}
		fmt.Printf("{\"lang\":\"c\",\"op\":%q,\"ns_per_op\":%.1f,\"min_ns\":%.1f,\"max_ns\":%.1f,\"reps\":%d}\n",
			op, cMed.median, cMed.min, cMed.max, reps)
	}
	fmt.Fprintf(os.Stderr, "# %s; load average %s at start, %s at end; %d alternating repetitions\n",
		cond.CPU, cond.LoadAvg, loadEnd, reps)
	for _, s := range summary {
		fmt.Fprintln(os.Stderr, s)
	}
	// The same Go read against the C read into a caller buffer (ss_read_into),
	// which is what AppendReadJSON does when the buffer has room.
	if g, c := runs[[2]string{"read", "go"}], runs[[2]string{"read", "c_buf"}]; len(g) >= reps && len(c) >= reps {
		r := ratiosOf(g[:reps], c[:reps])
		fmt.Printf("{\"lang\":\"go\",\"op\":\"read\",\"ns_per_op\":%.1f,\"c_op\":\"read_buf\",\"c_ns_per_op\":%.1f,"+
			"\"ratio_min\":%.3f,\"ratio_median\":%.3f,\"ratio_max\":%.3f,\"reps\":%d}\n",
			spreadOf(g[:reps]).median, spreadOf(c[:reps]).median, r.min, r.median, r.max, reps)
		fmt.Fprintf(os.Stderr, "# %-26s %7.1f ns vs C %7.1f ns: ratio %.2f (min %.2f, max %.2f)\n",
			"read vs C read_buf", spreadOf(g[:reps]).median, spreadOf(c[:reps]).median, r.median, r.min, r.max)
	}
	// The floor: a bare cgo call (a C no-op) and ss_version, once per operation
	// from Go, against the same calls in a C loop; and the ratio to C that a
	// binding making one such call per read could not go below,
	// (C read + bare cgo call) / C read, per repetition.
	for _, op := range []string{"cgo_noop", "cgo_version"} {
		g, c := runs[[2]string{op, "go"}], runs[[2]string{op, "c"}]
		if len(g) < reps || len(c) < reps {
			continue
		}
		g, c = g[:reps], c[:reps]
		over := make([]float64, reps)
		for k := range reps {
			over[k] = g[k] - c[k]
		}
		o := spreadOf(over)
		fmt.Printf("{\"lang\":\"go\",\"op\":%q,\"floor\":true,\"ns_per_op\":%.1f,\"c_ns_per_op\":%.1f,"+
			"\"overhead_ns_min\":%.1f,\"overhead_ns_median\":%.1f,\"overhead_ns_max\":%.1f,\"reps\":%d}\n",
			op, spreadOf(g).median, spreadOf(c).median, o.min, o.median, o.max, reps)
		line := fmt.Sprintf("# %-26s %7.1f ns from Go vs %5.1f ns from C: %.1f ns per cgo call (min %.1f, max %.1f)",
			op, spreadOf(g).median, spreadOf(c).median, o.median, o.min, o.max)
		if op == "cgo_noop" {
			for _, base := range []string{"c", "c_buf"} {
				cr := runs[[2]string{"read", base}]
				if len(cr) < reps {
					continue
				}
				fl := make([]float64, reps)
				for k := range reps {
					fl[k] = (cr[k] + over[k]) / cr[k]
				}
				f := spreadOf(fl)
				name := map[string]string{"c": "read", "c_buf": "read_buf"}[base]
				fmt.Printf("{\"lang\":\"go\",\"op\":\"read_floor\",\"floor\":true,\"c_op\":%q,"+
					"\"ratio_min\":%.3f,\"ratio_median\":%.3f,\"ratio_max\":%.3f,\"reps\":%d}\n",
					name, f.min, f.median, f.max, reps)
				line += fmt.Sprintf("\n#   floor ratio for read vs C %s: (C + cgo call) / C = %.2f (min %.2f, max %.2f)",
					name, f.median, f.min, f.max)
			}
		}
		fmt.Fprintln(os.Stderr, line)
	}
	if missing {
		os.Exit(1)
	}
}

func ratiosOf(g, c []float64) spread {
	r := make([]float64, len(g))
	for k := range g {
		r[k] = g[k] / c[k]
	}
	return spreadOf(r)
}

func spreadOf(xs []float64) spread {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return spread{s[0], med, s[n-1]}
}
