//! Lexer and Pratt parser: formula text to nodes of a [`Graph`].
//!
//! Names are resolved while parsing, so every problem (a stray character, an
//! unknown function or parameter, a wrong number of arguments, a comparison
//! outside `where`) is reported with the byte span of the offending token and,
//! for names, the nearest known name as a suggestion.
//!
//! Grammar, loosest binding first:
//!
//! ```text
//! expr    := sum
//! sum     := product (('+' | '-') product)*
//! product := unary (('*' | '/') unary)*
//! unary   := '-' unary | power
//! power   := atom ('^' unary)?            (right-associative: 2^-x, x^2^3)
//! atom    := number | name | name '(' args ')' | '(' expr ')'
//! where   := 'where' '(' expr cmp expr ',' expr ',' expr ')'
//! cmp     := '<' | '<=' | '>' | '>=' | '==' | '!='
//! ```
//!
//! The parser never panics: nesting deeper than [`MAX_DEPTH`] is an error, so
//! arbitrary input cannot overflow the stack (a property test checks this).

use std::collections::BTreeMap;
use std::ops::Range;

use super::{Cmp, Fn1, FormulaError, Graph, Id};
use crate::text::did_you_mean;

/// How deeply parentheses and function calls may nest.
pub const MAX_DEPTH: usize = 64;

/// What a parameter name stands for while parsing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Binding {
    /// A fixed value, folded into the program.
    Value(f64),
    /// The k-th learnable parameter, read per unit at run time.
    Learnable(u32),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    F1(Fn1),
    Max,
    Min,
    Clamp,
    Where,
}

/// Every function the language knows, with its arity.
pub const FUNCTIONS: &[(&str, usize)] = &[
    ("exp", 1),
    ("expm1", 1),
    ("ln", 1),
    ("log", 1),
    ("log1p", 1),
    ("sqrt", 1),
    ("abs", 1),
    ("sign", 1),
    ("sin", 1),
    ("cos", 1),
    ("tanh", 1),
    ("sigmoid", 1),
    ("softplus", 1),
    ("erf", 1),
    ("erfc", 1),
    ("atan", 1),
    ("step", 1),
    ("max", 2),
    ("min", 2),
    ("clamp", 3),
    ("where", 3),
];

fn func(name: &str) -> Option<Func> {
    Some(match name {
        "exp" => Func::F1(Fn1::Exp),
        "expm1" => Func::F1(Fn1::Expm1),
        "ln" | "log" => Func::F1(Fn1::Ln),
        "log1p" => Func::F1(Fn1::Log1p),
        "sqrt" => Func::F1(Fn1::Sqrt),
        "abs" => Func::F1(Fn1::Abs),
        "sign" => Func::F1(Fn1::Sign),
        "sin" => Func::F1(Fn1::Sin),
        "cos" => Func::F1(Fn1::Cos),
        "tanh" => Func::F1(Fn1::Tanh),
        "sigmoid" => Func::F1(Fn1::Sigmoid),
        "softplus" => Func::F1(Fn1::Softplus),
        "erf" => Func::F1(Fn1::Erf),
        "erfc" => Func::F1(Fn1::Erfc),
        "atan" => Func::F1(Fn1::Atan),
        "step" => Func::F1(Fn1::Step),
        "max" => Func::Max,
        "min" => Func::Min,
        "clamp" => Func::Clamp,
        "where" => Func::Where,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Num(f64),
    Name,
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    span: Range<usize>,
}

fn lex(src: &str) -> Result<Vec<Token>, FormulaError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                let mut j = i + 1;
                if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                    j += 1;
                }
                if j < bytes.len() && bytes[j].is_ascii_digit() {
                    while j < bytes.len() && bytes[j].is_ascii_digit() {
                        j += 1;
                    }
                    i = j;
                }
            }
            let text = &src[start..i];
            let v: f64 = text
                .parse()
                .map_err(|_| FormulaError::new(format!("`{text}` is not a number"), start..i))?;
            out.push(Token {
                tok: Tok::Num(v),
                span: start..i,
            });
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Name,
                span: start..i,
            });
            continue;
        }
        let two = src.get(i..i + 2).unwrap_or("");
        let (tok, len) = match (c, two) {
            (_, "<=") => (Tok::Op("<="), 2),
            (_, ">=") => (Tok::Op(">="), 2),
            (_, "==") => (Tok::Op("=="), 2),
            (_, "!=") => (Tok::Op("!="), 2),
            (_, "**") => (Tok::Op("^"), 2),
            (b'<', _) => (Tok::Op("<"), 1),
            (b'>', _) => (Tok::Op(">"), 1),
            (b'+', _) => (Tok::Op("+"), 1),
            (b'-', _) => (Tok::Op("-"), 1),
            (b'*', _) => (Tok::Op("*"), 1),
            (b'/', _) => (Tok::Op("/"), 1),
            (b'^', _) => (Tok::Op("^"), 1),
            (b'(', _) => (Tok::LParen, 1),
            (b')', _) => (Tok::RParen, 1),
            (b',', _) => (Tok::Comma, 1),
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                let end = i + ch.len_utf8();
                let help = match ch {
                    '=' => {
                        Some("comparisons are written `==`, and only inside where(...)".to_string())
                    }
                    '[' | '{' => Some("use parentheses `(` `)` for grouping".to_string()),
                    _ => None,
                };
                return Err(
                    FormulaError::new(format!("unexpected character `{ch}`"), i..end).help(help),
                );
            }
        };
        i += len;
        out.push(Token {
            tok,
            span: start..i,
        });
    }
    out.push(Token {
        tok: Tok::End,
        span: src.len()..src.len(),
    });
    Ok(out)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    names: &'a BTreeMap<String, Binding>,
    g: &'a mut Graph,
}

