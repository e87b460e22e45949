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
    #[serde(default)]
    pub(crate) params: IndexMap<String, Value>,
    #[serde(default)]
    pub(crate) channels: IndexMap<String, Value>,
    #[serde(default)]
    pub(crate) processes: IndexMap<String, ProcessDecl>,
    #[serde(default)]
    pub(crate) ports: IndexMap<String, ExportDecl>,
    #[serde(default)]
    pub(crate) barriers: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "process", deny_unknown_fields)]
pub(crate) struct ProcessDecl {
    #[serde(default)]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) network: Option<String>,
    #[serde(default)]
    pub(crate) params: IndexMap<String, Value>,
    #[serde(default)]
    pub(crate) ports: IndexMap<String, Value>,
    #[serde(default)]
    pub(crate) replicate: Option<ReplicateDecl>,
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

/// Parses a network file; on error, the message and its line and column.
pub(crate) fn parse(src: &str) -> Result<NetworkDecl, (String, (usize, usize))> {
    let opts = ron::Options::default().with_default_extension(Extensions::IMPLICIT_SOME);
    opts.from_str::<NetworkDecl>(src).map_err(|e| {
        let msg = e.code.to_string();
        let first = msg
            .chars()
            .next()
            .map(|c| c.to_lowercase().collect::<String>())
            .unwrap_or_default();
        (
            format!(
                "{first}{}",
                &msg[msg.chars().next().map_or(0, |c| c.len_utf8())..]
            ),
            (e.span.start.line, e.span.start.col),
        )
    })
}

/// Finds where names are declared in a file's text, for diagnostics about things serde
/// has no position for (a process, a port, a channel).
pub(crate) struct Locator {
    src: String,
}

impl Locator {
    pub(crate) fn new(src: &str) -> Locator {
        Locator {
            src: src.to_string(),
        }
    }

    fn pos_of(&self, off: usize) -> (usize, usize) {
        let before = &self.src[..off];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    fn find_from(&self, from: usize, quoted: &str) -> Option<usize> {
        let pat = format!("\"{quoted}\"");
        self.src.get(from..)?.find(&pat).map(|o| o + from)
    }

    fn section(&self, section: &str) -> usize {
        self.src.find(&format!("{section}:")).unwrap_or(0)
    }

    /// The position of `"name"` in `section` (`processes`, `channels`, `params`, `ports`).
    pub(crate) fn find(&self, section: &str, name: &str) -> Option<(usize, usize)> {
        let off = self
            .find_from(self.section(section), name)
            .or_else(|| self.find_from(0, name))?;
        Some(self.pos_of(off))
    }

    /// The position of `"key"` after `"name"` in `section`: a port or param of a process.
    pub(crate) fn find_key(&self, section: &str, name: &str, key: &str) -> Option<(usize, usize)> {
        let start = self.find_from(self.section(section), name)?;
        let off = self.find_from(start, key)?;
        Some(self.pos_of(off))
    }
}
