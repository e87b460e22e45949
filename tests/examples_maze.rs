//! The maze example (examples/maze.rs, networks/maze.ron): the parallel search finds the
//! same distances, and a path as short, as serial BFS, and the path is valid.

mod common;
#[path = "../examples/maze.rs"]
#[allow(dead_code)]
mod maze;

use common::{watchdog, LIMIT};

fn sets(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn generation_is_reproducible() {
    let a = maze::generate(30, 20, 7, 5);
    assert_eq!(a, maze::generate(30, 20, 7, 5));
    assert_ne!(a, maze::generate(30, 20, 8, 5));
    assert_eq!((a.cols, a.rows), (61, 41));
    // Every square is a wall or reachable: a spanning tree plus extra openings.
    let serial = maze::solve_serial(&a);
    for (i, &open) in a.open.iter().enumerate() {
        assert_eq!(open, serial.dist(i) != u32::MAX, "square {i}");
    }
    let cells = a.open.iter().filter(|&&o| o).count();
    assert!(
        cells >= 30 * 20 * 2 - 1,
        "the cells and the walls opened between them"
    );
}

#[test]
fn parallel_search_matches_serial_bfs() {
    // Small stripes and windows, so that distances cross between workers and the
    // horizon moves many times.
    for seed in 1..=4 {
        for (loops, k, stripe, window) in [
            (0, 2, 3, 2),
            (5, 3, 2, 1),
            (20, 2, 5, 7),
            (10, 4, 1, 1000),
            (5, 1, 4, 4),
        ] {
            let m = maze::generate(25, 17, seed, loops);
            let serial = maze::solve_serial(&m);
            let m2 = m.clone();
            let what = format!(
                "seed {seed}, loops {loops}%, {k} workers, stripe {stripe}, window {window}"
            );
            let par = watchdog(LIMIT, &what, move || {
                maze::solve_parallel(&m2, k, stripe, window).unwrap()
            });
            assert_eq!(par.distances(), serial.distances(), "{what}");
            assert_eq!(par.steps(), serial.steps(), "{what}");
            maze::check_path(&m, &par.path).unwrap_or_else(|e| panic!("{what}: {e}"));
            maze::check_path(&m, &serial.path).unwrap();
        }
    }
}

#[test]
fn parallel_search_matches_serial_bfs_on_a_maze_larger_than_a_chunk() {
    // Workers report every 32768 squares while still busy, and collect the reply later:
    // windows this large exercise that (a worker once kept bouncing squares beyond the
    // horizon and never went idle).
    let m = maze::generate(400, 300, 11, 5);
    let serial = maze::solve_serial(&m);
    for (k, stripe, window) in [
        (1, 256, 256),
        (2, 256, 256),
        (3, 16, 32),
        (1, 256, 2000),
        (2, 7, 100_000),
    ] {
        let m2 = m.clone();
        let what = format!("400x300, {k} workers, stripe {stripe}, window {window}");
        let par = watchdog(LIMIT, &what, move || {
            maze::solve_parallel(&m2, k, stripe, window).unwrap()
        });
        assert_eq!(par.distances(), serial.distances(), "{what}");
        maze::check_path(&m, &par.path).unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

#[test]
fn network_file_matches_serial_bfs() {
    for seed in [1, 2, 3] {
        let m = maze::generate(60, 40, seed, 5);
        let serial = maze::solve_serial(&m);
        let s = sets(&[
            ("width", "60".into()),
            ("height", "40".into()),
            ("seed", seed.to_string()),
            ("workers", "3".into()),
            ("stripe", "4".into()),
            ("window", "16".into()),
            ("out", "\"\"".into()), // `draw` prints the path length only
        ]);
        let par = watchdog(LIMIT, "networks/maze.ron", move || {
            maze::solve_file(&s).unwrap()
        });
        assert_eq!(par.maze, m, "the network generates the same maze");
        assert_eq!(par.steps(), serial.steps(), "seed {seed}");
        assert_eq!(par.distances(), serial.distances(), "seed {seed}");
        maze::check_path(&m, &par.path).unwrap();
    }
}

#[test]
fn network_run_writes_the_solved_maze() {
    let dir = std::env::temp_dir().join(format!("occamy-maze-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("maze.txt");
    let reg = maze::registry();
    let s = sets(&[
        ("seed", "5".into()),
        ("out", format!("{:?}", out.to_str().unwrap())),
    ]);
    let plan = occamy::network::load(maze::NETWORK.as_ref(), &s, &reg).unwrap();
    let report = watchdog(LIMIT, "network run", move || {
        occamy::network::start(&plan, &reg, &occamy::Runtime::new())
            .unwrap()
            .wait()
    });
    assert!(report.result.is_ok(), "{:?}", report.result);
    let text = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let serial = maze::solve_serial(&maze::generate(40, 20, 5, 5));
    assert_eq!(text, maze::to_text(&serial));
    // The path squares, with S and G, are the path's length plus one.
    assert_eq!(text.matches(['.', 'S', 'G']).count(), serial.steps() + 1);
}

#[test]
fn invalid_paths_are_rejected() {
    let m = maze::generate(10, 10, 3, 0);
    let good = maze::solve_serial(&m).path;
    assert!(maze::check_path(&m, &good).is_ok());
    let mut skip = good.clone();
    skip.remove(skip.len() / 2);
    assert!(maze::check_path(&m, &skip).is_err());
    assert!(maze::check_path(&m, &good[1..]).is_err());
    let wall = vec![m.start(), m.start() - 1];
    assert!(maze::check_path(&m, &wall).is_err());
}

#[test]
fn launcher_checks_the_network_file() {
    let args = ["maze", "check", maze::NETWORK];
    let code = watchdog(LIMIT, "check", move || {
        occamy::launcher::main_from(maze::registry(), args)
    });
    assert_eq!(code, std::process::ExitCode::SUCCESS);
}
