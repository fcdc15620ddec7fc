//! The C ABI. Every function here runs behind `panic::guard`; every pointer is handled in `ptr`.
//! cbindgen turns these items and their doc comments into `include/sessionstore.h`.

mod feed;
mod listing;
mod panic;
mod ptr;
mod sessions;
mod status;
mod store;
mod transfer;

pub use feed::*;
pub use listing::*;
pub use sessions::*;
pub use status::*;
pub use store::*;
pub use transfer::*;

use std::ffi::c_char;

/// Major version of this header; `ss_version()` gives the library's at run time.
pub const SS_VERSION_MAJOR: u32 = 0;
/// Minor version of this header.
pub const SS_VERSION_MINOR: u32 = 4;
/// Patch version of this header.
pub const SS_VERSION_PATCH: u32 = 0;
/// MAJOR * 1000000 + MINOR * 1000 + PATCH, for compile-time comparisons.
pub const SS_VERSION_NUMBER: u32 = 4000;

/// The library's version as static text, e.g. "0.3.0", equal to SS_VERSION_STRING of the header it
/// was built with. Compare the two to detect a header and library that do not match. Never NULL; do not
/// free. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn ss_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Frees a string this library returned (any `out_json` or `out_error`). NULL is a no-op.
/// Freeing a string twice, or one that did not come from this library, is undefined behaviour.
/// Thread-safe.
///
/// # Safety
/// Every pointer argument is NULL or valid as described above; a store handle is one that
/// ss_store_open() or ss_store_share() returned and that has not been closed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ss_string_free(s: *mut c_char) {
    // SAFETY: the caller keeps the contract stated under # Safety.
    unsafe {
        panic::guard_void(|| ptr::free_string(s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_version_constants_follow_the_crate_version() {
        let parts: Vec<u32> = env!("CARGO_PKG_VERSION").split('.').map(|p| p.parse().unwrap()).collect();
        assert_eq!(parts, [SS_VERSION_MAJOR, SS_VERSION_MINOR, SS_VERSION_PATCH]);
        assert_eq!(
            SS_VERSION_NUMBER,
            SS_VERSION_MAJOR * 1_000_000 + SS_VERSION_MINOR * 1000 + SS_VERSION_PATCH
        );
        let cbindgen_toml = include_str!("../../cbindgen.toml");
        let define = format!("#define SS_VERSION_STRING \"{}\"", env!("CARGO_PKG_VERSION"));
        assert!(cbindgen_toml.contains(&define), "cbindgen.toml must carry {define}");
    }
}
