//! The network file format as serde reads it (see docs/network-format.md). Fields whose
//! shape varies (channel specs, port bindings, param values) stay `ron::Value` and are
//! read by the loader, which can then say exactly what is wrong with them.

use indexmap::IndexMap;
use ron::extensions::Extensions;
use ron::Value;
use serde::Deserialize;

use crate::registry::PortDir;

#[derive(Debug, Deserialize)]
#[serde(rename = "Network", deny_unknown_fields)]
pub(crate) struct NetworkDecl {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) doc: Option<String>,
    #[serde(default, deserialize_with = "unique_values")]
    pub(crate) params: IndexMap<String, Value>,
    #[serde(default, deserialize_with = "unique_values")]
    pub(crate) channels: IndexMap<String, Value>,
    #[serde(default, deserialize_with = "unique")]
    pub(crate) processes: IndexMap<String, ProcessDecl>,
    #[serde(default, deserialize_with = "unique")]
    pub(crate) ports: IndexMap<String, ExportDecl>,
    #[serde(default)]
    pub(crate) barriers: Vec<String>,
    #[serde(default)]
    pub(crate) scheduler: Option<SchedulerDecl>,
    #[serde(default)]
    pub(crate) placement: Option<PlacementDecl>,
}

/// How processes that name no rank are placed on MPI ranks (see "Placement" in
/// docs/network-format.md). Without one, every such process is on rank 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename = "placement", deny_unknown_fields)]
pub(crate) enum PlacementDecl {
    /// Replica `i` of the outermost replicated declaration a process belongs to (itself or
    /// a sub-network instance it is in) on rank `i % ranks`; the others on rank 0.
    RoundRobin,
    /// The `k`-th sub-network instance of the top-level file (counting replicas) and
    /// everything in it on rank `k % ranks`; the top-level file's own processes on rank 0.
    BySubnetwork,
}

/// The variants of [`PlacementDecl`], for suggestions.
pub(crate) const PLACEMENTS: &[&str] = &["RoundRobin", "BySubnetwork"];

pub(crate) const PLACEMENT_HELP: &str = "write `placement: RoundRobin` or `placement: BySubnetwork` (or leave it out: rank 0 unless a process names its `rank`)";

/// The scheduler a file asks for. `workers` stays a `Value` so that it can be a param
/// expression, evaluated (and its mistakes placed) by the loader.
#[derive(Debug, Deserialize)]
#[serde(rename = "scheduler", deny_unknown_fields)]
pub(crate) enum SchedulerDecl {
    Threads,
    Green {
        #[serde(default)]
        workers: Option<Value>,
    },
}

/// The variants of [`SchedulerDecl`], for suggestions.
pub(crate) const SCHEDULERS: &[&str] = &["Threads", "Green"];

const SCHEDULER_HELP: &str =
    "write `scheduler: Threads`, `scheduler: Green()` or `scheduler: Green(workers: N)`";

#[derive(Debug, Deserialize)]
#[serde(rename = "process", deny_unknown_fields)]
pub(crate) struct ProcessDecl {
    #[serde(default)]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) network: Option<String>,
    #[serde(default, deserialize_with = "unique_values")]
    pub(crate) params: IndexMap<String, Value>,
    #[serde(default, deserialize_with = "unique_values")]
    pub(crate) ports: IndexMap<String, Value>,
    #[serde(default)]
    pub(crate) replicate: Option<ReplicateDecl>,
    #[serde(default)]
    pub(crate) thread: Option<Value>,
    /// The MPI rank it runs on: an integer or an expression (`"$i % $ranks"`).
    #[serde(default)]
    pub(crate) rank: Option<Value>,
}

fn default_index() -> String {
    "i".into()
}

#[derive(Debug, Deserialize)]
#[serde(rename = "replicate", deny_unknown_fields)]
pub(crate) struct ReplicateDecl {
    pub(crate) count: Value,
    #[serde(default = "default_index")]
    pub(crate) index: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "port", deny_unknown_fields)]
pub(crate) struct ExportDecl {
    #[serde(rename = "type")]
    pub(crate) ty: String,
    pub(crate) dir: PortDir,
    pub(crate) channel: String,
}

/// A map whose keys must be unique: a name declared twice is an error (serde would
/// silently keep the last one).
fn unique<'de, D, V>(d: D) -> Result<IndexMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Unique<V> {
        type Value = IndexMap<String, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of names")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = IndexMap::new();
            while let Some(k) = m.next_key::<String>()? {
                if out.contains_key(&k) {
                    return Err(serde::de::Error::custom(format!("`{k}` is declared twice")));
                }
                let v = m.next_value()?;
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique(std::marker::PhantomData))
}

