//! The network loader and checker, through the library (`occamy::network::load`): one
//! small bad file per diagnostic in tests/networks/, and for each the file, line:column,
//! context (process, port, channel), message and help the diagnostic gives.
//!
//! The last section guards against bugs the loader once had (panics, positions found by
//! text search, names declared twice, `--set` bare words): each test names the behaviour
//! it now guarantees.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use occamy::network::Registry;
use occamy::network::{self, Diagnostic, Plan, PortBind};
use ron::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/networks")
}

fn path(name: &str) -> PathBuf {
    dir().join(name)
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(not a string)".into())
}

/// Loads `file` with `sets`; a panic in the loader fails the test with a clear message.
fn load_path(file: &Path, sets: &[(&str, &str)]) -> Result<Plan, Vec<Diagnostic>> {
    let sets: Vec<(String, String)> = sets
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let reg = Registry::with_builtins();
    match catch_unwind(AssertUnwindSafe(|| network::load(file, &sets, &reg))) {
        Ok(r) => r.map_err(|e| e.diagnostics),
        Err(p) => panic!(
            "the loader panicked on {}: {}",
            file.display(),
            panic_text(&*p)
        ),
    }
}

fn load(name: &str, sets: &[(&str, &str)]) -> Result<Plan, Vec<Diagnostic>> {
    load_path(&path(name), sets)
}

fn ok(name: &str, sets: &[(&str, &str)]) -> Plan {
    load(name, sets).unwrap_or_else(|d| panic!("{name} should load:\n{}", show(&d)))
}

fn errors(name: &str, sets: &[(&str, &str)]) -> Vec<Diagnostic> {
    match load(name, sets) {
        Ok(plan) => panic!("{name} should not load, but did: {}", plan.summary()),
        Err(d) => d,
    }
}

fn show(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| format!("  {d:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Finds the diagnostic saying `message` (exactly; or, if `message` ends with `...`, one
/// starting with the rest) and checks that it names `file` (its last components), `pos`,
/// `context` and `help`. Returns it.
fn expect<'a>(
    diags: &'a [Diagnostic],
    file: &str,
    pos: Option<(usize, usize)>,
    context: &[&str],
    message: &str,
    help: Option<&str>,
) -> &'a Diagnostic {
    let matches = |d: &&Diagnostic| match message.strip_suffix("...") {
        Some(prefix) => d.message.starts_with(prefix),
        None => d.message == message,
    };
    let d = diags
        .iter()
        .find(matches)
        .unwrap_or_else(|| panic!("no diagnostic `{message}` among:\n{}", show(diags)));
    assert!(
        d.file.ends_with(file),
        "diagnostic `{message}`: file {} should be {file}",
        d.file.display()
    );
    assert_eq!(d.pos, pos, "diagnostic `{message}`: position");
    assert_eq!(d.context, context, "diagnostic `{message}`: context");
    assert_eq!(d.help.as_deref(), help, "diagnostic `{message}`: help");
    d
}

/// Checks there are exactly `n` diagnostics.
fn count(diags: &[Diagnostic], n: usize) {
    assert_eq!(
        diags.len(),
        n,
        "expected {n} diagnostics, got:\n{}",
        show(diags)
    );
}

const SEE_DOCS: Option<&str> = Some("see docs/network-format.md for the format");
const NO_WRITER: Option<&str> = Some("bind it to an output port of some process");
const NO_READER: Option<&str> = Some("bind it to an input port of some process");

// ---------------------------------------------------------------------------------------
// The file as a whole

#[test]
fn ron_syntax_error_names_file_line_and_column() {
    let d = errors("syntax_error.ron", &[]);
    count(&d, 1);
    let e = expect(
        &d,
        "syntax_error.ron",
        Some((7, 31)),
        &[],
        "expected comma",
        SEE_DOCS,
    );
    let shown = e.to_string();
    assert!(
        shown.ends_with(
            "syntax_error.ron:7:31: error[E0002]: expected comma\n  help: see docs/network-format.md for the format"
        ),
        "{shown}"
    );
}

#[test]
fn unknown_field_of_a_process_is_a_syntax_error() {
    let d = errors("unknown_field.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "unknown_field.ron",
        Some((6, 35)),
        &[],
        "unexpected field named `param` in `process`, expected one of `kind`, `network`, `params`, `ports`, `replicate`, `thread`, or `rank` instead",
        SEE_DOCS,
    );
}

#[test]
fn name_is_required() {
    let d = errors("missing_name.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "missing_name.ron",
        Some((4, 1)),
        &[],
        "unexpected missing field named `name` in `Network`",
        SEE_DOCS,
    );
}

#[test]
fn missing_network_file() {
    let d = errors("no_such_file.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "no_such_file.ron",
        None,
        &[],
        "cannot read network file `...",
        None,
    );
}

