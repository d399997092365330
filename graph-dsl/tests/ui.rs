//! One test per error class: each `tests/ui/NAME.sluice` is checked against
//! the test catalogue and its rendered diagnostics (no colour) must equal
//! `tests/ui/NAME.stderr` exactly. `UPDATE_UI=1 cargo test -p sluice-dsl
//! --test ui` rewrites the expectations (review the diff before committing).

use sluice_dsl::{check, testing, SourceFile};
use std::path::Path;

fn ui(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let src = dir.join(format!("{name}.sluice"));
    let text = std::fs::read_to_string(&src).expect("case file");
    let file = SourceFile::new(format!("{name}.sluice"), text);
    let checked = check(&file, &testing::catalogue());
    let got = checked.diagnostics.render(&file, false);
    assert_eq!(
        checked.plan.is_some(),
        !checked.diagnostics.has_errors(),
        "a plan exactly when there are no errors"
    );
    let expected_path = dir.join(format!("{name}.stderr"));
    if std::env::var_os("UPDATE_UI").is_some() {
        std::fs::write(&expected_path, &got).expect("write expectation");
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    assert_eq!(got, expected, "rendered diagnostics of {name}.sluice");
    assert!(!got.is_empty(), "every ui case has a diagnostic");
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                ui(stringify!($name));
            }
        )*
    };
}

cases!(
    below_half_rate,
    empty_graph,
    empty_graph_header,
    unknown_kind,
    unknown_name,
    unknown_name_suggests_declared,
    unknown_param,
    unknown_output_port,
    unknown_input_port,
    output_used_as_input,
    missing_unit,
    wrong_unit,
    wrong_value_type,
    path_not_quoted,
    bad_enum_choice,
    out_of_range,
    not_whole_number,
    list_item_wrong,
    duplicate_name,
    duplicate_param,
    type_mismatch,
    bundle_into_audio,
    input_connected_twice,
    no_free_input,
    source_as_target,
    sink_as_source,
    required_input_open,
    required_param_missing,
    cycle,
    pairing_unequal,
    connected_to_nothing,
    ports_error,
    ports_warning,
    frame_not_whole,
    unknown_setting,
    syntax_missing_arrow,
    syntax_equals_in_args,
    syntax_unknown_unit,
    syntax_space_before_unit,
    syntax_unterminated_string,
    syntax_unclosed_paren,
    syntax_missing_node_after_arrow,
    syntax_bad_escape,
    many_errors_one_pass,
    syntax_several_errors,
    syntax_arrow_at_end,
    syntax_statement_after_graph,
    syntax_decl_without_kind,
);

#[test]
fn every_case_file_is_listed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui.rs"))
        .expect("this file");
    for e in std::fs::read_dir(dir).expect("ui dir") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "sluice") {
            let stem = p.file_stem().and_then(|s| s.to_str()).expect("name");
            assert!(
                src.contains(&format!("    {stem},")),
                "{stem} is not listed in cases!"
            );
        }
    }
}
