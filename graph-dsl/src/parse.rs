//! Graph text to [`ast::File`]: the pest grammar, the tree walk, string
//! escapes, and parse errors turned into diagnostics that say what was
//! expected in words and suggest a fix.

use crate::ast::{
    ArgNode, Call, Chain, Comment, Decl, Endpoint, File, Group, Header, Ident, PortRef, Stmt,
};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::span::Span;
use crate::suggest::did_you_mean;
use crate::value::{Unit, Value};
use pest::iterators::Pair;
use pest::Parser;

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct GraphParser;

/// How deeply `(`, `[` and `{` may nest. The parser and the tree walks
/// recurse once per level, so input from a fuzzer or a generator could
/// otherwise exhaust the stack; no real graph comes close.
const MAX_DEPTH: usize = 64;

/// Parses a whole file.
pub fn parse_file(text: &str) -> Result<File, Diagnostics> {
    if let Some(at) = too_deep(text) {
        let mut d = Diagnostics::new();
        d.push(Diagnostic::error(
            format!("brackets nested more than {MAX_DEPTH} deep"),
            Span {
                start: at,
                end: at + 1,
            },
            "too deep here",
        ));
        return Err(d);
    }
    let mut pairs = GraphParser::parse(Rule::file, text).map_err(|_| syntax_error(text))?;
    let file = pairs.next().expect("the file rule always yields one pair");
    let mut errors = Diagnostics::new();
    let mut header = None;
    let mut stmts = Vec::new();
    for p in file.into_inner() {
        match p.as_rule() {
            Rule::graph => {
                let span = span_of(&p);
                let mut name = None;
                let mut args = Vec::new();
                for q in p.into_inner() {
                    match q.as_rule() {
                        Rule::ident => name = Some(ident(q)),
                        Rule::graph_args => args = graph_args(q, &mut errors),
                        Rule::body => stmts = body(q, &mut errors),
                        _ => {}
                    }
                }
                let name = name.expect("a graph header has a name");
                header = Some(Header { name, args, span });
            }
            Rule::body => stmts = body(p, &mut errors),
            _ => {}
        }
    }
    if errors.has_errors() {
        return Err(errors);
    }
    Ok(File {
        header,
        stmts,
        comments: comments(text),
    })
}

/// Parses one value as written in graph text (`12px`, `"a.wav"`, `[a, b]`).
pub fn parse_one_value(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    if too_deep(trimmed).is_some() {
        return Err(format!("brackets nested more than {MAX_DEPTH} deep"));
    }
    let rules = [
        Rule::size,
        Rule::quantity,
        Rule::string,
        Rule::boolean,
        Rule::list,
        Rule::ident,
    ];
    for rule in rules {
        if let Ok(mut pairs) = GraphParser::parse(rule, trimmed) {
            let p = pairs.next().expect("a successful parse yields a pair");
            if p.as_str().len() == trimmed.len() {
                let mut errors = Diagnostics::new();
                let v = value(p, &mut errors);
                return match errors.iter().next() {
                    Some(d) => Err(d.message.clone()),
                    None => Ok(v),
                };
            }
        }
    }
    Err(format!(
        "`{trimmed}` is not a value (a number with unit like `12dB`, a size like `1280x720`, a \"string\", true, false, a name or a [list])"
    ))
}

fn span_of(p: &Pair<Rule>) -> Span {
    let s = p.as_span();
    Span {
        start: s.start(),
        end: s.end(),
    }
}

fn ident(p: Pair<Rule>) -> Ident {
    Ident {
        name: p.as_str().to_string(),
        span: span_of(&p),
    }
}

fn graph_args(p: Pair<Rule>, errors: &mut Diagnostics) -> Vec<ArgNode> {
    p.into_inner()
        .next()
        .map(|a| args(a, errors))
        .unwrap_or_default()
}