#[test]
fn display_of_the_whole_error_counts_the_diagnostics() {
    let reg = Registry::with_builtins();
    let e = network::load(&path("two_writers.ron"), &[], &reg).unwrap_err();
    let shown = e.to_string();
    assert!(shown.ends_with("\n1 error"), "{shown}");
    assert!(
        shown.contains("two_writers.ron:4:17: error[E0304]: channel `a`: has 2 writers: `one` (port `out`), `two` (port `out`)\n  help: declare it with `shared: true`, or give each writer its own channel"),
        "{shown}"
    );
    let e = network::load(&path("several_errors.ron"), &[], &reg).unwrap_err();
    assert!(e.to_string().ends_with("\n5 errors"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Kinds, ports, params

#[test]
fn unknown_kind_suggests_the_nearest() {
    let d = errors("unknown_kind.ron", &[]);
    expect(
        &d,
        "unknown_kind.ron",
        Some((7, 9)),
        &["process `pre`"],
        "unknown kind `prefx` (did you mean `prefix`?)",
        Some("`occamy kinds` lists the kinds"),
    );
}

#[test]
fn unknown_port_suggests_and_lists_the_ports() {
    let d = errors("unknown_port.ron", &[]);
    expect(
        &d,
        "unknown_port.ron",
        Some((7, 41)),
        &["process `inc`", "port `inn`"],
        "unknown port `inn` (did you mean `in`?)",
        Some("kind `succ` has ports `in`, `out`"),
    );
    // ... and so port `in` is left unbound.
    expect(
        &d,
        "unknown_port.ron",
        Some((7, 9)),
        &["process `inc`"],
        "port `in` is not bound",
        Some("add `\"in\": \"CHANNEL\"` to the process's ports"),
    );
}

#[test]
fn missing_port() {
    let d = errors("missing_port.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "missing_port.ron",
        Some((7, 9)),
        &["process `show`"],
        "port `in` is not bound",
        Some("add `\"in\": \"CHANNEL\"` to the process's ports"),
    );
}

#[test]
fn unknown_param_suggests_and_lists_the_params() {
    let d = errors("unknown_param.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "unknown_param.ron",
        Some((6, 45)),
        &["process `src`", "param `cont`"],
        "unknown param `cont` (did you mean `count`?)",
        Some("kind `numbers` takes `start`, `step`, `count`"),
    );
}

#[test]
fn wrong_param_types() {
    let d = errors("param_type.ron", &[]);
    count(&d, 2);
    expect(
        &d,
        "param_type.ron",
        Some((6, 45)),
        &["process `src`", "param `count`"],
        "expected a non-negative integer, found \"five\"",
        None,
    );
    expect(
        &d,
        "param_type.ron",
        Some((7, 43)),
        &["process `sink`", "param `prefix`"],
        "expected a string, found 3",
        None,
    );
}

#[test]
fn missing_required_param() {
    let d = errors("missing_param.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "missing_param.ron",
        Some((7, 9)),
        &["process `take`"],
        "missing param `count` (how many values to pass)",
        Some("add `\"count\": ...` to the process's params"),
    );
}

#[test]
fn element_param_of_the_wrong_type() {
    let d = errors("elem_param.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "elem_param.ron",
        Some((6, 9)),
        &["process `gen`"],
        "param `value` is not a `u64`: ...",
        None,
    );
}

// ---------------------------------------------------------------------------------------
// Types

#[test]
fn channel_and_port_types_differ() {
    let d = errors("type_mismatch.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "type_mismatch.ron",
        Some((6, 9)),
        &["process `read`"],
        "port `out` carries `String` but channel `lines` carries `u64`",
        None,
    );
}

#[test]
fn generic_kind_bound_to_two_types_names_both_channels() {
    let d = errors("generic_mismatch.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "generic_mismatch.ron",
        Some((7, 9)),
        &["process `copy`"],
        "port `in` is bound to `ints` (i64) but port `out` to `words` (String); a process of kind `id` carries one type",
        None,
    );
}

#[test]
fn numeric_kind_on_string() {
    let d = errors("numeric_string.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "numeric_string.ron",
        Some((7, 9)),
        &["process `inc`"],
        "kind `succ` works on i64, u64 or f64, not `String`",
        None,
    );
}

#[test]
fn unknown_type_suggests_the_nearest() {
    let d = errors("unknown_type.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "unknown_type.ron",
        Some((4, 17)),
        &["channel `a`"],
        "unknown type `u46` (did you mean `u64`?)",
        Some("register it with Registry::register_type"),
    );
}

// ---------------------------------------------------------------------------------------
// Writers and readers (occam's one writer, one reader)

#[test]
fn channel_with_no_writer() {
    let d = errors("no_writer.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "no_writer.ron",
        Some((4, 29)),
        &["channel `idle`"],
        "has no writer",
        NO_WRITER,
    );
}

#[test]
fn channel_with_no_reader() {
    let d = errors("no_reader.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "no_reader.ron",
        Some((4, 17)),
        &["channel `a`"],
        "has no reader",
        NO_READER,
    );
}

#[test]
fn channel_no_process_uses_is_one_mistake() {
    let d = errors("unused_channel.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "unused_channel.ron",
        Some((5, 29)),
        &["channel `spare`"],
        "has no writer and no reader",
        Some("bind it to ports of some processes, or remove it"),
    );
}

#[test]
fn two_writers_on_a_channel() {
    let d = errors("two_writers.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "two_writers.ron",
        Some((4, 17)),
        &["channel `a`"],
        "has 2 writers: `one` (port `out`), `two` (port `out`)",
        Some("declare it with `shared: true`, or give each writer its own channel"),
    );
}

#[test]
fn two_readers_on_a_channel() {
    let d = errors("two_readers.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "two_readers.ron",
        Some((4, 17)),
        &["channel `a`"],
        "has 2 readers: `left` (port `in`), `right` (port `in`)",
        Some("declare it with `shared: true`, or give each reader its own channel"),
    );
}

#[test]
fn shared_channels_take_several_writers_and_readers() {
    let plan = ok("shared_ok.ron", &[]);
    let a = plan.channels.iter().find(|c| c.name == "a").unwrap();
    let b = plan.channels.iter().find(|c| c.name == "b").unwrap();
    assert!(a.shared && b.shared);
    assert_eq!(a.writers.len(), 2);
    assert_eq!(b.readers.len(), 2);
    let reg = Registry::with_builtins();
    let report = network::start(&plan, &reg, &occamy::Runtime::new())
        .unwrap()
        .wait();
    assert!(report.result.is_ok(), "{:?}", report.result);
    assert_eq!(report.channels[1].carried, 6);
}

#[test]
fn shared_may_be_a_param() {
    let plan = ok("shared_param.ron", &[]);
    assert!(plan.channels[0].shared);
    assert_eq!(plan.channels[0].writers.len(), 2);
    let d = errors("shared_param.ron", &[("shared", "false")]);
    count(&d, 1);
    expect(
        &d,
        "shared_param.ron",
        Some((5, 17)),
        &["channel `a`"],
        "has 2 writers: `one` (port `out`), `two` (port `out`)",
        Some("declare it with `shared: true`, or give each writer its own channel"),
    );
    // A bare word from --set is a string, not a bool; the channel is reported once.
    let d = errors("shared_param.ron", &[("shared", "yes")]);
    count(&d, 1);
    expect(
        &d,
        "shared_param.ron",
        Some((5, 17)),
        &["channel `a`"],
        "`shared` must be true or false, not \"yes\"",
        None,
    );
}

// ---------------------------------------------------------------------------------------
// Channel references and declarations

#[test]
fn array_index_out_of_range() {
    let d = errors("index_range.ron", &[]);
    expect(
        &d,
        "index_range.ron",
        Some((7, 71)),
        &["process `src[2]`", "port `out`"],
        "index 3 is out of range for `c` (0..3)",
        None,
    );
}

#[test]
fn whole_array_bound_to_a_single_port() {
    let d = errors("whole_array.ron", &[]);
    expect(
        &d,
        "whole_array.ron",
        Some((6, 44)),
        &["process `src`", "port `out`"],
        "channel `c` is an array of 2; bind one element",
        Some("write e.g. `c[0]`"),
    );
}

#[test]
fn unknown_channel_suggests_the_nearest() {
    let d = errors("unknown_channel.ron", &[]);
    expect(
        &d,
        "unknown_channel.ron",
        Some((7, 44)),
        &["process `sink`", "port `in`"],
        "unknown channel `numbrs` (did you mean `numbers`?)",
        Some("declare it under `channels`"),
    );
}

#[test]
fn bad_channel_declarations() {
    let d = errors("channel_spec.ron", &[]);
    let f = "channel_spec.ron";
    expect(
        &d,
        f,
        Some((5, 9)),
        &["channel `no_type`"],
        "missing `type`",
        Some("write e.g. (type: \"u64\")"),
    );
    expect(
        &d,
        f,
        Some((6, 9)),
        &["channel `typo`"],
        "unknown field `cont` (did you mean `count`?)",
        Some("a channel has `type`, `count`, `shared` and `buffer`"),
    );
    expect(
        &d,
        f,
        Some((7, 9)),
        &["channel `negative`"],
        "`count` is -1; it must not be negative",
        None,
    );
    expect(
        &d,
        f,
        Some((8, 9)),
        &["channel `shared`"],
        "`shared` must be true or false, not \"yes\"",
        None,
    );
    expect(
        &d,
        f,
        Some((9, 9)),
        &["channel `number`"],
        "expected a type name or (type: ..), found 7",
        None,
    );
}

#[test]
fn bad_process_declarations_and_bindings() {
    let d = errors("process_spec.ron", &[]);
    let f = "process_spec.ron";
    expect(
        &d,
        f,
        Some((7, 9)),
        &["process `both`"],
        "has both `kind` and `network`",
        Some("a process is either a kind or a sub-network"),
    );
    expect(
        &d,
        f,
        Some((8, 9)),
        &["process `neither`"],
        "has neither `kind` nor `network`",
        Some("add `kind: \"NAME\"` (see `occamy kinds`)"),
    );
    expect(
        &d,
        f,
        Some((9, 9)),
        &["process `negative`"],
        "replicate count is -2; it must not be negative",
        None,
    );
    expect(
        &d,
        f,
        Some((10, 48)),
        &["process `list`", "port `in`"],
        "a single port takes one channel, not a list",
        None,
    );
    expect(
        &d,
        f,
        Some((11, 48)),
        &["process `number`", "port `out`"],
        "expected a channel name, found 5",
        None,
    );
    expect(
        &d,
        f,
        Some((12, 48)),
        &["process `notarr`", "port `out`"],
        "channel `a` is not an array",
        Some("write `a`"),
    );
    expect(
        &d,
        f,
        Some((13, 49)),
        &["process `strint`", "param `count`"],
        "in expression `$word+1`: `$word` is \"hello\", not an integer",
        None,
    );
    expect(
        &d,
        f,
        Some((14, 48)),
        &["process `unclosed`", "port `out`"],
        "channel reference `arr[1` has no closing `]`",
        None,
    );
}

// ---------------------------------------------------------------------------------------
// Expressions and --set

#[test]
fn expression_with_an_unknown_name() {
    let d = errors("expr_unknown_name.ron", &[]);
    expect(
        &d,
        "expr_unknown_name.ron",
        Some((5, 17)),
        &["channel `c`"],
        "`count`: in expression `$size`: unknown name `$size`",
        None,
    );
}

#[test]
fn expression_dividing_by_zero() {
    let d = errors("expr_div_zero.ron", &[]);
    expect(
        &d,
        "expr_div_zero.ron",
        Some((7, 44)),
        &["process `src`", "port `out`"],
        "in expression `1/$zero`: division by zero",
        None,
    );
}

#[test]
fn expressions_evaluate_as_documented() {
    let plan = ok("expressions.ron", &[]);
    let names: Vec<&str> = plan.channels.iter().map(|c| c.name.as_str()).collect();
    // (2-5)%4 is Euclidean: 1; 5*2/3 is 3.
    assert_eq!(names, ["a[0]", "b[0]", "b[1]", "b[2]", "all", "f"]);
    let all = &plan.channels[4];
    assert_eq!((all.buffer, all.shared), (4, true));
    let starts: Vec<i64> = plan
        .processes
        .iter()
        .filter(|p| &*p.decl == "wb")
        .map(|p| p.params["start"].clone().into_rust::<i64>().unwrap())
        .collect();
    // `/` truncates towards zero: -7/2 is -3.
    assert_eq!(starts, [30, 31, 32]);
    let m = plan.processes.iter().find(|p| p.name == "m").unwrap();
    match &m.port("in").unwrap().bind {
        PortBind::Many(ids) => assert_eq!(ids, &[0, 1, 2, 3]),
        other => panic!("merge's `in` is {other:?}"),
    }
    // `$v` alone keeps the param's own type: a float.
    let g = plan.processes.iter().find(|p| p.name == "g").unwrap();
    assert_eq!(g.params["value"].clone().into_rust::<f64>().unwrap(), 2.5);
    assert_eq!(g.elem.as_deref(), Some("f64"));
}

#[test]
fn counts_above_the_limit_are_errors() {
    let d = errors("count_limit.ron", &[]);
    count(&d, 2);
    expect(
        &d,
        "count_limit.ron",
        Some((5, 17)),
        &["channel `big`"],
        "`count` is 10000001; at most 10000000 are allowed",
        None,
    );
    expect(
        &d,
        "count_limit.ron",
        Some((7, 9)),
        &["process `src`"],
        "replicate count is 10000001; at most 10000000 are allowed",
        None,
    );
}

#[test]
fn expressions_nested_too_deep_are_errors_not_stack_overflows() {
    let d = errors("expr_nested.ron", &[]);
    count(&d, 2);
    let deep = format!("{}1{}", "(".repeat(65), ")".repeat(65));
    expect(
        &d,
        "expr_nested.ron",
        Some((7, 9)),
        &["channel `deep`"],
        &format!("`count`: in expression `{deep}`: nested more than 64 deep"),
        None,
    );
    let negs = format!("{}1", "-".repeat(65));
    expect(
        &d,
        "expr_nested.ron",
        Some((8, 9)),
        &["channel `negs`"],
        &format!("`count`: in expression `{negs}`: nested more than 64 deep"),
        None,
    );
}

#[test]
fn a_doubled_dollar_is_a_literal_dollar() {
    let plan = ok("dollar.ron", &[]);
    let prefix = |name: &str| {
        plan.processes
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .params["prefix"]
            .clone()
    };
    assert_eq!(prefix("show"), Value::String("cost: $".into()));
    // Top-level params are not evaluated: `$$n` stays as it is, and `$raw` passes it on.
    assert_eq!(prefix("show2"), Value::String("$$n".into()));
}

#[test]
fn set_overrides_params_in_ron_syntax() {
    let plan = ok("params.ron", &[("n", "7"), ("label", "\"x: \"")]);
    let src = &plan.processes[0];
    assert_eq!(src.params["count"].clone().into_rust::<u64>().unwrap(), 7);
    let show = &plan.processes[1];
    assert_eq!(show.params["prefix"], Value::String("x: ".into()));
    // A value that is not RON is taken as a bare string.
    let plan = ok("params.ron", &[("label", "two words")]);
    assert_eq!(
        plan.processes[1].params["prefix"],
        Value::String("two words".into())
    );
}

#[test]
fn set_of_an_unknown_param() {
    let d = errors("params.ron", &[("size", "3"), ("lable", "x")]);
    count(&d, 2);
    expect(
        &d,
        "params.ron",
        None,
        &[],
        "network `params` has no param `size`",
        None,
    );
    expect(
        &d,
        "params.ron",
        None,
        &[],
        "network `params` has no param `lable` (did you mean `label`?)",
        None,
    );
}

#[test]
fn set_of_the_wrong_type_is_reported_where_the_param_is_used() {
    let d = errors("params.ron", &[("n", "-1")]);
    count(&d, 1);
    expect(
        &d,
        "params.ron",
        Some((8, 45)),
        &["process `src`", "param `count`"],
        "expected a non-negative integer, found -1",
        None,
    );
}

// ---------------------------------------------------------------------------------------
// Sub-networks

#[test]
fn sub_network_processes_and_channels_are_named_by_the_including_process() {
    let plan = ok("sub_ok.ron", &[]);
    let names: Vec<&str> = plan.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["src[0]", "src[1]", "w[0].inc", "w[1].inc", "sink[0]", "sink[1]"]
    );
    assert_eq!(&plan.processes[2].cluster[..], ["w[0]"]);
    assert!(plan.processes[2].file.ends_with("worker.ron"));
    // The sub-network's exported channels are the including network's.
    let chans: Vec<&str> = plan.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(chans, ["x[0]", "x[1]", "y[0]", "y[1]"]);

    let farm = load_path(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("networks/farm_main.ron"),
        &[("workers", "3")],
    )
    .unwrap_or_else(|d| panic!("{}", show(&d)));
    let names: Vec<&str> = farm.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "numbers",
            "farm.deal",
            "farm.worker[0]",
            "farm.worker[1]",
            "farm.worker[2]",
            "farm.gather",
            "count"
        ]
    );
    assert!(farm.channels.iter().any(|c| c.name == "farm.to[2]"));
}

