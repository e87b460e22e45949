//! The network loader and checker, continued from `network_errors.rs`: sub-networks,
//! barriers, several errors at once, the scheduler, and (in "Former bugs") guards against
//! bugs the loader once had (panics, positions found by text search, names declared twice,
//! `--set` bare words): each test names the behaviour it now guarantees.

#[path = "support/loader.rs"]
mod loader;

use std::path::Path;

use loader::*;
use ron::Value;

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