/// Parses `src` into `g`, resolving parameter names through `names`; returns the root.
pub fn parse(
    src: &str,
    names: &BTreeMap<String, Binding>,
    g: &mut Graph,
) -> Result<Id, FormulaError> {
    let toks = lex(src)?;
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        depth: 0,
        names,
        g,
    };
    if p.peek().tok == Tok::End {
        return Err(FormulaError::new("the formula is empty", 0..src.len())
            .help(Some("write an expression in x, e.g. \"max(x, 0)\"".into())));
    }
    let root = p.expr(0)?;
    let t = p.peek().clone();
    match t.tok {
        Tok::End => Ok(root),
        Tok::Op(op) if is_cmp(op) => Err(FormulaError::new(
            format!("comparison `{op}` outside where(...)"),
            t.span,
        )
        .help(Some(
            "comparisons only make sense as where's condition: where(x > 0, x, 0)".into(),
        ))),
        Tok::RParen => Err(FormulaError::new("unmatched `)`", t.span)),
        _ => Err(FormulaError::new(
            format!("expected an operator, found {}", p.describe(&t)),
            t.span,
        )),
    }
}

/// A short piece of `src` starting at byte `at`, for messages.
fn excerpt(src: &str, at: usize) -> String {
    let rest = src.get(at..).unwrap_or("");
    let mut s: String = rest.chars().take(16).collect();
    if rest.chars().count() > 16 {
        s.push_str("...");
    }
    s
}

fn is_cmp(op: &str) -> bool {
    matches!(op, "<" | "<=" | ">" | ">=" | "==" | "!=")
}

/// (left binding power, right binding power) of binary operators.
fn infix(op: &str) -> Option<(u8, u8)> {
    Some(match op {
        "+" | "-" => (1, 2),
        "*" | "/" => (3, 4),
        "^" => (7, 6),
        _ => return None,
    })
}

