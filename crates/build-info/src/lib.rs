//! What `--version` says on every binary: the version and the commit it was built from.

/// The commit the binaries were built from (12 hex digits, or `unknown`).
pub const COMMIT: &str = env!("TOOLKIT_COMMIT");

/// `0.1.0 (commit 3535e87387d0)`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("TOOLKIT_COMMIT"),
    ")"
);

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_names_the_commit() {
        assert!(super::VERSION.starts_with(env!("CARGO_PKG_VERSION")));
        assert!(super::VERSION.contains("(commit "));
        assert!(!super::COMMIT.is_empty());
    }
}
