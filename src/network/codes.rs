//! The diagnostic codes: one stable code per kind of mistake, grouped by the pass that
//! finds it. docs/network-format.md lists them (a table tests/diagnostics.rs renders from
//! [`CODES`] and checks); a code, once given, keeps its meaning.

/// One diagnostic code: what it means and how it is usually fixed.
///
/// # Examples
/// ```
/// let e = occamy::network::CODES.iter().find(|c| c.code == "E0101").unwrap();
/// assert_eq!(e.pass, "names");
/// assert!(e.meaning.contains("kind"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// The code: `E` and four digits; the first two say the pass.
    pub code: &'static str,
    /// The pass that reports it: `syntax`, `names`, `types`, `ports`, `expressions`,
    /// `limits`, `processes` (loading and checking), `run` (wiring and starting), or
    /// `placement` (on MPI ranks).
    pub pass: &'static str,
    /// What it means (lower case).
    pub meaning: &'static str,
    /// The usual fix (lower case).
    pub fix: &'static str,
}

/// Declares each code once, as a constant for the passes and as an entry of [`CODES`],
/// so that the two cannot drift apart.
macro_rules! codes {
    ($( $pass:literal { $( $name:ident = $code:literal, $meaning:literal, $fix:literal; )* } )*) => {
        $( $( pub(crate) const $name: &str = $code; )* )*
        /// Every diagnostic code, in order, with its pass, meaning and usual fix.
        ///
        /// # Examples
        /// ```
        /// let codes = occamy::network::CODES;
        /// assert!(codes.windows(2).all(|w| w[0].code < w[1].code));
        /// ```
        pub const CODES: &[CodeInfo] = &[
            $( $( CodeInfo { code: $code, pass: $pass, meaning: $meaning, fix: $fix }, )* )*
        ];
    };
}

