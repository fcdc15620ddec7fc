//! What the bench programs of src/bin share: their arguments and the workload's files. Each includes
//! it with `#[path = "../cli.rs"] mod cli;` (they are separate binaries of one package, with no library).

/// The value after `--name` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// The non-empty lines of a workload file (one session or id each).
#[allow(dead_code)] // ss-durable-peers reads its sessions differently
pub fn lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}
