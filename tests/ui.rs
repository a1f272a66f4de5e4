//! Compile-fail tests for `#[derive(Session)]`: each file in `tests/ui/` holds one mistake and
//! its `.stderr` the one error the derive reports for it.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("../tests/ui/*.rs");
}
