//! `sessionstore-header OUT`: generates the C header from the crate two directories up (its `src/ffi`
//! items and `cbindgen.toml`) and writes it to OUT.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(out) = std::env::args_os().nth(1) else {
        eprintln!("usage: sessionstore-header OUT.h");
        return ExitCode::FAILURE;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let config = match cbindgen::Config::from_file(root.join("cbindgen.toml")) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("sessionstore-header: cbindgen.toml: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cbindgen::Builder::new().with_crate(&root).with_config(config).generate() {
        Ok(bindings) => {
            bindings.write_to_file(out);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sessionstore-header: {e}");
            ExitCode::FAILURE
        }
    }
}
