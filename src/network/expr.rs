//! Expressions in network files: `"$n"`, `"$n-1"`, `"($i+1)%$n"`, and channel references
//! `name` / `name[expr]`.

use std::fmt;

use indexmap::IndexMap;
use ron::value::Number;
use ron::Value;

use super::codes;

/// A mistake in an expression: its diagnostic code and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExprError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ExprError {
    fn new(code: &'static str, message: impl Into<String>) -> ExprError {
        ExprError {
            code,
            message: message.into(),
        }
    }

    /// The same mistake, its message prefixed (`in expression `$n/0`: `).
    pub(crate) fn within(self, prefix: &str) -> ExprError {
        ExprError {
            message: format!("{prefix}{}", self.message),
            ..self
        }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn overflow() -> ExprError {
    ExprError::new(codes::EXPR_OVERFLOW, "integer overflow")
}

/// The names an expression can use: the network's params and the replicator's index.
pub(crate) struct Scope<'a> {
    pub(crate) params: &'a IndexMap<String, Value>,
    pub(crate) index: Option<(&'a str, i64)>,
}

impl Scope<'_> {
    fn lookup(&self, name: &str) -> Result<Value, ExprError> {
        if let Some((i, v)) = self.index {
            if i == name {
                return Ok(Value::Number(Number::I64(v)));
            }
        }
        self.params.get(name).cloned().ok_or_else(|| {
            let mut names: Vec<&str> = self.params.keys().map(|s| s.as_str()).collect();
            if let Some((i, _)) = self.index {
                names.push(i);
            }
            ExprError::new(
                codes::EXPR_UNKNOWN_NAME,
                format!(
                    "unknown name `${name}`{}",
                    crate::network::suggest(name, names)
                ),
            )
        })
    }
}

/// The integer a value holds, if it holds one.
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => match *n {
            Number::I8(x) => Some(x.into()),
            Number::I16(x) => Some(x.into()),
            Number::I32(x) => Some(x.into()),
            Number::I64(x) => Some(x),
            Number::U8(x) => Some(x.into()),
            Number::U16(x) => Some(x.into()),
            Number::U32(x) => Some(x.into()),
            Number::U64(x) => i64::try_from(x).ok(),
            _ => None,
        },
        _ => None,
    }
}

/// Evaluates every `$` string inside `v`. A string that is exactly `$name` takes the
/// param's own value (of any type); any other string with a `$` is an integer expression.
pub(crate) fn eval_value(v: &Value, scope: &Scope) -> Result<Value, ExprError> {
    Ok(match v {
        Value::String(s) if s.contains("$$") && !s.replace("$$", "").contains('$') => {
            Value::String(s.replace("$$", "$"))
        }
        Value::String(s) if s.contains('$') => {
            let t = s.trim();
            if let Some(name) = t.strip_prefix('$').filter(|n| is_ident(n)) {
                scope.lookup(name)?
            } else {
                Value::Number(Number::I64(eval_int(s, scope)?))
            }
        }
        Value::Seq(items) => Value::Seq(
            items
                .iter()
                .map(|i| eval_value(i, scope))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let mut out = ron::Map::new();
            for (k, v) in m.iter() {
                out.insert(k.clone(), eval_value(v, scope)?);
            }
            Value::Map(out)
        }
        other => other.clone(),
    })
}

/// Evaluates a value that must be an integer: a number, or an expression string.
pub(crate) fn eval_int_value(v: &Value, scope: &Scope) -> Result<i64, ExprError> {
    match v {
        Value::String(s) => eval_int(s, scope),
        other => as_int(other).ok_or_else(|| {
            ExprError::new(
                codes::EXPR_NOT_INT,
                format!(
                    "expected an integer, found {}",
                    crate::registry::show_value(other)
                ),
            )
        }),
    }
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(i64),
    Name(String),
    Op(char),
}

fn lex(s: &str) -> Result<Vec<Tok>, ExprError> {
    let mut out = Vec::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let st = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let t: String = b[st..i].iter().collect();
            out.push(Tok::Num(t.parse().map_err(|_| {
                ExprError::new(codes::EXPR_OVERFLOW, format!("number `{t}` is too large"))
            })?));
        } else if c == '$' {
            let st = i + 1;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            if st == i {
                return Err(ExprError::new(
                    codes::EXPR_SYNTAX,
                    "`$` must be followed by a name",
                ));
            }
            out.push(Tok::Name(b[st..i].iter().collect()));
        } else if "+-*/%()".contains(c) {
            out.push(Tok::Op(c));
            i += 1;
        } else {
            return Err(ExprError::new(
                codes::EXPR_SYNTAX,
                format!(
                "unexpected `{c}` (expressions use integers, $names, + - * / % and parentheses)"
            ),
            ));
        }
    }
    Ok(out)
}