/// A map of names to values in which no key is given twice, at any depth: ron's own
/// `Value` keeps the last of two equal keys (`(type: "u64", type: "String")` would quietly
/// be a `String` channel).
fn unique_values<'de, D>(d: D) -> Result<IndexMap<String, Value>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let m: IndexMap<String, Checked> = unique(d)?;
    Ok(m.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// A `ron::Value` read with every map and struct checked for duplicate keys.
struct Checked(Value);

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor).map(Checked)
    }
}

struct CheckedVisitor;

impl<'de> serde::de::Visitor<'de> for CheckedVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a RON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f32<E>(self, v: f32) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_char<E>(self, v: char) -> Result<Value, E> {
        Ok(Value::Char(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Option(None))
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Ok(Value::Option(Some(Box::new(Checked::deserialize(d)?.0))))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Unit)
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Checked::deserialize(d).map(|c| c.0)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Checked(v)) = s.next_element()? {
            out.push(v);
        }
        Ok(Value::Seq(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
        let mut out = ron::Map::new();
        while let Some(Checked(k)) = m.next_key()? {
            if out.get(&k).is_some() {
                let name = match &k {
                    Value::String(s) => s.clone(),
                    k => ron::to_string(k).unwrap_or_default(),
                };
                return Err(serde::de::Error::custom(format!("`{name}` is given twice")));
            }
            let Checked(v) = m.next_value()?;
            out.insert(k, v);
        }
        Ok(Value::Map(out))
    }
}

/// A parse error: its code, message, line and column, and help if there is some to give.
pub(crate) type ParseError = (&'static str, String, (usize, usize), Option<String>);

/// Parses a network file.
pub(crate) fn parse(src: &str) -> Result<NetworkDecl, ParseError> {
    let opts = ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME);
    opts.from_str::<NetworkDecl>(src).map_err(|e| {
        // serde knows the scheduler's variants but not how to suggest one: say it the
        // loader's way.
        if let ron::Error::NoSuchEnumVariant {
            found,
            outer: Some(outer),
            ..
        } = &e.code
        {
            if outer == "scheduler" {
                let sug = super::suggest(found, SCHEDULERS.iter().copied());
                return (
                    super::codes::UNKNOWN_SCHEDULER,
                    format!("unknown scheduler `{found}`{sug}"),
                    (e.span.start.line, e.span.start.col),
                    Some(SCHEDULER_HELP.into()),
                );
            }
            if outer == "placement" {
                let sug = super::suggest(found, PLACEMENTS.iter().copied());
                return (
                    super::codes::UNKNOWN_PLACEMENT,
                    format!("unknown placement `{found}`{sug}"),
                    (e.span.start.line, e.span.start.col),
                    Some(PLACEMENT_HELP.into()),
                );
            }
        }
        let msg = e.code.to_string();
        let first = msg
            .chars()
            .next()
            .map(|c| c.to_lowercase().collect::<String>())
            .unwrap_or_default();
        let pos = (e.span.start.line, e.span.start.col);
        // The syntax of a scheduler is the one part of the format a general hint does not
        // cover (`Green` needs its parentheses, `Threads` has none).
        let help = if let ron::Error::DuplicateStructField { .. } = &e.code {
            Some("give each field once".to_string())
        } else if Locator::new(src).within_top("scheduler", pos) {
            Some(SCHEDULER_HELP.to_string())
        } else if Locator::new(src).within_top("placement", pos) {
            Some(PLACEMENT_HELP.to_string())
        } else {
            None
        };
        (
            parse_code(&e.code),
            format!(
                "{first}{}",
                &msg[msg.chars().next().map_or(0, |c| c.len_utf8())..]
            ),
            pos,
            help,
        )
    })
}

/// The diagnostic code of a parse error.
fn parse_code(e: &ron::Error) -> &'static str {
    use super::codes;
    match e {
        ron::Error::DuplicateStructField { .. } => codes::DUPLICATE,
        // `unique` and `Checked` say so when a name or key is given twice.
        ron::Error::Message(m) if m.ends_with(" twice") => codes::DUPLICATE,
        ron::Error::NoSuchStructField { .. } => codes::UNKNOWN_FIELD,
        ron::Error::MissingStructField { .. } => codes::MISSING_FIELD,
        _ => codes::SYNTAX,
    }
}