fn body(p: Pair<Rule>, errors: &mut Diagnostics) -> Vec<Stmt> {
    p.into_inner()
        .filter_map(|s| match s.as_rule() {
            Rule::decl => Some(Stmt::Decl(decl(s, errors))),
            Rule::chain => Some(Stmt::Chain(chain(s, errors))),
            _ => None,
        })
        .collect()
}

fn decl(p: Pair<Rule>, errors: &mut Diagnostics) -> Decl {
    let span = span_of(&p);
    let mut inner = p.into_inner();
    let name = ident(inner.next().expect("decl has a name"));
    let rhs = inner.next().expect("decl has a kind");
    let call = match rhs.as_rule() {
        Rule::call => call(rhs, errors),
        _ => {
            let kind = ident(rhs.into_inner().next().expect("bare kind is an ident"));
            Call {
                span: kind.span,
                kind,
                args: Vec::new(),
            }
        }
    };
    Decl { name, call, span }
}

fn chain(p: Pair<Rule>, errors: &mut Diagnostics) -> Chain {
    let span = span_of(&p);
    let items = p.into_inner().map(|e| endpoint(e, errors)).collect();
    Chain { items, span }
}

fn endpoint(p: Pair<Rule>, errors: &mut Diagnostics) -> Endpoint {
    match p.as_rule() {
        Rule::call => Endpoint::Call(call(p, errors)),
        Rule::group => Endpoint::Group(Group {
            span: span_of(&p),
            items: p.into_inner().map(|e| endpoint(e, errors)).collect(),
        }),
        _ => {
            let span = span_of(&p);
            let mut inner = p.into_inner();
            let node = ident(inner.next().expect("port has a node"));
            let port = inner.next().map(ident);
            Endpoint::Port(PortRef { node, port, span })
        }
    }
}

fn call(p: Pair<Rule>, errors: &mut Diagnostics) -> Call {
    let span = span_of(&p);
    let mut inner = p.into_inner();
    let kind = ident(inner.next().expect("call has a kind"));
    let args = inner.next().map(|a| args(a, errors)).unwrap_or_default();
    Call { kind, args, span }
}

fn args(p: Pair<Rule>, errors: &mut Diagnostics) -> Vec<ArgNode> {
    p.into_inner()
        .map(|a| {
            let span = span_of(&a);
            let mut inner = a.into_inner();
            let name = ident(inner.next().expect("arg has a name"));
            let v = inner.next().expect("arg has a value");
            let value_span = span_of(&v);
            ArgNode {
                name,
                value: value(v, errors),
                value_span,
                span,
            }
        })
        .collect()
}

fn value(p: Pair<Rule>, errors: &mut Diagnostics) -> Value {
    let span = span_of(&p);
    match p.as_rule() {
        Rule::size => {
            let (w, h) = p.as_str().split_once('x').expect("size has an x");
            match (w.parse::<u32>(), h.parse::<u32>()) {
                (Ok(w), Ok(h)) => Value::Size { w, h },
                _ => {
                    errors.push(Diagnostic::error(
                        "size too large",
                        span,
                        "each side must fit in 32 bits",
                    ));
                    Value::Size { w: 0, h: 0 }
                }
            }
        }
        Rule::quantity => quantity(p, span, errors),
        Rule::string => Value::Str(unescape(p.as_str(), span.start, errors)),
        Rule::boolean => Value::Bool(p.as_str() == "true"),
        Rule::list => Value::List(p.into_inner().map(|v| value(v, errors)).collect()),
        _ => Value::Ident(p.as_str().to_string()),
    }
}

fn quantity(p: Pair<Rule>, span: Span, errors: &mut Diagnostics) -> Value {
    let mut negative = false;
    let mut number = 0.0;
    let mut unit = None;
    for q in p.into_inner() {
        match q.as_rule() {
            Rule::minus => negative = true,
            Rule::number => match q.as_str().parse::<f64>() {
                Ok(v) if v.is_finite() => number = v,
                _ => errors.push(Diagnostic::error(
                    "number too large",
                    span,
                    "not a finite number",
                )),
            },
            _ => unit = Unit::from_suffix(q.as_str()),
        }
    }
    Value::Number {
        value: if negative { -number } else { number },
        unit,
    }
}

