// Each test binary includes this module and uses only part of it.
#![allow(dead_code)]

//! Helpers shared by the app's integration tests.

use std::path::{Path, PathBuf};

/// `../shared/data` (beside the repository), or `None` with a message when
/// it is absent. CI sets `FERRET_REQUIRE_SHARED_DATA`, and then a missing
/// folder fails the test instead of skipping it.
pub fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var_os("FERRET_REQUIRE_SHARED_DATA").is_none(), "../shared/data is required but missing");
    eprintln!("skipping: ../shared/data not found");
    None
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