/// Finds where names are declared in a file's text, for diagnostics about things serde
/// has no position for (a process, a port, a channel). It reads the file's structure
/// (strings, comments, nesting), so a name is found where it is declared: as a key of the
/// right top-level section, not wherever the same text first appears.
pub(crate) struct Locator {
    src: String,
    toks: Vec<Tok>,
}

#[derive(Debug, PartialEq)]
enum TokKind {
    Str(String),
    Ident(String),
    Open,
    Close,
    Colon,
    Comma,
    Other,
}

#[derive(Debug)]
struct Tok {
    kind: TokKind,
    start: usize,
    depth: usize,
}

fn tokenize(src: &str) -> Vec<Tok> {
    let b = src.as_bytes();
    let mut toks = Vec::new();
    let (mut i, mut depth) = (0usize, 0usize);
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                // RON block comments nest.
                let mut level = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        level += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        level -= 1;
                        i += 2;
                        if level == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'"' => {
                let mut text = Vec::new();
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    text.push(b[i]);
                    i += 1;
                }
                i += 1;
                TokKind::Str(String::from_utf8_lossy(&text).into_owned())
            }
            b'(' | b'[' | b'{' => {
                i += 1;
                toks.push(Tok {
                    kind: TokKind::Open,
                    start,
                    depth,
                });
                depth += 1;
                continue;
            }
            b')' | b']' | b'}' => {
                i += 1;
                depth = depth.saturating_sub(1);
                TokKind::Close
            }
            b':' => {
                i += 1;
                TokKind::Colon
            }
            b',' => {
                i += 1;
                TokKind::Comma
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                TokKind::Ident(src[start..i].to_string())
            }
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => {
                // Skip one whole character (names and strings may hold any UTF-8).
                i += src[i..].chars().next().map_or(1, char::len_utf8);
                TokKind::Other
            }
        };
        toks.push(Tok { kind, start, depth });
    }
    toks
}

impl Locator {
    pub(crate) fn new(src: &str) -> Locator {
        Locator {
            src: src.to_string(),
            toks: tokenize(src),
        }
    }

