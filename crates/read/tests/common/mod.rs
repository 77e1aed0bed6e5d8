//! Helpers shared by the read crate's integration tests.

use std::path::PathBuf;

/// `../shared/data/<sub>` beside the workspace, or `None` with a note when
/// it is absent. CI (`.ci/run`) sets `FERRET_REQUIRE_SHARED_DATA`, and then
/// a missing data set fails the test instead of skipping it.
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(sub);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("FERRET_REQUIRE_SHARED_DATA").is_none(),
        "{} not found and FERRET_REQUIRE_SHARED_DATA is set",
        path.display()
    );
    eprintln!("skipping: ../shared/data not found");
    None
}
