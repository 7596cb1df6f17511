//! Compile errors of the macros: each case in `ui/` must fail to compile
//! with the message (and the span) recorded in its `.stderr`.

#[test]
fn macro_errors_point_at_the_attribute() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