/// Resolves the escapes of a string literal (with its quotes); `offset` is
/// where the literal starts, for pointing at a bad escape.
fn unescape(lit: &str, offset: usize, errors: &mut Diagnostics) -> String {
    let body = &lit[1..lit.len() - 1];
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let at = offset + 1 + i;
        let Some((j, e)) = chars.next() else { break };
        let esc_span = Span {
            start: at,
            end: offset + 1 + j + e.len_utf8(),
        };
        match e {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'u' => match unicode_escape(&body[j + 1..]) {
                Some((ch, len)) => {
                    out.push(ch);
                    for _ in 0..len {
                        chars.next();
                    }
                }
                None => errors.push(
                    Diagnostic::error("invalid unicode escape", esc_span, "here").with_help(
                        "write `\\u{` and 1 to 6 hex digits of a valid code point, then `}`",
                    ),
                ),
            },
            other => errors.push(
                Diagnostic::error(format!("unknown escape `\\{other}`"), esc_span, "here")
                    .with_help("strings know the escapes \\\" \\\\ \\n \\t and \\u{...}"),
            ),
        }
    }
    out
}

/// Parses `{hex}` at the start of `s`; returns the char and the bytes used.
fn unicode_escape(s: &str) -> Option<(char, usize)> {
    let rest = s.strip_prefix('{')?;
    let close = rest.find('}')?;
    let hex = &rest[..close];
    if hex.is_empty() || hex.len() > 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    Some((ch, close + 2))
}

/// Every `#` comment outside string literals, in order.
fn comments(text: &str) -> Vec<Comment> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' | b'\n' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'#' {
            let end = text[i..].find(['\n', '\r']).map_or(text.len(), |n| i + n);
            let raw = text[i..end].trim_end();
            out.push(Comment {
                text: raw.to_string(),
                span: Span {
                    start: i,
                    end: i + raw.len(),
                },
            });
            i = end;
            continue;
        }
        i += 1;
    }
    out
}

/// Every syntax error, not only the first: after each error the line it is
/// on is blanked (offsets kept) and the text parsed again, until it parses,
/// an error cannot be isolated to its line, or ten errors are found.
fn syntax_error(text: &str) -> Diagnostics {
    let mut out = Diagnostics::new();
    let mut work = text.to_string();
    let mut last = None;
    for _ in 0..10 {
        let Some((d, pos)) = first_syntax_error(&work) else {
            break;
        };
        if last.is_some_and(|l| pos <= l) {
            break;
        }
        last = Some(pos);
        let stop = d.message.starts_with("unclosed") || d.message.starts_with("unterminated");
        out.push(d);
        let line_start = work[..pos].rfind('\n').map_or(0, |i| i + 1);
        let line_end = work[pos..].find('\n').map_or(work.len(), |i| pos + i);
        let line = &work[line_start..line_end];
        let balanced = ["()", "[]", "{}"].iter().all(|p| {
            let [o, c] = [p.as_bytes()[0], p.as_bytes()[1]];
            line.bytes().filter(|&b| b == o).count() == line.bytes().filter(|&b| b == c).count()
        });
        if stop || !balanced || line_end >= work.len() {
            break;
        }
        let blank: String = line.bytes().map(|_| ' ').collect();
        work.replace_range(line_start..line_end, &blank);
    }
    if out.is_empty() {
        out.push(Diagnostic::error(
            "syntax error",
            Span { start: 0, end: 0 },
            "here",
        ));
    }
    out
}

