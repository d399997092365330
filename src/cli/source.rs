//! Where graph text comes from: a file, `-` (stdin) or `-e 'text'`; and how
//! diagnostics reach the user (stderr, coloured only on a terminal).

use clap::Args;
use sluice_dsl::{Diagnostic, Diagnostics, Plan, SourceFile};
use sluice_runtime::BuildError;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

/// A graph given as a file, `-` for stdin, or inline with `-e`.
#[derive(Args, Debug, Clone)]
pub struct GraphArgs {
    /// Graph file (`-` reads stdin).
    #[arg(required_unless_present = "expr")]
    pub file: Option<PathBuf>,
    /// Graph text on the command line instead of a file.
    #[arg(short = 'e', long = "expr", conflicts_with = "file")]
    pub expr: Option<String>,
}

impl GraphArgs {
    /// Reads the graph text.
    pub fn read(&self) -> Result<SourceFile, String> {
        match (&self.expr, &self.file) {
            (Some(text), _) => Ok(SourceFile::new("<expr>", text.as_str())),
            (None, Some(path)) => read_path(path),
            (None, None) => Err("give a graph file, `-` for stdin, or -e 'text'".into()),
        }
    }
}

/// Reads a graph file, or stdin for `-`.
pub fn read_path(path: &Path) -> Result<SourceFile, String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        return Ok(SourceFile::new("<stdin>", text));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    Ok(SourceFile::new(path.display().to_string(), text))
}

/// Prints diagnostics to stderr, coloured when stderr is a terminal.
pub fn report(diagnostics: &Diagnostics, file: &SourceFile) {
    if !diagnostics.is_empty() {
        eprint!(
            "{}",
            diagnostics.render(file, std::io::stderr().is_terminal())
        );
    }
}

/// `error: could not check ... due to N errors`, rustc's closing line.
pub fn summary(file: &SourceFile, diagnostics: &Diagnostics) {
    let (e, w) = (diagnostics.error_count(), diagnostics.warning_count());
    let plural = |n: usize, s: &str| format!("{n} {s}{}", if n == 1 { "" } else { "s" });
    if e > 0 {
        let warn = if w > 0 {
            format!("; {} emitted", plural(w, "warning"))
        } else {
            String::new()
        };
        eprintln!(
            "error: `{}` is not a valid graph: {}{warn}",
            file.name,
            plural(e, "error")
        );
    } else if w > 0 {
        eprintln!("warning: `{}`: {} emitted", file.name, plural(w, "warning"));
    }
}

/// Prints an error that has no place in graph text.
pub fn fail(message: &str) {
    eprintln!("error: {message}");
}

/// A graph that checked, with the text it came from (so later errors can
/// point into it).
pub struct Valid {
    /// The graph text.
    pub file: SourceFile,
    /// Its plan.
    pub plan: Plan,
}

/// Reads and checks a graph, printing diagnostics; the plan if valid.
pub fn checked(args: &GraphArgs) -> Option<Valid> {
    let file = match args.read() {
        Ok(f) => f,
        Err(e) => {
            fail(&e);
            return None;
        }
    };
    let registry = sluice_nodes::registry();
    let checked = sluice_dsl::check(&file, &registry);
    report(&checked.diagnostics, &file);
    summary(&file, &checked.diagnostics);
    checked.plan.map(|plan| Valid { file, plan })
}

/// An engine build error, shown at the failing node's place in the graph
/// text (rustc style) when the error names a node of `plan`.
pub fn build_failed(e: &BuildError, plan: &Plan, file: &SourceFile) {
    let (node, kind, what) = match e {
        BuildError::Node { node, kind, error } => (node, kind, error.to_string()),
        BuildError::NotImplemented { node, kind } => {
            (node, kind, "this kind is not implemented yet".to_string())
        }
        BuildError::UnknownKind { node, kind } => (node, kind, "unknown kind".to_string()),
        BuildError::Plan(_) => return fail(&e.to_string()),
    };
    let Some(index) = plan.node_by_name(node) else {
        return fail(&e.to_string());
    };
    let n = &plan.graph[index];
    let label = match (n.inserted, node == kind) {
        (true, _) => format!("`{node}` ({kind}) was inserted on this connection"),
        (false, true) => "this node".to_string(),
        (false, false) => format!("`{node}` ({kind})"),
    };
    let mut d = Diagnostics::new();
    d.push(Diagnostic::error(
        format!("`{node}` could not start: {what}"),
        n.span,
        label,
    ));
    report(&d, file);
}
