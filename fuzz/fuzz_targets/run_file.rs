#![no_main]
//! See fuzz/README.md; the properties live in fuzz/checks.rs.

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_run_file(data));