/// Parses again with pest's detailed error tracking (off on the fast path)
/// and turns the furthest failure into one diagnostic in words; `None` if
/// the text parses.
fn first_syntax_error(text: &str) -> Option<(Diagnostic, usize)> {
    use pest::error::{ErrorVariant, InputLocation};
    // pest's detail switch is process-wide: one error re-parse at a time,
    // so a parallel one cannot switch it off halfway (a fast-path parse on
    // another thread at worst runs a little slower meanwhile).
    static DETAIL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let guard = DETAIL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    pest::set_error_detail(true);
    let again = GraphParser::parse(Rule::file, text);
    pest::set_error_detail(false);
    drop(guard);
    let e = again.err()?;
    let mut pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let mut tokens = Vec::new();
    if let Some(a) = e.parse_attempts() {
        if a.max_position >= pos {
            pos = a.max_position;
            tokens = a
                .expected_tokens()
                .into_iter()
                .map(|t| t.to_string())
                .filter(|t| !t.contains("..") && t.chars().all(|c| !c.is_ascii_uppercase()))
                .collect();
        }
    }
    let mut pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    let rules: Vec<Rule> = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    Some((explain(text, pos, &rules, &tokens), pos))
}

/// What stands at `pos`, in words, and its extent.
fn found(text: &str, pos: usize) -> (String, Span) {
    let rest = &text[pos..];
    let Some(c) = rest.chars().next() else {
        return (
            "end of file".into(),
            Span {
                start: pos,
                end: pos,
            },
        );
    };
    if c == '\n' || c == '\r' {
        return (
            "end of line".into(),
            Span {
                start: pos,
                end: pos,
            },
        );
    }
    let word_len = rest
        .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.'))
        .unwrap_or(rest.len());
    if word_len > 0 {
        let word = &rest[..word_len];
        return (
            format!("`{word}`"),
            Span {
                start: pos,
                end: pos + word_len,
            },
        );
    }
    let end = pos + c.len_utf8();
    let shown = if rest.starts_with("->") {
        "`->`".to_string()
    } else {
        format!("`{c}`")
    };
    (shown, Span { start: pos, end })
}

fn rule_words(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::ident | Rule::bare_kind => "a name",
        Rule::port => "a node name",
        Rule::call => "a node",
        Rule::group => "`[`",
        Rule::decl | Rule::chain => "a statement",
        Rule::arg | Rule::args => "an argument `name: value`",
        Rule::size | Rule::quantity | Rule::number | Rule::string | Rule::boolean | Rule::list => {
            "a value"
        }
        Rule::unit => "a unit",
        Rule::graph_args => "`(`",
        Rule::EOI => "end of file",
        _ => return None,
    })
}

