//! The syntax tree of one graph file. Every item keeps its [`Span`] (byte
//! offsets into the text) so diagnostics can point at it and `fmt` can put
//! comments back where they were.

use crate::span::Span;
use crate::value::Value;

/// A parsed graph file.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// The `graph name(args) { }` header, if written.
    pub header: Option<Header>,
    /// Statements in source order.
    pub stmts: Vec<Stmt>,
    /// Every comment in the file, in source order (the parser skips them;
    /// `fmt` puts them back).
    pub comments: Vec<Comment>,
}

/// The optional `graph name(args) { ... }` header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Graph name.
    pub name: Ident,
    /// Graph settings (`rate`, `frame`, `realtime`, `duration`).
    pub args: Vec<ArgNode>,
    /// From `graph` to the closing `}`.
    pub span: Span,
}

/// A `#` comment, without its line break.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// The text from `#` to the end of the line, trailing spaces removed.
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// An identifier with its place.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The identifier.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `name = kind(args)`.
    Decl(Decl),
    /// `a -> b -> c`.
    Chain(Chain),
}

impl Stmt {
    /// The statement's extent.
    pub fn span(&self) -> Span {
        match self {
            Stmt::Decl(d) => d.span,
            Stmt::Chain(c) => c.span,
        }
    }
}

/// `name = kind(args)`: names one node instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Decl {
    /// The instance name.
    pub name: Ident,
    /// The kind and its arguments.
    pub call: Call,
    /// The whole statement.
    pub span: Span,
}

/// `a -> b -> c`: connections, left to right.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// Two or more endpoints.
    pub items: Vec<Endpoint>,
    /// The whole statement.
    pub span: Span,
}

/// One end of an arrow.
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    /// `kind(args)`: an anonymous instance.
    Call(Call),
    /// `name` or `name.port`.
    Port(PortRef),
    /// `[a, b]`: fan in, fan out or pairs.
    Group(Group),
}

impl Endpoint {
    /// The endpoint's extent.
    pub fn span(&self) -> Span {
        match self {
            Endpoint::Call(c) => c.span,
            Endpoint::Port(p) => p.span,
            Endpoint::Group(g) => g.span,
        }
    }
}

/// `kind(args)`, or a bare kind on the right of `name =`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Node kind.
    pub kind: Ident,
    /// Arguments as written.
    pub args: Vec<ArgNode>,
    /// Whole call.
    pub span: Span,
}

/// `node` or `node.port`.
#[derive(Debug, Clone, PartialEq)]
pub struct PortRef {
    /// A declared name, or a kind (an anonymous instance with defaults).
    pub node: Ident,
    /// The port, if named.
    pub port: Option<Ident>,
    /// Whole reference.
    pub span: Span,
}

/// `[a, b, ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Members in order.
    pub items: Vec<Endpoint>,
    /// From `[` to `]`.
    pub span: Span,
}

/// `name: value`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgNode {
    /// Parameter name.
    pub name: Ident,
    /// The value as written.
    pub value: Value,
    /// Where the value is.
    pub value_span: Span,
    /// The whole argument.
    pub span: Span,
}