/// Binding power of the operand of unary minus: looser than `^`, tighter than `*`.
const UNARY_BP: u8 = 5;

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn describe(&self, t: &Token) -> String {
        match t.tok {
            Tok::End => "the end of the formula".to_string(),
            _ => format!("`{}`", &self.src[t.span.clone()]),
        }
    }

    fn enter(&mut self, span: &Range<usize>) -> Result<(), FormulaError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FormulaError::new(
                format!("the formula nests deeper than {MAX_DEPTH} levels"),
                span.clone(),
            ));
        }
        Ok(())
    }

    fn expr(&mut self, min_bp: u8) -> Result<Id, FormulaError> {
        let mut lhs = self.prefix()?;
        loop {
            let t = self.peek().clone();
            let Tok::Op(op) = t.tok else { break };
            let Some((lbp, rbp)) = infix(op) else { break };
            if lbp < min_bp {
                break;
            }
            self.next();
            self.enter(&t.span)?;
            let rhs = self.expr(rbp)?;
            self.depth -= 1;
            let f = match op {
                "+" => super::Fn2::Add,
                "-" => super::Fn2::Sub,
                "*" => super::Fn2::Mul,
                "/" => super::Fn2::Div,
                _ => super::Fn2::Pow,
            };
            lhs = self.g.bin(f, lhs, rhs);
        }
        Ok(lhs)
    }

    fn prefix(&mut self) -> Result<Id, FormulaError> {
        let t = self.next();
        match t.tok {
            Tok::Num(v) => Ok(self.g.num(v)),
            Tok::Op("-") => {
                self.enter(&t.span)?;
                let a = self.expr(UNARY_BP)?;
                self.depth -= 1;
                Ok(self.g.un(Fn1::Neg, a))
            }
            Tok::Op("+") => {
                self.enter(&t.span)?;
                let a = self.expr(UNARY_BP)?;
                self.depth -= 1;
                Ok(a)
            }
            Tok::LParen => {
                self.enter(&t.span)?;
                let a = self.expr(0)?;
                self.depth -= 1;
                let close = self.next();
                if close.tok != Tok::RParen {
                    return Err(FormulaError::new(
                        format!("expected `)`, found {}", self.describe(&close)),
                        close.span,
                    )
                    .help(Some(format!(
                        "close the `(` of `{}`",
                        excerpt(self.src, t.span.start)
                    ))));
                }
                Ok(a)
            }
            Tok::Name => {
                let src = self.src;
                let name = &src[t.span.clone()];
                if self.peek().tok == Tok::LParen {
                    self.call(name, t.span)
                } else {
                    self.name(name, t.span)
                }
            }
            _ => Err(FormulaError::new(
                format!(
                    "expected a number, a name or `(`, found {}",
                    self.describe(&t)
                ),
                t.span,
            )),
        }
    }

    fn name(&mut self, name: &str, span: Range<usize>) -> Result<Id, FormulaError> {
        if name == "x" {
            return Ok(self.g.x());
        }
        if let Some(b) = self.names.get(name) {
            return Ok(match *b {
                Binding::Value(v) => self.g.num(v),
                Binding::Learnable(k) => self.g.param(k),
            });
        }
        match name {
            "pi" => return Ok(self.g.num(std::f64::consts::PI)),
            "e" => return Ok(self.g.num(std::f64::consts::E)),
            _ => {}
        }
        if func(name).is_some() {
            return Err(
                FormulaError::new(format!("function `{name}` needs arguments"), span)
                    .help(Some(format!("call it: {name}(x)"))),
            );
        }
        let mut known: Vec<&str> = vec!["x", "pi", "e"];
        known.extend(self.names.keys().map(String::as_str));
        let help = did_you_mean(name, known.iter().copied()).or_else(|| {
            Some(format!(
                "declare it with params = {{ {name} = 1.0 }}, or use x, pi, e{}",
                if self.names.is_empty() {
                    String::new()
                } else {
                    " or a parameter".into()
                }
            ))
        });
        Err(FormulaError::new(format!("unknown name `{name}`"), span).help(help))
    }

    fn call(&mut self, name: &str, span: Range<usize>) -> Result<Id, FormulaError> {
        let Some(f) = func(name) else {
            let help = did_you_mean(name, FUNCTIONS.iter().map(|(n, _)| *n));
            return Err(FormulaError::new(format!("unknown function `{name}`"), span).help(help));
        };
        self.enter(&span)?;
        self.next(); // the `(`
        let mut args = Vec::new();
        let mut cond = None;
        if self.peek().tok == Tok::RParen {
            self.next();
        } else {
            loop {
                let arg_start = self.peek().span.start;
                let a = self.expr(0)?;
                if f == Func::Where && args.is_empty() && cond.is_none() {
                    let t = self.next();
                    let cmp = match t.tok {
                        Tok::Op("<") => Cmp::Lt,
                        Tok::Op("<=") => Cmp::Le,
                        Tok::Op(">") => Cmp::Gt,
                        Tok::Op(">=") => Cmp::Ge,
                        Tok::Op("==") => Cmp::Eq,
                        Tok::Op("!=") => Cmp::Ne,
                        _ => {
                            return Err(FormulaError::new(
                                "the first argument of where must be a comparison",
                                arg_start..t.span.start.max(arg_start),
                            )
                            .help(Some("for example where(x > 0, x, 0.01 * x)".into())))
                        }
                    };
                    let b = self.expr(0)?;
                    cond = Some((cmp, a, b));
                    args.push(a);
                } else {
                    args.push(a);
                }
                let t = self.next();
                match t.tok {
                    Tok::Comma => continue,
                    Tok::RParen => break,
                    Tok::Op(op) if is_cmp(op) => {
                        return Err(FormulaError::new(
                            format!("comparison `{op}` outside where's condition"),
                            t.span,
                        ))
                    }
                    _ => {
                        return Err(FormulaError::new(
                            format!(
                                "expected `,` or `)` in the call of {name}, found {}",
                                self.describe(&t)
                            ),
                            t.span,
                        )
                        .help(Some(format!(
                            "close the `(` of `{}`",
                            excerpt(self.src, span.start)
                        ))))
                    }
                }
            }
        }
        self.depth -= 1;
        let arity = FUNCTIONS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(1, |(_, a)| *a);
        if args.len() != arity {
            let end = self.toks[self.pos.saturating_sub(1)].span.end;
            let sig = match f {
                Func::Where => "where(cond, a, b)".to_string(),
                Func::Clamp => "clamp(v, lo, hi)".to_string(),
                Func::Max | Func::Min => format!("{name}(a, b)"),
                Func::F1(_) => format!("{name}(a)"),
            };
            return Err(FormulaError::new(
                format!(
                    "{name} takes {arity} argument{}, found {}",
                    if arity == 1 { "" } else { "s" },
                    args.len()
                ),
                span.start..end,
            )
            .help(Some(format!("write {sig}"))));
        }
        Ok(match f {
            Func::F1(f1) => self.g.un(f1, args[0]),
            Func::Max => self.g.where_(Cmp::Gt, args[0], args[1], args[0], args[1]),
            Func::Min => self.g.where_(Cmp::Lt, args[0], args[1], args[0], args[1]),
            Func::Clamp => {
                let lo = self.g.where_(Cmp::Gt, args[0], args[1], args[0], args[1]);
                self.g.where_(Cmp::Lt, lo, args[2], lo, args[2])
            }
            Func::Where => {
                let Some((c, l, r)) = cond else {
                    return Err(FormulaError::new("where needs a condition", span));
                };
                self.g.where_(c, l, r, args[1], args[2])
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(src: &str, x: f64) -> f64 {
        let mut g = Graph::new();
        let mut names = BTreeMap::new();
        names.insert("alpha".to_string(), Binding::Value(0.5));
        let r = parse(src, &names, &mut g).unwrap();
        g.eval(&[r], x, &[])[0]
    }

    fn err(src: &str) -> FormulaError {
        let mut g = Graph::new();
        let mut names = BTreeMap::new();
        names.insert("alpha".to_string(), Binding::Value(0.5));
        parse(src, &names, &mut g).unwrap_err()
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(eval("1 + 2 * 3", 0.0), 7.0);
        assert_eq!(eval("-x^2", 3.0), -9.0);
        assert_eq!(eval("2^3^2", 0.0), 512.0);
        assert_eq!(eval("x^-1 * 4", 2.0), 2.0);
        assert_eq!(eval("(1 + 2) * 3", 0.0), 9.0);
        assert_eq!(eval("10 - 4 - 3", 0.0), 3.0);
        assert_eq!(eval("8 / 4 / 2", 0.0), 1.0);
        assert_eq!(eval("1e-3 * 1000", 0.0), 1.0);
        assert_eq!(eval("alpha * x", 4.0), 2.0);
        assert_eq!(eval("where(x >= 1, 1, 2)", 1.0), 1.0);
        assert_eq!(eval("clamp(x, -1, 1)", 5.0), 1.0);
        assert!((eval("pi + e", 0.0) - 5.859874482048838).abs() < 1e-12);
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = err("max(x, 0) + foo");
        assert_eq!(e.message, "unknown name `foo`");
        assert_eq!(e.span, 12..15);
        let e = err("x * alpah");
        assert_eq!(e.help.as_deref(), Some("did you mean `alpha`?"));
        let e = err("sigmod(x)");
        assert_eq!(e.message, "unknown function `sigmod`");
        assert_eq!(e.help.as_deref(), Some("did you mean `sigmoid`?"));
        let e = err("max(x)");
        assert_eq!(e.message, "max takes 2 arguments, found 1");
        assert_eq!(e.span, 0..6);
        assert_eq!(err("x > 0").message, "comparison `>` outside where(...)");
        assert_eq!(
            err("(x + 1").message,
            "expected `)`, found the end of the formula"
        );
        assert_eq!(err("x $ 1").span, 2..3);
        assert_eq!(err("").message, "the formula is empty");
        assert_eq!(
            err("where(x, 1, 2)").message,
            "the first argument of where must be a comparison"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = "(".repeat(10_000) + "x" + &")".repeat(10_000);
        assert!(err(&src).message.contains("nests deeper"));
        let src = "-".repeat(10_000) + "x";
        assert!(err(&src).message.contains("nests deeper"));
    }
}