#[test]
fn sub_network_file_missing() {
    let d = errors("sub_missing.ron", &[]);
    let missing = path("no_such_farm.ron");
    expect(
        &d,
        "sub_missing.ron",
        Some((7, 9)),
        &["process `farm`"],
        &format!("cannot read sub-network file `{}`: ...", missing.display()),
        None,
    );
}

#[test]
fn sub_network_including_itself() {
    let d = errors("cycle_a.ron", &[]);
    count(&d, 1);
    // The files as named (the top file as given, the others joined to their includer's
    // directory), not canonical: a message should not depend on where the checkout is.
    let (a, b) = (path("cycle_a.ron"), path("cycle_b.ron"));
    expect(
        &d,
        "cycle_b.ron",
        Some((7, 9)),
        &["process `b.a`"],
        &format!(
            "sub-network `{}` includes itself ({} -> {} -> {})",
            path("cycle_a.ron").display(),
            a.display(),
            b.display(),
            a.display()
        ),
        None,
    );
}

#[test]
fn sub_network_port_not_bound() {
    let d = errors("sub_port_unbound.ron", &[]);
    expect(
        &d,
        "sub_port_unbound.ron",
        Some((7, 9)),
        &["process `w`"],
        "port `out` of sub-network `worker` is not bound",
        Some("add `\"out\": \"CHANNEL\"` to the process's ports"),
    );
}

