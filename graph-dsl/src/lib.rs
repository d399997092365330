//! Sluice's graph language: text → AST (with spans) → checked, typed graph →
//! [`Plan`] (a petgraph schedule the runtime consumes).
//!
//! This crate knows node *signatures* ([`Signature`], via a [`Catalogue`])
//! but no node code. The pipeline: [`parse`] (pest grammar, `grammar.pest`)
//! gives an [`ast::File`]; [`check`] resolves names, checks values, computes
//! ports, connects them, types every edge, inserts conversions and builds
//! the [`Plan`]; [`format`] prints the canonical text; [`describe`] and
//! [`to_dot`] show a plan to people.

pub mod ast;
mod check;
pub mod constraint;
mod describe;
pub mod diagnostic;
mod format;
pub mod media;
mod nodes_doc;
mod normalize;
mod parse;
pub mod plan;
mod schedule;
pub mod settings;
pub mod signature;
pub mod span;
mod suggest;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod value;

pub use check::check_instance;
pub use check::Checked;
pub use constraint::{Constraint, Finding, RuleFn, RuleInput};
pub use describe::{describe, to_dot};
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use media::{MediaType, PixelFormat, VideoType};
pub use nodes_doc::{describe_kind, list_kinds, markdown};
pub use normalize::ValueError;
pub use plan::{Domain, Plan, PlanEdge, PlanNode, PlanPort};
pub use settings::{Settings, CALL_RATES, CALL_RATE_ELSEWHERE};
pub use signature::{
    Accepts, Catalogue, DeriveType, InPort, OutPort, OutType, ParamSig, ParamType, Ports, PortsFn,
    Role, Signature,
};
pub use span::Span;
pub use suggest::did_you_mean;
pub use value::{Arg, Args, Unit, UnitKind, Value};

/// Graph text with the name diagnostics show for it (a path, `<stdin>` or
/// `<expr>`); a graph without header is named after the file's stem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Shown in diagnostics (` --> name:line:col`).
    pub name: String,
    /// The graph text.
    pub text: String,
}

impl SourceFile {
    /// A source from a name and text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// Parses graph text into a syntax tree; a syntax error comes back as one
/// diagnostic saying what was expected, with a fix where one is likely.
pub fn parse(file: &SourceFile) -> Result<ast::File, Diagnostics> {
    parse::parse_file(&file.text)
}

/// Parses and checks graph text against `cat`. The plan is `Some` iff
/// there are no errors; warnings come with it.
pub fn check(file: &SourceFile, cat: &dyn Catalogue) -> Checked {
    match parse(file) {
        Ok(ast) => check::check_file(file, &ast, cat),
        Err(diagnostics) => Checked {
            plan: None,
            diagnostics,
        },
    }
}

/// The canonical text of a graph (comments kept); idempotent, and checking
/// the result gives the same plan.
pub fn format(file: &SourceFile) -> Result<String, Diagnostics> {
    let ast = parse(file)?;
    Ok(format::format_file(&file.text, &ast))
}

/// Parses one value as written in graph text (for `--set node.param=12px`
/// and `--duration 10s`).
pub fn parse_value(text: &str) -> Result<Value, String> {
    parse::parse_one_value(text)
}

/// Checks a value against a parameter and normalises it: the same check
/// the checker applies to arguments in graph text.
pub fn normalize_value(param: &ParamSig, value: &Value) -> Result<Arg, String> {
    check_value(param, value).map_err(|e| e.one_line())
}

/// As [`normalize_value`], with the error's parts apart (headline, what
/// the caret would say, a fix), for callers that print the fix on its own
/// line.
pub fn check_value(param: &ParamSig, value: &Value) -> Result<Arg, ValueError> {
    normalize::check_value(param, value)
}

/// The parameters a graph header takes (`rate`, `frame`, `realtime`,
/// `duration`), for documentation and for `--duration`.
pub fn graph_settings() -> Vec<ParamSig> {
    check::settings_params()
}