/// Names a literal token as a user would read it.
fn token_words(t: &str) -> Option<String> {
    match t {
        "\n" | "\r\n" | "\r" => Some("end of line".into()),
        " " | "\t" | "#" | "" => None,
        t => Some(format!("`{t}`")),
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => "something else".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn explain(text: &str, pos: usize, rules: &[Rule], tokens: &[String]) -> Diagnostic {
    if let Some(d) = unterminated_string(text, pos) {
        return d;
    }
    let (what, span) = found(text, pos);
    if let Some(d) = bad_number(text, pos, span) {
        return d;
    }
    let before = text[..pos].trim_end_matches([' ', '\t']);
    let rest = &text[pos..];
    let inside = is_inside_parens(text, pos);
    if rest.starts_with('=') && inside {
        return Diagnostic::error(
            "expected `:` between an argument's name and its value, found `=`",
            span,
            "use `:` here",
        )
        .with_help("arguments are written `name: value`, as in `tone(freq: 440Hz)`");
    }
    if text[..pos].trim_end().ends_with("->") {
        // At the end of a line or file, point just after the arrow.
        let end = text[..pos].trim_end().len();
        let span = if span.start == span.end && end < pos {
            Span { start: end, end }
        } else {
            span
        };
        return Diagnostic::error(
            format!("expected a node after `->`, found {what}"),
            span,
            "expected a node, `node.port`, `kind(args)` or `[group]`",
        );
    }
    if before.ends_with('=') && !inside {
        return Diagnostic::error(
            format!("expected a node kind after `=`, found {what}"),
            span,
            "expected a node kind",
        )
        .with_help("a declaration names a node instance: `x = tone(freq: 440Hz)`");
    }
    if let Some(close) = graph_closed_before(text, pos) {
        return Diagnostic::error(
            format!("expected the end of the file after the graph, found {what}"),
            span,
            "outside the graph",
        )
        .with_note_at(
            Span {
                start: close,
                end: close + 1,
            },
            "the graph ends here",
        )
        .with_help("put every statement inside `graph name { ... }`");
    }
    if before.ends_with(':') && inside {
        return Diagnostic::error(format!("expected a value, found {what}"), span, "expected a value")
            .with_help("values are numbers with units (`440Hz`, `-12dB`, `10ms`), sizes (`1280x720`), \"strings\", true, false, names or [lists]");
    }
    if what == "end of file" {
        if let Some((open, at)) = open_bracket(text) {
            return Diagnostic::error(
                format!("unclosed `{open}`"),
                Span {
                    start: at,
                    end: at + 1,
                },
                "opened here and never closed",
            )
            .with_help(format!("close it with `{}`", closing(open)));
        }
    }
    if rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ')' || c == ']')
        && !inside
        && !open_square(text, pos)
    {
        return Diagnostic::error(
            format!("expected `->` or the end of the statement, found {what}"),
            span,
            "expected `->` before this",
        )
        .with_help(
            "connect nodes with `->`; put each statement on its own line or separate them with `;`",
        );
    }
    let mut words: Vec<String> = tokens.iter().filter_map(|t| token_words(t)).collect();
    if let Some(k) = words.iter().position(|w| w == "`_`") {
        // `_` is how an identifier starts or goes on: say "a name" where one
        // may start, and nothing in the middle of one.
        if before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            words.remove(k);
        } else {
            words[k] = "a name".into();
        }
    }
    if words.is_empty() {
        words = rules
            .iter()
            .filter_map(|r| rule_words(*r))
            .map(String::from)
            .collect();
    }
    words.sort();
    words.dedup();
    let exp = join_or(&words);
    let help = if rest.starts_with(',') && !inside && !open_square(text, pos) {
        Some("to connect several nodes at once, group them: `[a, b] -> mix`".to_string())
    } else if rest.starts_with([')', ']', '}']) && !words.iter().any(|w| w.contains(&rest[..1])) {
        Some(format!("this `{}` closes nothing; remove it", &rest[..1]))
    } else {
        None
    };
    Diagnostic::error(
        format!("expected {exp}, found {what}"),
        span,
        format!("expected {exp}"),
    )
    .with_help_opt(help)
}

/// The `}` that closes a `graph { }` before `pos`, if the text has a header
/// and it is closed.
fn graph_closed_before(text: &str, pos: usize) -> Option<usize> {
    if !text.trim_start().starts_with("graph") {
        return None;
    }
    let mut depth = 0i32;
    let mut close = None;
    scan_code(text, pos, |i, c| match c {
        '{' => depth += 1,
        '}' => {
            depth -= 1;
            if depth == 0 {
                close = Some(i);
            }
        }
        _ => {}
    });
    close
}

/// Where brackets first nest deeper than [`MAX_DEPTH`], if they do.
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = None;
    scan_code(text, text.len(), |i, c| match c {
        '(' | '[' | '{' => {
            depth += 1;
            if depth > MAX_DEPTH && at.is_none() {
                at = Some(i);
            }
        }
        ')' | ']' | '}' => depth = depth.saturating_sub(1),
        _ => {}
    });
    at
}

fn open_square(text: &str, pos: usize) -> bool {
    let mut depth = 0i32;
    scan_code(text, pos, |_, c| match c {
        '[' => depth += 1,
        ']' => depth -= 1,
        _ => {}
    });
    depth > 0
}