#[test]
fn sub_network_port_unknown() {
    let d = errors("sub_port_unknown.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "sub_port_unknown.ron",
        Some((7, 9)),
        &["process `w`"],
        "sub-network `worker` has no port `ot` (did you mean `out`?)",
        None,
    );
}

#[test]
fn sub_network_param_unknown() {
    let d = errors("sub_param_unknown.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "sub_param_unknown.ron",
        Some((7, 9)),
        &["process `w`"],
        "network `worker` has no param `workers`",
        None,
    );
}

#[test]
fn sub_network_port_bound_to_a_channel_of_another_type() {
    let d = errors("sub_port_type.ron", &[]);
    expect(
        &d,
        "worker.ron",
        Some((5, 17)),
        &["channel `w.jobs`"],
        "port `in` carries `u64` but is bound to `x` of type `i64`",
        None,
    );
}

#[test]
fn exported_port_direction_and_type() {
    let d = errors("export_dir.ron", &[]);
    let e = d
        .iter()
        .find(|d| d.message.starts_with("is an input port"))
        .unwrap_or_else(|| panic!("{}", show(&d)));
    assert_eq!(
        e.message,
        "is an input port, but its channel `results` is written inside the network by `inc`"
    );
    assert_eq!(e.context, ["port `out`"]);
    assert_eq!(
        e.help.as_deref(),
        Some("use `dir: In` for values coming in, `dir: Out` for values going out")
    );
    assert_eq!(e.code, "E0315");
    // Loaded alone, a sub-network's exported channels are the program's to feed and read:
    // `jobs` (`dir: In`) lacks no writer.
    assert!(
        !d.iter().any(|d| d.message.starts_with("has no")),
        "{}",
        show(&d)
    );

    let d = errors("export_type.ron", &[]);
    expect(
        &d,
        "export_type.ron",
        Some((4, 32)),
        &["channel `results`"],
        "port `out` says `u64` but the channel carries `i64`",
        None,
    );
}

