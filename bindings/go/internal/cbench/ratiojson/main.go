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
// in the benchmark names); both are compared with the same C read. A summary
// with the process CPU time ratios goes to stderr.
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
	if missing {
		os.Exit(1)
	}
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
