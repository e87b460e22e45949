//! Matrix multiplication, CSP style, two ways.
//!
//! (a) A row farm: a farmer hands out row indices over one shared channel, whichever
//!     worker is free computes that row of C = A·B, and an assembler puts the rows
//!     together. Declared in networks/matmul.ron (f64; the kinds generate A and B from the
//!     seed, so the file stays small), and built in code for i64 and f64.
//! (b) A systolic array, occam style: an n×n grid of cell processes. Values of A flow in
//!     from the left and move right, values of B flow in from the top and move down; cell
//!     (i, j) meets a[i][k] and b[k][j] at step k and adds their product to its c[i][j].
//!     n left feeders, n top feeders and a collector make n² + 2n + 1 processes.
//!
//! Every version adds the products of an entry in the same order (k = 0, 1, ...), so even
//! the f64 results equal the serial product; the check still allows 1e-9 relative.
//!
//! ```text
//! cargo run --release --example matmul                   # farm (file and code), systolic, serial
//! cargo run --release --example matmul -- --code         # the f64 farm built in code too
//! cargo run --release --example matmul -- --n 500 --workers 4 --grid 16 --seed 7
//! cargo run --release --example matmul -- run networks/matmul.ron --set n=300
//! cargo run --release --example matmul -- kinds | check FILE | dot FILE
//! ```

use std::fmt::Debug;
use std::ops::{Add, Mul};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use occamy::network::{Kind, ParamType, Registry};
use occamy::{channel, par, Process, Receiver, Sender};

/// The network file this example serves.
pub const NETWORK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/networks/matmul.ron");