/// Evaluates an integer expression such as `$n-1` or `($i+1)%$n`.
pub(crate) fn eval_int(s: &str, scope: &Scope) -> Result<i64, ExprError> {
    let within = format!("in expression `{s}`: ");
    let toks = lex(s).map_err(|e| e.within(&within))?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        depth: 0,
        scope,
    };
    let v = p.expr().map_err(|e| e.within(&within))?;
    if p.pos != toks.len() {
        return Err(ExprError::new(
            codes::EXPR_SYNTAX,
            format!("{within}unexpected {:?} after the end", toks[p.pos]),
        ));
    }
    Ok(v)
}

/// How deeply parentheses may nest: deeper input is refused rather than allowed to
/// overflow the stack.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
    depth: usize,
    scope: &'a Scope<'a>,
}

impl Parser<'_> {
    fn peek_op(&self) -> Option<char> {
        match self.toks.get(self.pos) {
            Some(Tok::Op(c)) => Some(*c),
            _ => None,
        }
    }

    fn expr(&mut self) -> Result<i64, ExprError> {
        let mut v = self.term()?;
        while let Some(op @ ('+' | '-')) = self.peek_op() {
            self.pos += 1;
            let r = self.term()?;
            v = if op == '+' {
                v.checked_add(r)
            } else {
                v.checked_sub(r)
            }
            .ok_or_else(overflow)?;
        }
        Ok(v)
    }

    fn term(&mut self) -> Result<i64, ExprError> {
        let mut v = self.unary()?;
        while let Some(op @ ('*' | '/' | '%')) = self.peek_op() {
            self.pos += 1;
            let r = self.unary()?;
            v = match op {
                '*' => v.checked_mul(r).ok_or_else(overflow)?,
                _ if r == 0 => {
                    return Err(ExprError::new(codes::EXPR_DIV_ZERO, "division by zero"))
                }
                '/' => v.checked_div(r).ok_or_else(overflow)?,
                _ => v.checked_rem_euclid(r).ok_or_else(overflow)?,
            };
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<i64, ExprError> {
        if self.depth > MAX_DEPTH {
            return Err(ExprError::new(
                codes::EXPR_NESTED,
                format!("nested more than {MAX_DEPTH} deep"),
            ));
        }
        if self.peek_op() == Some('-') {
            self.depth += 1;
            let r = self.unary_minus();
            self.depth -= 1;
            return r;
        }
        self.atom()
    }

    fn unary_minus(&mut self) -> Result<i64, ExprError> {
        self.pos += 1;
        self.unary()?.checked_neg().ok_or_else(overflow)
    }

    fn atom(&mut self) -> Result<i64, ExprError> {
        let t = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or_else(|| ExprError::new(codes::EXPR_SYNTAX, "unexpected end"))?;
        self.pos += 1;
        match t {
            Tok::Num(n) => Ok(n),
            Tok::Name(n) => {
                let v = self.scope.lookup(&n)?;
                as_int(&v).ok_or_else(|| {
                    ExprError::new(
                        codes::EXPR_NOT_INT,
                        format!(
                            "`${n}` is {}, not an integer",
                            crate::registry::show_value(&v)
                        ),
                    )
                })
            }
            Tok::Op('(') => {
                if self.depth > MAX_DEPTH {
                    return Err(ExprError::new(
                        codes::EXPR_NESTED,
                        format!("nested more than {MAX_DEPTH} deep"),
                    ));
                }
                self.depth += 1;
                let v = self.expr();
                self.depth -= 1;
                let v = v?;
                if self.peek_op() != Some(')') {
                    return Err(ExprError::new(codes::EXPR_SYNTAX, "missing `)`"));
                }
                self.pos += 1;
                Ok(v)
            }
            Tok::Op(c) => Err(ExprError::new(
                codes::EXPR_SYNTAX,
                format!("unexpected `{c}`"),
            )),
        }
    }
}

/// A reference to a channel: `name` or `name[expr]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChanRef {
    pub(crate) name: String,
    pub(crate) index: Option<i64>,
}

