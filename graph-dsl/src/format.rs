//! `sluice fmt`: the canonical text of a graph. One statement per line,
//! four-space indentation inside a `graph { }`, single spaces around `=`
//! and `->`, `name: value` arguments separated by `, `, values in canonical
//! spelling. Comments are kept: a comment at the end of a statement's last
//! line stays there; every other comment goes on its own line before the
//! statement it precedes (or is inside of). One blank line is kept where
//! the source had one or more between statements.

use crate::ast::{ArgNode, Endpoint, File, Stmt};
use crate::value::Value;
use std::fmt::Write;

/// Where a comment goes.
#[derive(Clone, Copy)]
enum Place {
    FileStart,
    Leading(usize),
    Trailing(usize),
    BodyEnd,
    FileEnd,
}

/// One printed line (or group of lines) with the source lines it came from,
/// for keeping blank lines.
struct Entry {
    first: usize,
    last: usize,
    text: String,
}

/// Formats a parsed file; `text` is its source (for comment positions).
pub fn format_file(text: &str, file: &File) -> String {
    let lines = LineIndex::new(text);
    let n = file.stmts.len();
    let mut leading: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut trailing: Vec<Option<usize>> = vec![None; n];
    let (mut file_start, mut body_end, mut file_end) = (Vec::new(), Vec::new(), Vec::new());
    for (k, c) in file.comments.iter().enumerate() {
        match place(text, &lines, file, c.span.start) {
            Place::FileStart => file_start.push(k),
            Place::Leading(s) => leading[s].push(k),
            Place::Trailing(s) => trailing[s] = Some(k),
            Place::BodyEnd => body_end.push(k),
            Place::FileEnd => file_end.push(k),
        }
    }
    let comment_entry = |k: usize, line: Option<usize>| {
        let c = &file.comments[k];
        let l = line.unwrap_or_else(|| lines.line(c.span.start));
        Entry {
            first: l,
            last: l,
            text: c.text.clone(),
        }
    };
    let mut body = Vec::new();
    for (s, stmt) in file.stmts.iter().enumerate() {
        let span = stmt.span();
        let (first, last) = (lines.line(span.start), lines.line(span.end));
        for &k in &leading[s] {
            let inside = file.comments[k].span.start > span.start;
            body.push(comment_entry(k, inside.then_some(first)));
        }
        let mut t = stmt_text(stmt);
        if let Some(k) = trailing[s] {
            let _ = write!(t, "  {}", file.comments[k].text);
        }
        body.push(Entry {
            first,
            last,
            text: t,
        });
    }
    body.extend(body_end.iter().map(|&k| comment_entry(k, None)));
    let mut out = String::new();
    match &file.header {
        None => {
            body.extend(file_end.iter().map(|&k| comment_entry(k, None)));
            emit(&mut out, &body, "");
        }
        Some(h) => {
            let mut head: Vec<Entry> = file_start.iter().map(|&k| comment_entry(k, None)).collect();
            let mut line = format!("graph {}", h.name.name);
            if !h.args.is_empty() {
                let _ = write!(line, "({})", args_text(&h.args));
            }
            line.push_str(" {");
            let l = lines.line(h.span.start);
            head.push(Entry {
                first: l,
                last: l,
                text: line,
            });
            emit(&mut out, &head, "");
            emit(&mut out, &body, "    ");
            let l = lines.line(h.span.end);
            let mut tail = vec![Entry {
                first: l,
                last: l,
                text: "}".into(),
            }];
            tail.extend(file_end.iter().map(|&k| comment_entry(k, None)));
            emit(&mut out, &tail, "");
        }
    }
    out
}

fn emit(out: &mut String, entries: &[Entry], indent: &str) {
    for (i, e) in entries.iter().enumerate() {
        if i > 0 && e.first > entries[i - 1].last + 1 {
            out.push('\n');
        }
        out.push_str(indent);
        out.push_str(&e.text);
        out.push('\n');
    }
}

fn place(text: &str, lines: &LineIndex, file: &File, at: usize) -> Place {
    if let Some(h) = &file.header {
        if at < h.span.start {
            return Place::FileStart;
        }
    }
    let line_start = lines.start_of(lines.line(at));
    let own_line = text[line_start..at].trim().is_empty();
    // Statements are in source order: the first one ending after `at`.
    let next = file.stmts.partition_point(|s| s.span().end <= at);
    if !own_line && next > 0 {
        let prev = next - 1;
        if lines.line(file.stmts[prev].span().end) == lines.line(at) {
            return Place::Trailing(prev);
        }
    }
    if next < file.stmts.len() {
        return Place::Leading(next);
    }
    match &file.header {
        Some(h) if at < h.span.end => Place::BodyEnd,
        _ => Place::FileEnd,
    }
}

/// Line numbers (0-based) of byte offsets.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line(&self, at: usize) -> usize {
        self.starts.partition_point(|&s| s <= at) - 1
    }

    fn start_of(&self, line: usize) -> usize {
        self.starts[line]
    }
}

/// A statement in canonical form, on one line.
pub fn stmt_text(stmt: &Stmt) -> String {
    match stmt {
        Stmt::Decl(d) => format!(
            "{} = {}({})",
            d.name.name,
            d.call.kind.name,
            args_text(&d.call.args)
        ),
        Stmt::Chain(c) => c
            .items
            .iter()
            .map(endpoint_text)
            .collect::<Vec<_>>()
            .join(" -> "),
    }
}

fn endpoint_text(e: &Endpoint) -> String {
    match e {
        Endpoint::Call(c) => format!("{}({})", c.kind.name, args_text(&c.args)),
        Endpoint::Port(p) => match &p.port {
            Some(port) => format!("{}.{}", p.node.name, port.name),
            None => p.node.name.clone(),
        },
        Endpoint::Group(g) => format!(
            "[{}]",
            g.items
                .iter()
                .map(endpoint_text)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn args_text(args: &[ArgNode]) -> String {
    args.iter()
        .map(|a| format!("{}: {}", a.name.name, value_text(&a.value)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value in canonical spelling; parsing it gives the same value back.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Number { value, unit } => match unit {
            Some(u) => format!("{value}{u}"),
            None => format!("{value}"),
        },
        Value::Size { w, h } => format!("{w}x{h}"),
        Value::Str(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Ident(s) => s.clone(),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