#[test]
fn exported_port_of_an_unknown_channel() {
    let d = errors("export_unknown_channel.ron", &[]);
    let e = d
        .iter()
        .find(|d| d.message.starts_with("unknown channel"))
        .unwrap_or_else(|| panic!("{}", show(&d)));
    assert_eq!(e.message, "unknown channel `jbos` (did you mean `jobs`?)");
    assert_eq!(e.context, ["port `in`"]);
}

// ---------------------------------------------------------------------------------------
// Barriers

#[test]
fn barrier_mistakes() {
    let d = errors("barrier_errors.ron", &[]);
    count(&d, 4);
    let f = "barrier_errors.ron";
    expect(
        &d,
        f,
        Some((5, 32)),
        &["barrier `c`"],
        "is declared twice (barrier and channel names share one space)",
        None,
    );
    expect(
        &d,
        f,
        Some((8, 80)),
        &["process `left`", "port `barrier`"],
        "unknown barrier `stpe` (did you mean `step`?)",
        Some("declare it under `barriers`"),
    );
    expect(
        &d,
        f,
        Some((9, 9)),
        &["process `right`"],
        "barrier port `barrier` is not bound",
        Some("add `\"barrier\": \"BARRIER\"` to the process's ports"),
    );
    expect(
        &d,
        f,
        Some((5, 24)),
        &["barrier `idle`"],
        "has no parties",
        Some("bind it to a barrier port of some process, or remove it"),
    );
}