/// Parses and evaluates a channel reference.
pub(crate) fn chan_ref(s: &str, scope: &Scope) -> Result<ChanRef, ExprError> {
    let s = s.trim();
    match s.find('[') {
        None => Ok(ChanRef {
            name: s.to_string(),
            index: None,
        }),
        Some(open) => {
            if !s.ends_with(']') {
                return Err(ExprError::new(
                    codes::EXPR_SYNTAX,
                    format!("channel reference `{s}` has no closing `]`"),
                ));
            }
            let name = s[..open].trim().to_string();
            let idx = eval_int(&s[open + 1..s.len() - 1], scope)?;
            Ok(ChanRef {
                name,
                index: Some(idx),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope_eval(s: &str, i: Option<i64>) -> Result<i64, String> {
        scope_eval_coded(s, i).map_err(|e| e.message)
    }

    fn scope_eval_coded(s: &str, i: Option<i64>) -> Result<i64, ExprError> {
        let mut p = IndexMap::new();
        p.insert("n".to_string(), Value::Number(Number::U16(256)));
        p.insert("name".to_string(), Value::String("x".into()));
        eval_int(
            s,
            &Scope {
                params: &p,
                index: i.map(|v| ("i", v)),
            },
        )
    }

    #[test]
    fn evaluates() {
        assert_eq!(scope_eval("$n-1", None), Ok(255));
        assert_eq!(scope_eval("($i+1)%$n", Some(255)), Ok(0));
        assert_eq!(scope_eval("2*($n - 6)/10", None), Ok(50));
        assert_eq!(scope_eval("-3 % 4", None), Ok(1));
        assert_eq!(scope_eval("7", None), Ok(7));
    }

    #[test]
    fn errors_are_clear() {
        assert!(scope_eval("$m", None)
            .unwrap_err()
            .contains("unknown name `$m`"));
        assert!(scope_eval("$name+1", None)
            .unwrap_err()
            .contains("not an integer"));
        assert!(scope_eval("1/0", None)
            .unwrap_err()
            .contains("division by zero"));
        assert!(scope_eval("(1", None).unwrap_err().contains("missing `)`"));
        assert!(scope_eval("1 2", None).is_err());
        assert!(scope_eval("1 # 2", None).is_err());
        assert!(scope_eval("99999999999999999999", None).is_err());
        let code = |s| scope_eval_coded(s, None).unwrap_err().code;
        assert_eq!(code("$m"), codes::EXPR_UNKNOWN_NAME);
        assert_eq!(code("$name+1"), codes::EXPR_NOT_INT);
        assert_eq!(code("1/0"), codes::EXPR_DIV_ZERO);
        assert_eq!(code("(1"), codes::EXPR_SYNTAX);
        assert_eq!(code("1 2"), codes::EXPR_SYNTAX);
        assert_eq!(code("99999999999999999999"), codes::EXPR_OVERFLOW);
    }

    #[test]
    fn channel_refs() {
        let p = IndexMap::new();
        let s = Scope {
            params: &p,
            index: Some(("i", 3)),
        };
        assert_eq!(
            chan_ref("ring[$i+1]", &s),
            Ok(ChanRef {
                name: "ring".into(),
                index: Some(4)
            })
        );
        assert_eq!(
            chan_ref("x", &s),
            Ok(ChanRef {
                name: "x".into(),
                index: None
            })
        );
        assert!(chan_ref("x[1", &s).is_err());
    }
}

#[cfg(test)]
mod limits {
    use super::*;

    fn eval(s: &str) -> Result<i64, String> {
        eval_int(
            s,
            &Scope {
                params: &IndexMap::new(),
                index: None,
            },
        )
        .map_err(|e| e.message)
    }

    #[test]
    fn overflow_and_depth_are_errors_not_panics() {
        assert!(eval("(-9223372036854775807-1)/-1")
            .unwrap_err()
            .contains("overflow"));
        assert!(eval("(-9223372036854775807-1)%-1")
            .unwrap_err()
            .contains("overflow"));
        let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(eval(&deep).unwrap_err().contains("nested"));
        let negs = format!("{}1", "-".repeat(5000));
        assert!(eval(&negs).unwrap_err().contains("nested"));
    }

    #[test]
    fn a_doubled_dollar_is_a_literal_dollar() {
        let p = IndexMap::new();
        let v = eval_value(
            &Value::String("cost: $$".into()),
            &Scope {
                params: &p,
                index: None,
            },
        );
        assert_eq!(v, Ok(Value::String("cost: $".into())));
    }
}
