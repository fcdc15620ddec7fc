//! What the bench programs share: their arguments and the workload's files. Those of src/bin include
//! it with `#[path = "../cli.rs"] mod cli;` (separate binaries of one package, with no library).

/// The value after `--name` on the command line.
#[allow(dead_code)] // ss-bench-rust and ss-alloc-stats parse their own
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// The non-empty lines of a workload file (one session or id each).
#[allow(dead_code)] // not every program reads whole files
pub fn lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Calls `each` with the non-empty lines of a workload file, streamed (the programs that load 1M
/// sessions do not hold the file as well), until it returns false; returns how many lines it was given
/// and their bytes, newlines left out.
#[allow(dead_code)] // not every program streams
pub fn each_line(path: &str, mut each: impl FnMut(&[u8]) -> bool) -> (usize, usize) {
    use std::io::BufRead;
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(1 << 16);
    let (mut count, mut bytes) = (0, 0);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).unwrap_or_else(|e| panic!("{path}: {e}")) == 0 {
            return (count, bytes);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if !line.is_empty() {
            count += 1;
            bytes += line.len();
            if !each(&line) {
                return (count, bytes);
            }
        }
    }
}

/// How many writes to make after loading `sessions`, so that what is measured next starts from a
/// store that has finished growing: a store moves its hash tables' entries out of the tables they
/// outgrew 8 per write (src/incremental_table.rs), and a load can end with a move under way (the
/// load's own figures, in ss-mixed-load's "growth" row, include those moves). The programs write the
/// first session again that many times: writing that many different sessions again scattered their
/// records, and a listing of 10k sessions' ids took 15% longer.
#[allow(dead_code)] // not every program loads a store to measure it
pub fn settling_writes(sessions: usize) -> usize {
    sessions / 8 + 1
}
