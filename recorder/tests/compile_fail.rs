//! Misuse the typed API rejects at compile time, with the compiler's message pinned in
//! `tests/compile_fail/*.stderr`: wrong or missing labels, wrong enumerated values,
//! operations of the wrong kind, and malformed `#[metric(...)]` declarations.
//!
//! Regenerate the snapshots after an intended change with
//! `TRYBUILD=overwrite cargo test -p recorder --test compile_fail` and review the diff.

#[test]
fn misuse_does_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/compile_fail/*.rs");
}