// ---------------------------------------------------------------------------------------
// Several errors at once

#[test]
fn several_errors_are_all_reported() {
    let d = errors("several_errors.ron", &[]);
    count(&d, 5);
    let f = "several_errors.ron";
    expect(
        &d,
        f,
        Some((7, 9)),
        &["channel `b`"],
        "unknown type `u46` (did you mean `u64`?)",
        Some("register it with Registry::register_type"),
    );
    expect(
        &d,
        f,
        Some((12, 45)),
        &["process `src`", "param `cont`"],
        "unknown param `cont` (did you mean `count`?)",
        Some("kind `numbers` takes `start`, `step`, `count`"),
    );
    expect(
        &d,
        f,
        Some((13, 9)),
        &["process `copy`"],
        "unknown kind `idd` (did you mean `id`?)",
        Some("`occamy kinds` lists the kinds"),
    );
    expect(
        &d,
        f,
        Some((14, 9)),
        &["process `take`"],
        "missing param `count` (how many values to pass)",
        Some("add `\"count\": ...` to the process's params"),
    );
    expect(
        &d,
        f,
        Some((17, 53)),
        &["process `m`", "port `out`"],
        "index 5 is out of range for `c` (0..2)",
        None,
    );
}

#[test]
fn the_example_networks_check() {
    let nets = Path::new(env!("CARGO_MANIFEST_DIR")).join("networks");
    for f in [
        "commstime.ron",
        "farm_main.ron",
        "merge.ron",
        "pipeline.ron",
        "ring.ron",
    ] {
        let p = nets.join(f);
        load_path(&p, &[]).unwrap_or_else(|d| panic!("{}:\n{}", p.display(), show(&d)));
    }
}

