//! Errors of network files, with the context layers that locate them.

use std::fmt;
use std::path::PathBuf;

/// One problem in a network file.
///
/// Shown as rustc shows its errors: `file:line:col: error[E0101]: context: message`,
/// then `  help: ...` on a line of its own.
///
/// # Examples
/// ```
/// let d = occamy::network::Diagnostic {
///     file: "net.ron".into(),
///     pos: Some((7, 9)),
///     code: "E0101",
///     context: vec!["process `pre`".into()],
///     message: "unknown kind `prefx` (did you mean `prefix`?)".into(),
///     help: Some("`occamy kinds` lists the kinds".into()),
/// };
/// assert_eq!(
///     d.to_string(),
///     "net.ron:7:9: error[E0101]: process `pre`: unknown kind `prefx` (did you mean `prefix`?)\n  \
///      help: `occamy kinds` lists the kinds"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file at fault.
    pub file: PathBuf,
    /// Line and column (1-based), when known.
    pub pos: Option<(usize, usize)>,
    /// Its stable code (`E0101`): what kind of mistake it is, whatever the message's
    /// wording. [`CODES`](super::CODES) (and docs/network-format.md) lists them with their
    /// meanings and usual fixes; the first two digits say the pass that found it.
    pub code: &'static str,
    /// What it is about, outermost first: ``process `node[3]` ``, ``port `in` ``.
    pub context: Vec<String>,
    /// What is wrong (lower case, no full stop).
    pub message: String,
    /// How to fix it, when we can say.
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((l, c)) = self.pos {
            write!(f, ":{l}:{c}")?;
        }
        write!(f, ": error[{}]: ", self.code)?;
        for c in &self.context {
            write!(f, "{c}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

/// Everything wrong with a network: it did not load, check or build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkError {
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "{d}")?;
        }
        let n = self.diagnostics.len();
        write!(f, "{n} error{}", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for NetworkError {}

type Pos = Option<(usize, usize)>;

/// Where a diagnostic points: a file, a position in it, and what it is about.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub(crate) file: PathBuf,
    pub(crate) pos: Pos,
    pub(crate) context: Vec<String>,
}

impl Site {
    /// The same place, about something inside it (`port `in``).
    pub(crate) fn with(&self, c: String) -> Site {
        let mut s = self.clone();
        s.context.push(c);
        s
    }

    /// The same context at `pos`, if known (else where it was).
    pub(crate) fn at(&self, pos: Pos) -> Site {
        Site {
            pos: pos.or(self.pos),
            ..self.clone()
        }
    }

    /// A diagnostic here.
    pub(crate) fn diag(
        &self,
        code: &'static str,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            pos: self.pos,
            code,
            context: self.context.clone(),
            message: message.into(),
            help,
        }
    }
}

/// Adds `d` to `diags` unless it is there already: one mistake in a replicated
/// declaration is reported once, not once per instance (the instances share its
/// position; a diagnostic with no position is always added).
pub(crate) fn push_once(diags: &mut Vec<Diagnostic>, d: Diagnostic) {
    let seen = d.pos.is_some()
        && diags.iter().any(|o| {
            o.file == d.file
                && o.pos == d.pos
                && o.code == d.code
                && o.message == d.message
                && o.help == d.help
        });
    if !seen {
        diags.push(d);
    }
}
