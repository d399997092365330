//! Checking a parsed graph against a catalogue, staged like FFmpeg's filter
//! graph parser: resolve names and kinds -> check values -> compute ports ->
//! connect ports -> type-check edges (deriving output types in topological
//! order) -> insert conversions -> plan. Each stage reports all of its
//! errors; items with errors are skipped by later stages so one mistake
//! does not cascade into many messages.

mod build;
mod connect;
mod constraints;
pub use constraints::check_instance;
mod resolve;
mod settings;

pub use settings::params as settings_params;
mod types;

use crate::ast;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::media::MediaType;
use crate::plan::Plan;
use crate::settings::Settings;
use crate::signature::{Catalogue, Ports, Signature};
use crate::span::Span;
use crate::value::Args;
use crate::SourceFile;

/// The result of checking: the plan when there are no errors, and every
/// diagnostic (warnings too).
#[derive(Debug, Clone)]
pub struct Checked {
    /// The plan, `Some` iff there are no errors.
    pub plan: Option<Plan>,
    /// Errors and warnings, in file order.
    pub diagnostics: Diagnostics,
}

/// One node instance while checking.
struct Inst<'c> {
    name: String,
    kind: String,
    sig: &'c Signature,
    /// The declaration, call or bare kind that made it.
    span: Span,
    /// Checked arguments, defaults filled in.
    args: Args,
    /// Where each written argument's value is (for findings about it).
    arg_spans: Vec<(String, Span)>,
    /// Ports from the signature; `None` when its values or ports had errors.
    ports: Option<Ports>,
    /// Appears in some connection.
    used: bool,
}

/// One side of a connection as written: an instance (or `None` when it
/// failed to resolve) and an optional port name.
#[derive(Clone)]
struct Term<'c> {
    inst: Option<usize>,
    port: Option<&'c ast::Ident>,
    span: Span,
}

/// A resolved connection from an output port to one input slot.
#[derive(Clone)]
struct Conn {
    from: usize,
    out: usize,
    to: usize,
    /// Input port index.
    input: usize,
    /// Slot within a variadic port (0 otherwise).
    sub: usize,
    from_span: Span,
    to_span: Span,
}

impl Conn {
    fn span(&self) -> Span {
        Span {
            start: self.from_span.start.min(self.to_span.start),
            end: self.from_span.end.max(self.to_span.end),
        }
    }
}

/// An automatic conversion to insert on a connection.
struct Conversion {
    conn: usize,
    kind: &'static str,
    args: Args,
    out_ty: MediaType,
}

/// Everything the stages share.
struct Ctx<'c> {
    cat: &'c dyn Catalogue,
    diags: Diagnostics,
    settings: Settings,
    insts: Vec<Inst<'c>>,
    /// Each chain as a list of endpoints, each a list of terms.
    chains: Vec<Vec<Vec<Term<'c>>>>,
    conns: Vec<Conn>,
    names: resolve::Names,
    /// Arguments as written, per instance, until stage 2 checks them.
    pending_args: Vec<&'c [ast::ArgNode]>,
    /// Per instance: a connection into it failed (so its open inputs are
    /// not reported again).
    failed_in: Vec<bool>,
}

/// Checks a parsed file.
pub fn check_file<'c>(file: &SourceFile, ast: &'c ast::File, cat: &'c dyn Catalogue) -> Checked {
    let mut cx = Ctx {
        cat,
        diags: Diagnostics::new(),
        settings: Settings::default(),
        insts: Vec::new(),
        chains: Vec::new(),
        conns: Vec::new(),
        names: resolve::Names::default(),
        pending_args: Vec::new(),
        failed_in: Vec::new(),
    };
    // Every statement makes at most a few instances and connections;
    // reserving up front avoids moving large vectors while they grow.
    let n = ast.stmts.len();
    cx.insts.reserve(n);
    cx.pending_args.reserve(n);
    cx.chains.reserve(n);
    cx.conns.reserve(2 * n);
    cx.names.taken.reserve(n);
    if let Some(h) = &ast.header {
        cx.settings = settings::check(&h.args, &mut cx.diags);
    }
    resolve::declarations(&mut cx, ast);
    resolve::chains(&mut cx, ast);
    resolve::values_and_ports(&mut cx);
    connect::connect(&mut cx);
    connect::open_inputs(&mut cx);
    let typed = types::check(&mut cx);
    constraints::check(&mut cx, &typed);
    if cx.insts.is_empty() && !cx.diags.has_errors() {
        cx.diags.push(empty_graph(ast));
    }
    let plan = if cx.diags.has_errors() {
        None
    } else {
        let name = match &ast.header {
            Some(h) => h.name.name.clone(),
            None => stem(&file.name),
        };
        Some(build::plan(&mut cx, name, typed))
    };
    cx.diags.sort();
    Checked {
        plan,
        diagnostics: cx.diags,
    }
}

/// A graph with no node runs nothing: almost certainly not what was meant.
fn empty_graph(ast: &ast::File) -> Diagnostic {
    let span = ast.header.as_ref().map_or(Span::default(), |h| h.name.span);
    Diagnostic::warning("the graph has no nodes", span, "nothing to run")
        .with_help("add a node and a connection: `tone -> wav_out(path: \"tone.wav\")`")
}

/// A graph without header is named after its file.
fn stem(name: &str) -> String {
    let s = std::path::Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("");
    if s.is_empty() || s.starts_with('<') || s == "-" {
        "graph".into()
    } else {
        s.into()
    }
}