// ---------------------------------------------------------------------------------------
// Former bugs: inputs that once panicked or were misreported, and what they give now.

/// `i64::MIN / -1` overflows: the expression evaluator reports "integer overflow" at the
/// binding (it once panicked with "attempt to divide with overflow").
#[test]
fn expression_division_overflow_is_an_error_not_a_panic() {
    let d = errors("expr_overflow.ron", &[]);
    expect(
        &d,
        "expr_overflow.ron",
        Some((6, 44)),
        &["process `src`", "port `out`"],
        "in expression `(-9223372036854775807-1)/-1`: integer overflow",
        None,
    );
}

/// Likewise `i64::MIN % -1` is "integer overflow" (it once panicked with "attempt to
/// calculate the remainder with overflow").
#[test]
fn expression_remainder_overflow_is_an_error_not_a_panic() {
    let d = errors("expr_overflow_rem.ron", &[]);
    assert!(
        d.iter().any(|d| d.message.contains("integer overflow")),
        "{}",
        show(&d)
    );
}

/// A sub-network port bound to `[]` is "port `in` is bound to 0 channels" (binding the
/// sub-network's channel to a single port inside once indexed an empty list and panicked).
#[test]
fn sub_network_port_bound_to_an_empty_list_is_an_error_not_a_panic() {
    let d = errors("sub_port_empty_list.ron", &[]);
    assert!(
        d.iter()
            .any(|d| d.message.contains("is bound to 0 channels")),
        "{}",
        show(&d)
    );
}

/// A process is located at its declaration (line 8), not at the first `"sink"` after
/// `processes:`, which is the channel `sink` bound by process `src` on line 7.
#[test]
fn process_position_is_its_declaration_not_a_channel_of_the_same_name() {
    let d = errors("process_named_like_channel.ron", &[]);
    expect(
        &d,
        "process_named_like_channel.ron",
        Some((8, 9)),
        &["process `sink`"],
        "unknown kind `discrad` (did you mean `discard`?)",
        Some("`occamy kinds` lists the kinds"),
    );
}

/// A `processes:` (and a `"src"`) in a comment on line 1 does not mislead the locator:
/// the diagnostic points at the declaration on line 6.
#[test]
fn process_position_ignores_a_comment_mentioning_the_section() {
    let d = errors("comment_mentions_section.ron", &[]);
    expect(
        &d,
        "comment_mentions_section.ron",
        Some((6, 9)),
        &["process `src`"],
        "unknown kind `numbrs` (did you mean `numbers`?)",
        Some("`occamy kinds` lists the kinds"),
    );
}

/// An exported port's diagnostics point at its entry in the top-level `ports` (line 9),
/// not at the first process port of the same name (line 6).
#[test]
fn exported_port_position_is_its_entry_in_ports() {
    let d = errors("export_unknown_channel.ron", &[]);
    expect(
        &d,
        "export_unknown_channel.ron",
        Some((9, 9)),
        &["port `in`"],
        "unknown channel `jbos` (did you mean `jobs`?)",
        None,
    );
    let d = errors("export_dir.ron", &[]);
    let e = d
        .iter()
        .find(|d| d.message.starts_with("is an input port"))
        .unwrap();
    assert_eq!(e.pos, Some((10, 9)), "{e}");
}

/// `--set label=hello` makes `label` the string "hello" ("a bare word is a string"),
/// although RON reads a bare identifier as a unit struct (it once gave `()`).
#[test]
fn set_bare_word_is_a_string() {
    let plan = load("params.ron", &[("label", "hello")])
        .unwrap_or_else(|d| panic!("--set label=hello:\n{}", show(&d)));
    assert_eq!(
        plan.processes[1].params["prefix"],
        Value::String("hello".into())
    );
}

/// A name declared twice in `channels`, `processes` (or `params`, or a process's `ports`)
/// is an error; it was once silently replaced by the second declaration (the `numbers`
/// process named `src` vanished and the network checked and ran).
#[test]
fn duplicate_names_are_errors() {
    let d = match load("duplicate_names.ron", &[]) {
        Ok(plan) => panic!(
            "a file declaring `src` and `c` twice loads: {}",
            plan.summary()
        ),
        Err(d) => d,
    };
    let about = |what: &str| {
        d.iter()
            .any(|d| d.context.iter().any(|c| c == what) || d.message.contains(what))
    };
    // Parsing stops at the first name declared twice (`c`), naming it.
    assert!(about("`c` is declared twice"), "{}", show(&d));
}

// ---------------------------------------------------------------------------------------
// The scheduler and processes with a thread of their own