    fn pos_of(&self, off: usize) -> (usize, usize) {
        let before = &self.src[..off.min(self.src.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    fn is_key(&self, i: usize) -> bool {
        self.toks
            .get(i + 1)
            .is_some_and(|t| t.kind == TokKind::Colon)
    }

    /// The token range of the value of the key at `i` (a key followed by `:`).
    fn value_span(&self, i: usize) -> std::ops::Range<usize> {
        let depth = self.toks[i].depth;
        let end = (i + 2..self.toks.len())
            .find(|&j| {
                let t = &self.toks[j];
                t.depth < depth
                    || (t.depth == depth && matches!(t.kind, TokKind::Comma | TokKind::Close))
            })
            .unwrap_or(self.toks.len());
        i + 2..end
    }

    /// The token range of top-level section `section` (`processes:` inside `Network(`).
    fn section(&self, section: &str) -> Option<std::ops::Range<usize>> {
        self.top(section).map(|i| self.value_span(i))
    }

    /// The index of entry `name` directly inside `section` (a map key or a list item).
    fn entry(&self, section: &str, name: &str) -> Option<usize> {
        self.section(section)?
            .find(|&i| self.toks[i].depth == 2 && self.toks[i].kind == TokKind::Str(name.into()))
    }

    /// The position of entry `name` of top-level `section` (`processes`, `channels`,
    /// `params`, `ports`, `barriers`).
    pub(crate) fn find(&self, section: &str, name: &str) -> Option<(usize, usize)> {
        self.entry(section, name)
            .map(|i| self.pos_of(self.toks[i].start))
    }

    /// The index of top-level field `field` (`scheduler:` inside `Network(`).
    fn top(&self, field: &str) -> Option<usize> {
        (0..self.toks.len()).find(|&i| {
            self.toks[i].depth == 1
                && self.toks[i].kind == TokKind::Ident(field.into())
                && self.is_key(i)
        })
    }

    /// Whether `pos` lies in top-level field `field`, from its name to the end of its value.
    pub(crate) fn within_top(&self, field: &str, pos: (usize, usize)) -> bool {
        let Some(i) = self.top(field) else {
            return false;
        };
        let end = self
            .toks
            .get(self.value_span(i).end)
            .map_or(self.src.len(), |t| t.start);
        self.pos_of(self.toks[i].start) <= pos && pos <= self.pos_of(end)
    }

    /// The position of top-level field `field`.
    pub(crate) fn find_top(&self, field: &str) -> Option<(usize, usize)> {
        self.top(field).map(|i| self.pos_of(self.toks[i].start))
    }

    /// The position of field `key` directly inside the value of top-level field `field`
    /// (`workers` in `scheduler: Green(workers: 2)`).
    pub(crate) fn find_top_key(&self, field: &str, key: &str) -> Option<(usize, usize)> {
        let i = self.top(field)?;
        let depth = self.toks[i].depth + 1;
        self.value_span(i)
            .find(|&j| {
                self.toks[j].depth == depth
                    && self.toks[j].kind == TokKind::Ident(key.into())
                    && self.is_key(j)
            })
            .map(|j| self.pos_of(self.toks[j].start))
    }

    /// The position of field `key` (an identifier such as `thread`, not a quoted port or
    /// param) of entry `name` of `section`.
    pub(crate) fn find_field(
        &self,
        section: &str,
        name: &str,
        key: &str,
    ) -> Option<(usize, usize)> {
        let e = self.entry(section, name)?;
        let depth = self.toks[e].depth + 1;
        self.value_span(e)
            .find(|&j| {
                self.toks[j].depth == depth
                    && self.toks[j].kind == TokKind::Ident(key.into())
                    && self.is_key(j)
            })
            .map(|j| self.pos_of(self.toks[j].start))
    }

    /// The position of the value of field `key` of entry `name` of `section` (`1` in
    /// `rank: 1`), for diagnostics about the value rather than the field.
    pub(crate) fn find_field_value(
        &self,
        section: &str,
        name: &str,
        key: &str,
    ) -> Option<(usize, usize)> {
        let e = self.entry(section, name)?;
        let depth = self.toks[e].depth + 1;
        self.value_span(e)
            .find(|&j| {
                self.toks[j].depth == depth
                    && self.toks[j].kind == TokKind::Ident(key.into())
                    && self.is_key(j)
            })
            .and_then(|j| self.toks.get(j + 2))
            .map(|t| self.pos_of(t.start))
    }

    /// The position of key `key` inside the value of entry `name` of `section`: a port or
    /// param of a process.
    pub(crate) fn find_key(&self, section: &str, name: &str, key: &str) -> Option<(usize, usize)> {
        let e = self.entry(section, name)?;
        self.value_span(e)
            .find(|&i| self.toks[i].kind == TokKind::Str(key.into()) && self.is_key(i))
            .map(|i| self.pos_of(self.toks[i].start))
    }
}

#[cfg(test)]
mod tests {
    use super::Locator;

    #[test]
    fn finds_declarations_not_uses() {
        let src = r#"// processes: in a comment
Network(
    name: "n",
    channels: { "c": "u64", "src": "u64" },
    processes: {
        "a": (kind: "id", ports: { "in": "src", "out": "c" }),
        /* "src" in a comment */
        "src": (kind: "numbers", params: { "count": 3 }, ports: { "out": "src" }),
    },
    ports: { "p": (type: "u64", dir: In, channel: "c") },
    barriers: ["b"],
)"#;
        let l = Locator::new(src);
        assert_eq!(l.find("processes", "src"), Some((8, 9)));
        assert_eq!(l.find("channels", "src"), Some((4, 29)));
        assert_eq!(l.find_key("processes", "src", "count"), Some((8, 44)));
        assert_eq!(l.find_key("processes", "a", "out"), Some((6, 49)));
        assert_eq!(l.find("ports", "p"), Some((10, 14)));
        assert_eq!(l.find("barriers", "b"), Some((11, 16)));
        assert_eq!(l.find("processes", "nope"), None);
        assert_eq!(l.find_top("barriers"), Some((11, 5)));
        assert_eq!(l.find_field("processes", "a", "kind"), Some((6, 15)));
        // `count` there is a quoted param, not a field.
        assert_eq!(l.find_field("processes", "src", "count"), None);
        assert_eq!(l.find_field_value("processes", "a", "kind"), Some((6, 21)));
        let l = Locator::new("Network(name: \"n\", scheduler: Green(workers: -1))");
        assert_eq!(l.find_top("scheduler"), Some((1, 20)));
        assert_eq!(l.find_top_key("scheduler", "workers"), Some((1, 37)));
    }
}
