// Command benchjson turns the output of `go test -bench Ops` into one JSON
// line per operation and language, for the cross-language benchmark harness:
//
//	{"lang":"go","op":"read","ns_per_op":123.4}
//
// With -count > 1 each figure is the median of the runs, which resists the
// noise of a shared machine better than a mean. Variants other than "go" and
// "c" (such as go_alloc) are summarised on stderr only.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
)

// BenchmarkOps/read/go-2   1870428   646.3 ns/op   512.0 cpu-ns/op ...
var (
	line = regexp.MustCompile(`^BenchmarkOps/([A-Za-z0-9_]+)/([A-Za-z0-9_]+)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op`)
	cpu  = regexp.MustCompile(`\s([0-9.]+) cpu-ns/op`)
)

var ops = []string{"read", "upsert", "get_recent_sessions"}

func main() {
	runs := map[[2]string][]float64{} // {op, lang} -> ns/op of each run
	cpuRuns := map[[2]string][]float64{}
	var langs []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
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
		if !slices.Contains(langs, m[2]) {
			langs = append(langs, m[2])
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "benchjson:", err)
		os.Exit(1)
	}
	missing := false
	for _, op := range ops {
		for _, lang := range []string{"go", "c"} {
			v, ok := median(runs[[2]string{op, lang}])
			if !ok {
				fmt.Fprintf(os.Stderr, "benchjson: no result for %s/%s\n", op, lang)
				missing = true
				continue
			}
			fmt.Printf("{\"lang\":%q,\"op\":%q,\"ns_per_op\":%.1f}\n", lang, op, v)
		}
	}
	// A readable summary: the binding's overhead per op, other variants, and
	// the process CPU time per op, which other processes disturb less.
	for _, op := range ops {
		c, okc := median(runs[[2]string{op, "c"}])
		cc, _ := median(cpuRuns[[2]string{op, "c"}])
		for _, lang := range langs {
			if lang == "c" {
				continue
			}
			key := [2]string{op, lang}
			v, ok := median(runs[key])
			vc, _ := median(cpuRuns[key])
			if ok && okc {
				fmt.Fprintf(os.Stderr, "# %-20s %-9s %7.1f ns/op vs C %7.1f: %+7.1f | cpu %7.1f vs %7.1f: %+7.1f | %d runs\n",
					op, lang, v, c, v-c, vc, cc, vc-cc, len(runs[key]))
			}
		}
	}
	if missing {
		os.Exit(1)
	}
}

func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}