#[test]
fn a_file_chooses_its_scheduler_and_processes_their_own_threads() {
    use occamy::Scheduler;
    let plan = ok("scheduler_green.ron", &[]);
    assert_eq!(plan.scheduler(), Some(Scheduler::Green { workers: 2 }));
    let threaded: Vec<(&str, bool)> = plan
        .processes
        .iter()
        .map(|p| (p.name.as_str(), p.own_thread))
        .collect();
    assert_eq!(
        threaded,
        [
            ("src", true),
            ("fan", false),
            ("pass[0]", true),
            ("pass[1]", true),
            ("w.inc", true), // inherited from the sub-network instance
            ("sink", false),
        ]
    );
    assert_eq!(plan.threads_under(Scheduler::green()), 4);
    assert_eq!(plan.threads_under(Scheduler::Threads), 6);
    let plan = ok(
        "scheduler_green.ron",
        &[("workers", "0"), ("pinned", "false")],
    );
    assert_eq!(plan.scheduler(), Some(Scheduler::green()));
    assert!(!plan.processes[2].own_thread);
    // No `scheduler` field: the plan leaves the choice to whoever runs it.
    assert_eq!(ok("sub_ok.ron", &[]).scheduler(), None);
}

const SCHEDULER_HELP: Option<&str> =
    Some("write `scheduler: Threads`, `scheduler: Green()` or `scheduler: Green(workers: N)`");
const WORKERS_HELP: Option<&str> =
    Some("`workers` is how many worker threads: 0 (one per core) to 10000");

#[test]
fn an_unknown_scheduler_suggests_the_nearest() {
    let d = errors("scheduler_unknown.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "scheduler_unknown.ron",
        Some((4, 16)),
        &[],
        "unknown scheduler `Gren` (did you mean `Green`?)",
        SCHEDULER_HELP,
    );
}

#[test]
fn green_workers_must_be_a_count_of_threads() {
    let f = "scheduler_workers.ron";
    let at = Some((5, 22));
    let d = errors(f, &[]);
    count(&d, 1);
    expect(
        &d,
        f,
        at,
        &["scheduler"],
        "`workers` is -1; it must not be negative",
        WORKERS_HELP,
    );
    let d = errors(f, &[("workers", "two")]);
    expect(
        &d,
        f,
        at,
        &["scheduler"],
        "`workers`: in expression `$workers`: `$workers` is \"two\", not an integer",
        WORKERS_HELP,
    );
    let d = errors(f, &[("workers", "2.5")]);
    expect(
        &d,
        f,
        at,
        &["scheduler"],
        "`workers`: in expression `$workers`: `$workers` is 2.5, not an integer",
        WORKERS_HELP,
    );
    let d = errors(f, &[("workers", "10001")]);
    expect(
        &d,
        f,
        at,
        &["scheduler"],
        "`workers` is 10001; at most 10000 are allowed",
        WORKERS_HELP,
    );
    assert_eq!(
        ok(f, &[("workers", "3")]).scheduler(),
        Some(occamy::Scheduler::Green { workers: 3 })
    );
}

#[test]
fn a_scheduler_field_given_twice_is_an_error() {
    let d = errors("scheduler_duplicate.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "scheduler_duplicate.ron",
        Some((4, 34)),
        &[],
        "unexpected duplicate field named `workers` in `Green`",
        Some("give each field once"),
    );
}

#[test]
fn thread_must_be_a_bool_and_only_the_top_file_chooses_the_scheduler() {
    let d = errors("thread_errors.ron", &[]);
    count(&d, 3);
    let help = Some("write `thread: true` to give the process an OS thread of its own");
    expect(
        &d,
        "thread_errors.ron",
        Some((7, 59)),
        &["process `src`"],
        "`thread` must be true or false, not 1",
        help,
    );
    expect(
        &d,
        "thread_errors.ron",
        Some((9, 58)),
        &["process `sink`"],
        "`thread` must be true or false, not \"yes\"",
        help,
    );
    expect(
        &d,
        "worker_green.ron",
        Some((4, 5)),
        &["scheduler"],
        "a sub-network cannot choose the scheduler",
        Some("choose it in the top-level file, or with `occamy run --scheduler`"),
    );
}

/// A key given twice inside a channel spec or a param value is an error at its place; ron's
/// own value type once kept the second silently (`c` became a `String` channel).
#[test]
fn duplicate_keys_inside_values_are_errors() {
    let d = errors("duplicate_keys.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "duplicate_keys.ron",
        Some((5, 36)), // the second `type`
        &[],
        "`type` is given twice",
        SEE_DOCS,
    );
    let d = errors("duplicate_param_keys.ron", &[]);
    count(&d, 1);
    expect(
        &d,
        "duplicate_param_keys.ron",
        Some((8, 67)), // the second `a` (ron places a string at its first letter)
        &[],
        "`a` is given twice",
        SEE_DOCS,
    );
}