codes! {
    "syntax" {
        FILE_UNREADABLE = "E0001", "a network or sub-network file cannot be read",
            "check the path (a sub-network's path is relative to the including file)";
        SYNTAX = "E0002", "the file is not RON, or not shaped as a network",
            "see the format above; the message says what was expected where";
        DUPLICATE = "E0003", "a name, key or field is given twice",
            "give each once (RON would silently keep the last)";
        UNKNOWN_FIELD = "E0004", "a field the format does not have",
            "check its spelling against the format";
        MISSING_FIELD = "E0005", "a field the format needs is missing (`name`, a port's `dir`)",
            "add it";
        INCLUDE_CYCLE = "E0006", "a sub-network includes itself, directly or not",
            "break the cycle of `network:` paths";
    }
    "names" {
        UNKNOWN_KIND = "E0101", "a process names a kind the registry lacks",
            "`occamy kinds` lists the kinds; register a program's own";
        UNKNOWN_CHANNEL = "E0102", "a port is bound to (or exports) an undeclared channel",
            "declare it under `channels`, or fix the spelling";
        UNKNOWN_PORT = "E0103", "a process binds a port its kind does not have",
            "`occamy kinds KIND` shows its ports";
        UNKNOWN_PARAM = "E0104", "a process gives a param its kind does not take",
            "`occamy kinds KIND` shows its params";
        UNKNOWN_NETWORK_PARAM = "E0105",
            "`--set` or an including process gives a param the network does not declare",
            "declare it under the network's `params`, or fix the spelling";
        UNKNOWN_BARRIER = "E0106", "a barrier port is bound to an undeclared barrier",
            "declare it under `barriers`";
        UNKNOWN_TYPE = "E0107", "a channel carries a type the registry lacks",
            "use a built-in type, or `Registry::register_type`";
        UNKNOWN_SCHEDULER = "E0108", "`scheduler` is neither `Threads` nor `Green(..)`",
            "write `Threads`, `Green()` or `Green(workers: N)`";
        UNKNOWN_SUB_PORT = "E0109", "an including process binds a port the sub-network does not export",
            "bind only the ports under the sub-network's `ports`";
        DECLARED_TWICE = "E0110", "a barrier has the name of a channel or another barrier",
            "rename one: barriers and channels share one space of names";
        PORT_NAME_CLASH = "E0111", "a top-level port has the name of a process that hands back values",
            "rename one: `RunReport::values` finds both by name";
        UNKNOWN_CHANNEL_FIELD = "E0112", "a channel spec has a field other than `type`, `count`, `shared`, `buffer`",
            "remove it, or fix the spelling";
    }
    "types" {
        PORT_TYPE = "E0201", "a port is bound to a channel of another type",
            "make the channel carry the port's type (`occamy kinds KIND` shows it)";
        GENERIC_MISMATCH = "E0202", "a generic kind's ports are bound to channels of different types",
            "make all its channels carry one type";
        NOT_NUMERIC = "E0203", "a numeric kind is bound to channels of a non-numeric type",
            "use i64, u64 or f64 channels";
        PARAM_TYPE = "E0204", "a param's value is not of the param's type",
            "`occamy kinds KIND` shows the params' types";
        ELEM_PARAM = "E0205", "a param of the element type is not a value of that type",
            "write a value of the channels' type";
        EXPORT_TYPE = "E0206", "an exported port says one type and its channel carries another",
            "make the port's `type` the channel's";
        SUB_PORT_TYPE = "E0207", "a sub-network's port is bound to a channel of another type",
            "make the two channels carry one type";
        WRONG_SHAPE = "E0208",
            "a field has a value of the wrong shape (a bool, a string, a channel or barrier name)",
            "the message says what was expected";
        MISSING_TYPE = "E0209", "a channel spec has no `type`", "write e.g. (type: \"u64\")";
    }
    "ports" {
        UNUSED_CHANNEL = "E0301", "a channel has no writer and no reader",
            "bind it to ports of some processes, or remove it";
        NO_WRITER = "E0302", "a channel has no writer (and is no input port of the network)",
            "bind it to an output port of some process";
        NO_READER = "E0303", "a channel has no reader (and is no output port of the network)",
            "bind it to an input port of some process";
        WRITERS = "E0304", "a channel that is not shared has several writers",
            "declare it `shared: true`, or give each writer its own channel";
        READERS = "E0305", "a channel that is not shared has several readers",
            "declare it `shared: true`, or give each reader its own channel";
        PORT_UNBOUND = "E0306", "a port of a process's kind is not bound",
            "bind it to a channel";
        BARRIER_PORT_UNBOUND = "E0307", "a barrier port of a process's kind is not bound",
            "bind it to a barrier";
        NO_PARTIES = "E0308", "a barrier no process is enrolled on",
            "bind it to a barrier port of some process, or remove it";
        WHOLE_ARRAY = "E0309", "a single port is bound to a whole channel array",
            "bind one element: `name[i]`";
        NOT_ARRAY = "E0310", "a channel that is not an array is indexed", "drop the index";
        INDEX_RANGE = "E0311", "an index is out of a channel array's range",
            "index from 0 to the count less one";
        LIST_TO_SINGLE = "E0312", "a single port is bound to a list of channels",
            "bind one channel (only array ports take lists)";
        SUB_PORT_UNBOUND = "E0313", "a port a sub-network exports is not bound by the including process",
            "bind it to a channel";
        SUB_PORT_COUNT = "E0314", "a sub-network's array port is bound to the wrong number of channels",
            "bind as many channels as the exported array has";
        EXPORT_DIR = "E0315", "an exported port's direction does not match how its channel is used inside",
            "`dir: In` for values coming in, `dir: Out` for values going out";
    }
    "expressions" {
        EXPR_UNKNOWN_NAME = "E0401", "an expression names an undeclared `$param` (or index)",
            "declare it under `params`, or fix the spelling";
        EXPR_DIV_ZERO = "E0402", "an expression divides by zero", "check the divisor's params";
        EXPR_OVERFLOW = "E0403", "an expression or number leaves the 64-bit integers",
            "use smaller numbers";
        EXPR_SYNTAX = "E0404", "an expression cannot be read",
            "use integers, `$names`, + - * / % and parentheses";
        EXPR_NESTED = "E0405", "an expression nests parentheses too deep", "simplify it";
        EXPR_NOT_INT = "E0406", "an integer was expected (a count, an index, `workers`)",
            "give an integer, or a param that holds one";
    }
    "limits" {
        NEGATIVE = "E0501", "a count, buffer or number of workers is negative",
            "give zero or more";
        COUNT_LIMIT = "E0502", "a replicate count or channel array is larger than a network may be",
            "make it smaller (is a count mistaken?)";
        BUFFER_LIMIT = "E0503", "a channel's buffer is larger than allowed", "make it smaller";
        WORKERS_LIMIT = "E0504", "`workers` is more than a machine has threads for",
            "ask for fewer (0: one per core)";
        SIZE_LIMIT = "E0505", "the network as a whole has too many processes or channels",
            "make the network smaller (is a count mistaken?)";
    }
    "processes" {
        MISSING_PARAM = "E0601", "a process does not give a param its kind requires",
            "add it to the process's `params`";
        PROCESS_SPEC = "E0602", "a process has both `kind` and `network`, or neither",
            "give one: a process is a kind or a sub-network";
        SUB_SCHEDULER = "E0603", "a sub-network chooses the scheduler",
            "choose it in the top-level file, or with `occamy run --scheduler`";
    }
    "run" {
        BUILD_FAILED = "E0701", "a kind's build failed (raised when the network starts)",
            "the message names the port or param at fault";
        START_FAILED = "E0702", "the network's thread could not be started",
            "the system is out of threads or memory";
        FEED_UNKNOWN = "E0703", "values are fed to a name that is no input port of the network",
            "feed one of the top-level `ports` with `dir: In`";
        FEED_TYPE = "E0704", "values fed to an input port are not of its type",
            "feed values of the port's type";
    }
    "placement" {
        RANK_RANGE = "E0801", "a process's or sub-network instance's `rank` is not below the run's number of ranks",
            "compute it modulo `$ranks` (`rank: \"$i % $ranks\"`), or run on more ranks (`--ranks N`)";
        UNKNOWN_PLACEMENT = "E0802", "`placement` is neither `RoundRobin` nor `BySubnetwork`",
            "write `placement: RoundRobin` or `placement: BySubnetwork`, or leave it out";
        SUB_PLACEMENT = "E0803", "a sub-network chooses the placement policy",
            "choose it in the top-level file, or give processes a `rank:`";
        RESERVED_RANKS = "E0804", "a file declares, or is given, a param `ranks`: `$ranks` is the run's number of ranks",
            "remove it: `$ranks` is always defined (`--ranks N`, or MPI's world size)";
        NO_CODEC = "E0805", "a channel whose ends are on several ranks carries a type without a codec",
            "give the type a codec with `Registry::add_codec` (Serialize and Deserialize), or place the channel's ends on one rank";
        SPREAD_BOTH = "E0806", "a channel is written on several ranks and read on several",
            "place its writers (or its readers) on one rank, or split it into one channel per writer rank";
    }
}

#[cfg(test)]
mod tests {
    use super::CODES;

    #[test]
    fn codes_are_unique_ordered_and_grouped_by_pass() {
        assert!(CODES.windows(2).all(|w| w[0].code < w[1].code));
        let passes = [
            "syntax",
            "names",
            "types",
            "ports",
            "expressions",
            "limits",
            "processes",
            "run",
            "placement",
        ];
        for c in CODES {
            assert!(c.code.len() == 5 && c.code.starts_with('E'), "{c:?}");
            let group: usize = c.code[1..3].parse().expect("digits");
            assert_eq!(passes[group], c.pass, "{c:?}");
        }
    }
}
