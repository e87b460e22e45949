//! The network loader and checker, through the library (`occamy::network::load`): one
//! small bad file per diagnostic in tests/networks/, and for each the file, line:column,
//! context (process, port, channel), message and help the diagnostic gives. This file:
//! the file as a whole, kinds, ports, params, types, writers and readers, channel
//! references, expressions; `network_errors_more.rs`: sub-networks, barriers, several
//! errors at once, former bugs, the scheduler.

#[path = "support/loader.rs"]
mod loader;

use loader::*;
use occamy::network::{self, PortBind, Registry};
use ron::Value;

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