fn closing(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// The innermost bracket left open at the end of the text (outside strings
/// and comments).
fn open_bracket(text: &str) -> Option<(char, usize)> {
    let mut stack = Vec::new();
    scan_code(text, text.len(), |i, c| match c {
        '(' | '[' | '{' => stack.push((c, i)),
        ')' | ']' | '}' => {
            stack.pop();
        }
        _ => {}
    });
    stack.pop()
}

fn is_inside_parens(text: &str, pos: usize) -> bool {
    let mut depth = 0i32;
    scan_code(text, pos, |_, c| match c {
        '(' => depth += 1,
        ')' => depth -= 1,
        _ => {}
    });
    depth > 0
}

/// Calls `f` for every character before `end` that is code (not inside a
/// string or comment).
fn scan_code(text: &str, end: usize, mut f: impl FnMut(usize, char)) {
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    for (i, c) in text[..end].char_indices() {
        if in_comment {
            in_comment = c != '\n';
        } else if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' || c == '\n' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '#' {
            in_comment = true;
        } else {
            f(i, c);
        }
    }
}

/// An unterminated string on the line of `pos`.
fn unterminated_string(text: &str, pos: usize) -> Option<Diagnostic> {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
    let mut open: Option<usize> = None;
    let mut escaped = false;
    for (i, c) in text[line_start..line_end].char_indices() {
        let at = line_start + i;
        match (open, c) {
            (None, '#') => break,
            (None, '"') => open = Some(at),
            (Some(_), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(_), '"') if !escaped => open = None,
            _ => {}
        }
        escaped = false;
    }
    let start = open?;
    Some(
        Diagnostic::error(
            "unterminated string",
            Span {
                start,
                end: line_end.max(start + 1).min(text.len()),
            },
            "this string has no closing `\"`",
        )
        .with_help("close it with `\"` on the same line (write a line break as `\\n`)"),
    )
}

/// A number glued to an unknown unit (`12db`, `10sec`), or a number and a
/// unit separated by a space (`12 dB`).
fn bad_number(text: &str, pos: usize, found_span: Span) -> Option<Diagnostic> {
    let head = text[..pos].trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    let num_start =
        if head.len() < pos && text[head.len()..pos].starts_with(|c: char| c.is_ascii_digit()) {
            if head.ends_with('-') {
                head.len() - 1
            } else {
                head.len()
            }
        } else {
            pos
        };
    let from_number = num_start < pos;
    let pos = num_start;
    let rest = &text[pos..];
    let digits = rest
        .trim_start_matches('-')
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|n| n + (rest.len() - rest.trim_start_matches('-').len()))
        .unwrap_or(rest.len());
    if digits > 0 && rest[..digits].chars().any(|c| c.is_ascii_digit()) {
        let tail = &rest[digits..];
        let unit_len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '%'))
            .unwrap_or(tail.len());
        if unit_len > 0 {
            let unit = &tail[..unit_len];
            let span = Span {
                start: pos + digits,
                end: pos + digits + unit_len,
            };
            let names: Vec<&str> = Unit::ALL.iter().map(|u| u.suffix()).collect();
            let exact_ci = names.iter().find(|n| n.eq_ignore_ascii_case(unit));
            let help = match exact_ci
                .map(|s| s.to_string())
                .or_else(|| did_you_mean(unit, names.iter().copied()))
            {
                Some(s) => format!("did you mean `{}{s}`?", &rest[..digits]),
                None => format!("units are {}", names.join(" ")),
            };
            return Some(
                Diagnostic::error(format!("unknown unit `{unit}`"), span, "not a unit")
                    .with_help(help),
            );
        }
    }
    if from_number {
        return None;
    }
    let before = text[..pos].trim_end_matches([' ', '\t']);
    let gap = pos - before.len();
    let unit_here = Unit::ALL
        .iter()
        .find(|u| rest.starts_with(u.suffix()) && found_span.end == pos + u.suffix().len());
    if gap > 0 && before.ends_with(|c: char| c.is_ascii_digit()) {
        if let Some(u) = unit_here {
            return Some(
                Diagnostic::error(
                    "a unit must follow its number without a space",
                    Span {
                        start: before.len(),
                        end: pos,
                    },
                    "remove this space",
                )
                .with_help(format!(
                    "write the number and `{}` together, as in `12{}`",
                    u.suffix(),
                    u.suffix()
                )),
            );
        }
    }
    None
}
