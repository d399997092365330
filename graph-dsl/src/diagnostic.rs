//! Diagnostics in rustc's style, rendered with ariadne: `error: message`,
//! the file, line and column, the source line with a caret span and a
//! label, then `help:`. Every stage reports all of its errors together.

use crate::span::Span;
use crate::SourceFile;
use ariadne::{CharSet, Color, Config, IndexType, Label, Report, ReportKind, Source};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The graph is rejected.
    Error,
    /// The graph is accepted; something looks wrong.
    Warning,
}

/// One message about the graph text, pointing at a span.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The headline (`unknown node kind `blurr``).
    pub message: String,
    /// Where the problem is.
    pub span: Span,
    /// What the caret says about the span.
    pub label: String,
    /// Other places that explain it (`first declared here`).
    pub secondary: Vec<(Span, String)>,
    /// A fix to try (`did you mean `blur`?`).
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            label: label.into(),
            secondary: Vec::new(),
            help: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message, span, label)
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a help line if there is one.
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// Adds a secondary label.
    pub fn with_note_at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push((span, label.into()));
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Everything a stage (or all stages) found, errors and warnings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// No diagnostics.
    pub fn new() -> Self {
        Diagnostics::default()
    }

    /// Adds one.
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// Adds all of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Whether any is an error (the graph is rejected).
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    /// How many errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// How many warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// Whether there are none at all.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every diagnostic, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Orders them by position in the file, errors before warnings at the
    /// same place, so output reads top to bottom.
    pub fn sort(&mut self) {
        self.items
            .sort_by_key(|d| (d.span.start, d.severity == Severity::Warning));
    }

    /// Renders every diagnostic in rustc's style. `color` adds ANSI colours
    /// (the CLI passes whether stderr is a terminal).
    pub fn render(&self, file: &SourceFile, color: bool) -> String {
        let mut out = String::new();
        // One line index for all diagnostics: building it is linear in the
        // text, so it must not be rebuilt per diagnostic.
        let mut cache = (file.name.as_str(), Source::from(file.text.as_str()));
        for d in &self.items {
            out.push_str(&render_one(d, file, color, &mut cache));
        }
        out
    }
}

/// Clamps a span into the text on character boundaries, so a bad span can
/// never make rendering panic.
fn clamp(span: Span, text: &str) -> std::ops::Range<usize> {
    let fix = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = fix(span.start);
    let end = fix(span.end).max(start);
    start..end
}

fn render_one<'a>(
    d: &Diagnostic,
    file: &'a SourceFile,
    color: bool,
    cache: &mut (&'a str, Source<&'a str>),
) -> String {
    let (kind, colour) = match d.severity {
        Severity::Error => ("error", Color::Red),
        Severity::Warning => ("warning", Color::Yellow),
    };
    let name = file.name.as_str();
    let config = Config::default()
        .with_color(color)
        .with_char_set(CharSet::Ascii)
        .with_index_type(IndexType::Byte)
        .with_compact(false);
    let mut report = Report::build(
        ReportKind::Custom(kind, colour),
        (name, clamp(d.span, &file.text)),
    )
    .with_config(config)
    .with_message(&d.message)
    .with_label(
        Label::new((name, clamp(d.span, &file.text)))
            .with_message(&d.label)
            .with_color(colour)
            .with_order(0),
    );
    for (i, (span, label)) in d.secondary.iter().enumerate() {
        report = report.with_label(
            Label::new((name, clamp(*span, &file.text)))
                .with_message(label)
                .with_color(Color::Blue)
                .with_order(i as i32 + 1),
        );
    }
    if let Some(help) = &d.help {
        report = report.with_help(help);
    }
    let mut buf = Vec::new();
    let written = report.finish().write(cache, &mut buf);
    let text = match written {
        Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
        Err(_) => format!("{kind}: {}\n", d.message),
    };
    rustc_style(&text, color)
}

/// Turns ariadne's frame into rustc's layout: the location line
/// `,-[ file:line:col ]` becomes ` --> file:line:col`, `Help:` becomes
/// `help:`, the closing `---'` becomes a blank line. Without colour, escape
/// sequences (ariadne colours custom report kinds regardless of its config)
/// and trailing spaces are removed.
fn rustc_style(text: &str, color: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let clean = strip_ansi(line);
        let bare = clean.trim();
        if let Some(loc) = bare.strip_prefix(",-[ ").and_then(|r| r.strip_suffix(" ]")) {
            let indent = clean.len() - clean.trim_start().len();
            out.push_str(&" ".repeat(indent.saturating_sub(1)));
            if color {
                out.push_str("\u{1b}[1;34m-->\u{1b}[0m ");
            } else {
                out.push_str("--> ");
            }
            out.push_str(loc);
        } else if !bare.is_empty() && bare.trim_end_matches('\'').chars().all(|c| c == '-') {
            // ariadne's closing line: rustc separates diagnostics by a blank line.
        } else if color && bare.starts_with("| Help") {
            out.push_str(&line.replacen("Help", "help", 1));
        } else if color {
            out.push_str(line);
        } else {
            out.push_str(clean.trim_end().replace("| Help: ", "| help: ").as_str());
        }
        out.push('\n');
    }
    out
}

/// The line without ANSI escape sequences.
fn strip_ansi(line: &str) -> String {
    let mut chars = line.chars();
    let mut clean = String::with_capacity(line.len());
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for e in chars.by_ref() {
                if e.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            clean.push(c);
        }
    }
    clean
}
