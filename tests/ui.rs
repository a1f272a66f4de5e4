//! UI tests for `#[derive(Session)]`: each file in `tests/ui/` holds one mistake and its `.stderr`
//! the one error the derive reports for it; each file in `tests/ui/pass/` compiles and runs.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("../tests/ui/*.rs");
    t.pass("../tests/ui/pass/*.rs");
}