/// xorshift64*: a tiny seeded random number generator (no dependency needed).
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (any value: splitmix64 spreads it over the state).
    pub fn new(seed: u64) -> XorShift {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        XorShift((z ^ (z >> 31)).max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A matrix element: i64 (exact) or f64.
pub trait Elem:
    Copy + Default + PartialEq + Debug + Send + Sync + Add<Output = Self> + Mul<Output = Self> + 'static
{
    /// A random element: i64 in -9..=9, f64 in [-1, 1).
    fn random(rng: &mut XorShift) -> Self;
    /// Whether `self` is `want` (exactly, or within 1e-9 relative for f64).
    fn matches(self, want: Self) -> bool;
}

impl Elem for i64 {
    fn random(rng: &mut XorShift) -> i64 {
        (rng.next_u64() % 19) as i64 - 9
    }
    fn matches(self, want: i64) -> bool {
        self == want
    }
}

impl Elem for f64 {
    fn random(rng: &mut XorShift) -> f64 {
        (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
    fn matches(self, want: f64) -> bool {
        (self - want).abs() <= 1e-9 * want.abs().max(1.0)
    }
}

/// A square matrix, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix<T> {
    /// Rows (and columns).
    pub n: usize,
    /// The n² entries, row by row.
    pub data: Vec<T>,
}

impl<T: Elem> Matrix<T> {
    /// An n×n matrix of zeros.
    pub fn zeros(n: usize) -> Matrix<T> {
        let data = vec![T::default(); n * n];
        Matrix { n, data }
    }

    /// An n×n matrix of random entries from `rng`.
    pub fn random(n: usize, rng: &mut XorShift) -> Matrix<T> {
        let data = (0..n * n).map(|_| T::random(rng)).collect();
        Matrix { n, data }
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[T] {
        &self.data[i * self.n..(i + 1) * self.n]
    }

    /// Whether every entry matches `want`'s (see [`Elem::matches`]).
    pub fn matches(&self, want: &Matrix<T>) -> bool {
        self.n == want.n && self.data.iter().zip(&want.data).all(|(x, y)| x.matches(*y))
    }
}

/// A and B for size `n` and `seed`: what every version multiplies.
pub fn inputs<T: Elem>(n: usize, seed: u64) -> (Matrix<T>, Matrix<T>) {
    let mut rng = XorShift::new(seed);
    let a = Matrix::random(n, &mut rng);
    (a, Matrix::random(n, &mut rng))
}

/// Rows `first..` of A·B into `out` (zeros; as many rows as it holds). Tiled so that the
/// piece of C being worked on stays in cache: for each tile of 256 columns, for each k,
/// row k of B (that tile of it) is used for every row of the block. Each entry still
/// adds its products in k order, as the systolic array does.
fn mul_rows<T: Elem>(a: &Matrix<T>, b: &Matrix<T>, first: usize, out: &mut [T]) {
    let n = b.n;
    for j0 in (0..n).step_by(256) {
        let j1 = (j0 + 256).min(n);
        for (k, bk) in b.data.chunks(n).enumerate() {
            for (i, c) in (first..).zip(out.chunks_mut(n)) {
                let aik = a.row(i)[k];
                let c = &mut c[j0..j1];
                c.iter_mut()
                    .zip(&bk[j0..j1])
                    .for_each(|(c, &bkj)| *c = *c + aik * bkj);
            }
        }
    }
}

/// Rows per job of the farm, and per step of the serial product.
pub const BLOCK: usize = 16;

/// A·B on one thread.
pub fn matmul_serial<T: Elem>(a: &Matrix<T>, b: &Matrix<T>) -> Matrix<T> {
    let mut c = Matrix::zeros(a.n);
    for (j, rows) in c.data.chunks_mut(BLOCK * a.n).enumerate() {
        mul_rows(a, b, j * BLOCK, rows);
    }
    c
}

/// Prints `LABEL: done of total` to stderr at most once a second, from the first second
/// on: runs shorter than that stay quiet.
struct Progress(&'static str, Instant);

impl Progress {
    fn new(label: &'static str) -> Progress {
        Progress(label, Instant::now())
    }
    fn tick(&mut self, done: usize, total: usize) {
        if self.1.elapsed() >= Duration::from_secs(1) {
            self.1 = Instant::now();
            eprintln!("  [{}: {done} of {total}]", self.0);
        }
    }
}

// ---------------------------------------------------------------------------------------
// (a) The row farm.

/// A job's result: rows `first..` of C (up to [`BLOCK`] of them), as a worker sends it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Rows<T> {
    /// The first row.
    pub first: usize,
    /// Their entries, row by row.
    pub vals: Vec<T>,
}

/// The farmer: sends the first row index of each job (0, BLOCK, 2·BLOCK, ...), then retires.
fn farmer(out: &Sender<u64>, n: usize) -> occamy::Result {
    (0..n as u64).step_by(BLOCK).try_for_each(|i| out.send(i))?;
    Ok(())
}

/// A worker: computes the rows of each job it takes.
fn worker<T: Elem>(
    jobs: &Receiver<u64>,
    out: &Sender<Rows<T>>,
    a: &Matrix<T>,
    b: &Matrix<T>,
) -> occamy::Result {
    for first in jobs.iter().map(|i| i as usize) {
        let mut vals = vec![T::default(); BLOCK.min(a.n - first) * a.n];
        mul_rows(a, b, first, &mut vals);
        out.send(Rows { first, vals })?;
    }
    Ok(())
}

/// The assembler: puts the rows together into C.
fn assemble<T: Elem>(rows: &Receiver<Rows<T>>, n: usize) -> occamy::Result<Matrix<T>> {
    let mut c = Matrix::zeros(n);
    let mut progress = Progress::new("row farm: rows done");
    let mut done = 0;
    while done < n {
        let Rows { first, vals } = rows.recv()?;
        c.data[first * n..first * n + vals.len()].copy_from_slice(&vals);
        done += vals.len() / n.max(1);
        progress.tick(done, n);
    }
    Ok(c)
}

/// The row farm built in code: a farmer, `workers` workers sharing the job channel and
/// the result channel, an assembler.
pub fn matmul_farm<T: Elem>(a: Arc<Matrix<T>>, b: Arc<Matrix<T>>, workers: usize) -> Matrix<T> {
    let n = a.n;
    let (jobs_tx, jobs_rx) = channel::<u64>();
    let (rows_tx, rows_rx) = channel::<Rows<T>>();
    let result = Arc::new(Mutex::new(None));
    let out = result.clone();
    let mut procs = vec![Process::with("farmer", jobs_tx, move |tx| farmer(&tx, n))];
    for w in 0..workers {
        let (a, b) = (a.clone(), b.clone());
        procs.push(Process::with(
            format!("worker[{w}]"),
            (jobs_rx.clone(), rows_tx.clone()),
            move |(rx, tx)| worker(&rx, &tx, &a, &b),
        ));
    }
    drop((jobs_rx, rows_tx));
    procs.push(Process::with(
        "assemble",
        rows_rx,
        move |rx| -> occamy::Result {
            *out.lock().unwrap() = Some(assemble(&rx, n)?);
            Ok(())
        },
    ));
    par(procs).expect("the row farm failed");
    let c = result.lock().unwrap().take();
    c.expect("the assembler ended without C")
}

const SEED: &str = "the seed A and B are generated from";
const VERIFY: &str = "compare C with the serial product";

/// The kinds of networks/matmul.ron (f64): `rows`, `mul_rows` and `assemble`, with the
/// type `Rows`. `assemble` hands C back to a program running the file
/// (`BuildCtx::values_out`): [`run_file`] takes it from the run's report.
pub fn registry() -> Registry {
    let mut reg = Registry::with_builtins();
    reg.register_debug_type::<Rows<f64>>("Rows");
    reg.register(
        Kind::new(
            "rows",
            "sends the first row of each 16-row job, then retires",
        )
        .output("out", "u64")
        .required_param("n", ParamType::UInt, "the matrix size")
        .build(|ctx| {
            let (out, n) = (ctx.output::<u64>("out")?, ctx.param::<usize>("n")?);
            Ok(ctx.process(move || farmer(&out, n)))
        }),
    );
    reg.register(
        Kind::new("mul_rows", "computes rows i.. of C for each i of `in`")
            .input("in", "u64")
            .output("out", "Rows")
            .required_param("n", ParamType::UInt, "the matrix size")
            .param("seed", ParamType::UInt, 1, SEED)
            .build(|ctx| {
                let (jobs, rows) = (ctx.input::<u64>("in")?, ctx.output::<Rows<f64>>("out")?);
                let (n, seed) = (ctx.param::<usize>("n")?, ctx.param::<u64>("seed")?);
                Ok(ctx.process(move || {
                    let (a, b) = inputs::<f64>(n, seed);
                    worker(&jobs, &rows, &a, &b)
                }))
            }),
    );
    reg.register(
        Kind::new("assemble", "puts the n rows of `in` together into C")
            .input("in", "Rows")
            .required_param("n", ParamType::UInt, "the matrix size")
            .param("seed", ParamType::UInt, 1, SEED)
            .param("verify", ParamType::Bool, true, VERIFY)
            .build(|ctx| {
                let rows = ctx.input::<Rows<f64>>("in")?;
                let (n, seed) = (ctx.param::<usize>("n")?, ctx.param::<u64>("seed")?);
                let verify: bool = ctx.param("verify")?;
                let result = ctx.values_out::<Matrix<f64>>();
                Ok(ctx.process(move || -> occamy::Result {
                    let started = Instant::now();
                    let c = assemble(&rows, n)?;
                    println!(
                        "row farm: C = A·B ({n}×{n}, f64) in {:.3}s",
                        started.elapsed().as_secs_f64()
                    );
                    if verify {
                        let (a, b) = inputs::<f64>(n, seed);
                        if !c.matches(&matmul_serial(&a, &b)) {
                            return Err("C differs from the serial product".into());
                        }
                        println!("check: C equals the serial product (within 1e-9 relative)");
                    }
                    result.push(c);
                    Ok(())
                }))
            }),
    );
    reg
}

/// Runs networks/matmul.ron (or a file with the same kinds) with `sets`; C, as the
/// `assemble` process hands it back.
pub fn run_file(path: &Path, sets: &[(String, String)]) -> Result<Matrix<f64>, String> {
    let mut report =
        occamy::network::run_file(path, sets, &registry()).map_err(|e| e.to_string())?;
    report.result.as_ref().map_err(|e| e.to_string())?;
    let c = report
        .take_values::<Matrix<f64>>("assemble")
        .map_err(|e| e.to_string())?
        .pop();
    c.ok_or_else(|| "the network ended without C".to_string())
}

// ---------------------------------------------------------------------------------------
// (b) The systolic array.

/// Cell (i, j): n steps of: take a from the left and b from above, add a·b to c, pass a
/// right and b down (the last column and row pass nothing on); then report c.
fn cell<T: Elem>(
    (i, j, n): (usize, usize, usize),
    left: &Receiver<T>,
    up: &Receiver<T>,
    right: Option<&Sender<T>>,
    down: Option<&Sender<T>>,
    out: &Sender<(usize, usize, T)>,
) -> occamy::Result {
    let mut c = T::default();
    for _ in 0..n {
        let (a, b) = (left.recv()?, up.recv()?);
        c = c + a * b;
        right.map(|r| r.send(a)).transpose()?;
        down.map(|d| d.send(b)).transpose()?;
    }
    out.send((i, j, c))?;
    Ok(())
}

/// A·B on an n×n systolic array of processes.
pub fn matmul_systolic<T: Elem>(a: &Matrix<T>, b: &Matrix<T>) -> Matrix<T> {
    let n = a.n;
    // h[i][j] runs into cell (i, j) from the left (from a feeder for j = 0), v[i][j] from above.
    let grid = || -> Vec<Vec<(Sender<T>, Receiver<T>)>> {
        (0..n)
            .map(|_| (0..n).map(|_| channel::<T>()).collect())
            .collect()
    };
    let (mut h, mut v) = (grid(), grid());
    let (res_tx, res_rx) = channel::<(usize, usize, T)>();
    let mut procs = Vec::with_capacity(n * n + 2 * n + 1);
    let feed = |name: String, tx: Sender<T>, vals: Vec<T>| {
        Process::with(name, tx, move |tx| -> occamy::Result {
            vals.into_iter().try_for_each(|x| tx.send(x))?;
            Ok(())
        })
    };
    for i in 0..n {
        let col = (0..n).map(|k| b.row(k)[i]).collect();
        procs.push(feed(
            format!("feed_a[{i}]"),
            h[i][0].0.clone(),
            a.row(i).to_vec(),
        ));
        procs.push(feed(format!("feed_b[{i}]"), v[0][i].0.clone(), col));
    }
    for i in 0..n {
        for j in 0..n {
            let right = (j + 1 < n).then(|| h[i][j + 1].0.clone());
            let down = (i + 1 < n).then(|| v[i + 1][j].0.clone());
            let (left, up) = (h[i][j].1.clone(), v[i][j].1.clone());
            let ends = (left, up, right, down, res_tx.clone());
            procs.push(Process::with(
                format!("cell[{i}][{j}]"),
                ends,
                move |(l, u, r, d, o)| cell((i, j, n), &l, &u, r.as_ref(), d.as_ref(), &o),
            ));
        }
    }
    h.clear();
    v.clear();
    drop(res_tx);
    let result = Arc::new(Mutex::new(Matrix::zeros(n)));
    let out = result.clone();
    procs.push(Process::with("collect", res_rx, move |rx| {
        let mut progress = Progress::new("systolic: entries done");
        let mut c = out.lock().unwrap();
        for (done, (i, j, x)) in rx.iter().enumerate() {
            c.data[i * n + j] = x;
            progress.tick(done + 1, n * n);
        }
    }));
    par(procs).expect("the systolic array failed");
    let c = std::mem::replace(&mut *result.lock().unwrap(), Matrix::zeros(0));
    c
}

// ---------------------------------------------------------------------------------------

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} needs a number")),
        None => default,
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed().as_secs_f64())
}

/// Multiplies random n×n matrices with `parallel` and serially; prints the times, the
/// speedup (serial time / parallel time) and the check. Whether the check passed.
fn compare<T: Elem>(
    what: &str,
    (n, seed): (usize, u64),
    parallel: impl FnOnce(Matrix<T>, Matrix<T>) -> Result<Matrix<T>, String>,
) -> bool {
    let (a, b) = inputs::<T>(n, seed);
    let (want, t_ser) = timed(|| matmul_serial(&a, &b));
    let (got, t_par) = timed(|| parallel(a, b));
    let (ok, check) = match got {
        Ok(c) if c.matches(&want) => (true, "equal to the serial product".to_string()),
        Ok(_) => (false, "MISMATCH".to_string()),
        Err(e) => (false, format!("FAILED: {e}")),
    };
    let speedup = t_ser / t_par;
    let speedup = if speedup >= 0.01 {
        format!("{speedup:.2}")
    } else {
        format!("{speedup:.1e}")
    };
    println!("  {what:<26} {t_par:>7.3}s  serial {t_ser:>7.3}s  speedup {speedup:>7}  {check}");
    ok
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some("run" | "check" | "kinds" | "dot") = args.get(1).map(String::as_str) {
        return occamy::launcher::main_from(registry(), args);
    }
    let (n, grid) = (arg(&args, "--n", 1600usize), arg(&args, "--grid", 32usize));
    let seed = arg(&args, "--seed", 1u64);
    let cores = std::thread::available_parallelism().map_or(2, |c| c.get());
    let workers = arg(&args, "--workers", cores);
    println!("{cores} cores, seed {seed}");

    println!("(a) row farm, {n}×{n}, {workers} workers");
    let sets: Vec<(String, String)> = [("n", n), ("seed", seed as usize), ("workers", workers)]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([("verify".to_string(), "false".to_string())])
        .collect();
    fn farm<T: Elem>(a: Matrix<T>, b: Matrix<T>, workers: usize) -> Result<Matrix<T>, String> {
        Ok(matmul_farm(Arc::new(a), Arc::new(b), workers))
    }
    let mut ok = compare::<f64>("f64, networks/matmul.ron", (n, seed), |_, _| {
        run_file(Path::new(NETWORK), &sets)
    });
    if args.iter().any(|a| a == "--code") {
        ok &= compare::<f64>("f64, built in code", (n, seed), |a, b| farm(a, b, workers));
    }
    ok &= compare::<i64>("i64, built in code", (n, seed), |a, b| farm(a, b, workers));

    let procs = grid * grid + 2 * grid + 1;
    println!("(b) systolic array, {grid}×{grid}: {procs} processes");
    fn systolic<T: Elem>(a: Matrix<T>, b: Matrix<T>) -> Result<Matrix<T>, String> {
        Ok(matmul_systolic(&a, &b))
    }
    ok &= compare::<i64>("i64", (grid, seed), systolic);
    ok &= compare::<f64>("f64", (grid, seed), systolic);
    println!("  (one multiply-add per four communications: the systolic array shows the pattern");
    println!("   and the cost of communication, not a speedup)");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
