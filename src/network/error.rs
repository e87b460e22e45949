//! Errors of network files, with the context layers that locate them.

use std::fmt;
use std::path::PathBuf;

/// One problem in a network file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file at fault.
    pub file: PathBuf,
    /// Line and column (1-based), when known.
    pub pos: Option<(usize, usize)>,
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
        write!(f, ": error: ")?;
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
