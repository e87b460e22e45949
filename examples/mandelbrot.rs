//! Mandelbrot farm: a farmer hands out bands of rows over one shared channel to K workers,
//! which compete for them (JCSP's any-to-any channel); a collector assembles the image
//! from the bands as they come back, in any order, and writes a PNG.
//!
//! ```text
//! farmer --jobs (shared)--> worker[0..K] --results (shared)--> collector --> PNG
//! ```
//!
//! The Mandelbrot definition and region are the peers benchmark's
//! (`../shared/peers/go/main.go`), so 800x600 at 256 iterations sums to 22322904.
//!
//! ```sh
//! cargo run --release --example mandelbrot                     # file network vs serial
//! cargo run --release --example mandelbrot -- --code --workers 4 --width 3200 --height 2400
//! cargo run --release --example mandelbrot -- --serial
//! cargo run --release --example mandelbrot -- run networks/mandelbrot.ron --set workers=4
//! cargo run --example mandelbrot -- dot networks/mandelbrot.ron
//! ```

use std::fmt;
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use occamy::network::{Kind, ParamType, Registry};
use occamy::{channel, par, Process, Receiver, Sender};
use serde::Deserialize;

/// The peers benchmark's image: 800x600 pixels, 256 iterations ...
pub const PEERS_FRAME: Frame = Frame {
    width: 800,
    height: 600,
    iters: 256,
};
/// ... and its checksum (the sum of the iteration counts of all pixels).
pub const PEERS_CHECKSUM: u64 = 22_322_904;

/// The network file this example serves.
pub const NETWORK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/networks/mandelbrot.ron");

/// What to render: image size and iteration limit (the region is fixed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The iteration limit.
    pub iters: u32,
}

/// A job for a worker: rows `y0..y1` of `frame`.
#[derive(Clone, Copy, Debug, Deserialize, serde::Serialize)]
pub struct Job {
    /// The image it is part of.
    pub frame: Frame,
    /// First row.
    pub y0: u32,
    /// One past the last row.
    pub y1: u32,
}

/// A finished band: the iteration counts of rows from `y0` on, row by row.
#[derive(Clone, Deserialize, serde::Serialize)]
pub struct Band {
    /// First row.
    pub y0: u32,
    /// The counts, `width` per row.
    pub counts: Vec<u16>,
}

impl fmt::Debug for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Band(y0={}, {} pixels)", self.y0, self.counts.len())
    }
}

/// A rendered image: one iteration count per pixel, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// What was rendered.
    pub frame: Frame,
    /// The counts.
    pub counts: Vec<u16>,
}

impl Image {
    /// The peers benchmark's checksum: the sum of all iteration counts.
    pub fn checksum(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// The pixels as 8-bit RGB, as the PNG holds them: black inside the set, a
    /// blue-orange palette outside.
    pub fn rgb(&self) -> Vec<u8> {
        let max = self.frame.iters;
        let mut out = Vec::with_capacity(self.counts.len() * 3);
        for &c in &self.counts {
            if u32::from(c) >= max {
                out.extend([0, 0, 0]);
                continue;
            }
            let t = (f64::from(c) / f64::from(max)).sqrt();
            let u = 1.0 - t;
            let px = [
                9.0 * u * t * t * t,
                15.0 * u * u * t * t,
                8.5 * u * u * u * t,
            ];
            out.extend(px.map(|v| (v * 255.0).clamp(0.0, 255.0) as u8));
        }
        out
    }

    /// Writes the image as an RGB PNG.
    pub fn write_png(&self, path: &Path) -> Result<(), String> {
        let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let w = std::io::BufWriter::new(file);
        let mut enc = png::Encoder::new(w, self.frame.width, self.frame.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        writer
            .write_image_data(&self.rgb())
            .map_err(|e| e.to_string())
    }
}

/// The iteration counts of row `y`, exactly as the peers benchmark computes them.
pub fn mandel_row(frame: Frame, y: u32, row: &mut [u16]) {
    let cy = -1.3125 + 2.625 * f64::from(y) / f64::from(frame.height);
    for (x, out) in row.iter_mut().enumerate() {
        let cx = -2.5 + 3.5 * (x as f64) / f64::from(frame.width);
        let (mut zr, mut zi) = (0.0f64, 0.0f64);
        let mut it = 0;
        while it < frame.iters {
            let (zr2, zi2) = (zr * zr, zi * zi);
            if zr2 + zi2 > 4.0 {
                break;
            }
            zi = 2.0 * zr * zi + cy;
            zr = zr2 - zi2 + cx;
            it += 1;
        }
        *out = it as u16;
    }
}

/// Prints "label: NN%" to stderr, but only once a run has taken more than two seconds.
pub struct Progress(&'static str, usize, usize, Instant, Instant);

impl Progress {
    /// A progress line for about `total` units of work.
    pub fn new(label: &'static str, total: usize) -> Progress {
        let now = Instant::now();
        Progress(label, total.max(1), 0, now, now)
    }
    /// `n` more units are done.
    pub fn add(&mut self, n: impl TryInto<usize>) {
        let before = self.2 * 1000 / self.1;
        self.2 += n.try_into().unwrap_or(0);
        if self.2 * 1000 / self.1 == before {
            return; // look at the clock only every 0.1%
        }
        let late = self.3.elapsed() > Duration::from_secs(2);
        if late && self.4.elapsed() > Duration::from_millis(500) {
            self.4 = Instant::now();
            eprint!("\r{}: {:3}%", self.0, (self.2 * 100 / self.1).min(99));
        }
    }
    /// Ends the progress line, if one was shown.
    pub fn finish(&self) {
        if self.4 != self.3 {
            let secs = self.3.elapsed().as_secs_f64();
            eprintln!("\r{}: 100% ({secs:.1}s)", self.0);
        }
    }
}

/// The serial version: every row in order on this thread.
pub fn render_serial(frame: Frame) -> Image {
    let w = frame.width as usize;
    let mut counts = vec![0u16; w * frame.height as usize];
    let mut progress = Progress::new("serial", frame.height as usize);
    for (y, row) in counts.chunks_mut(w.max(1)).enumerate() {
        mandel_row(frame, y as u32, row);
        progress.add(1);
    }
    progress.finish();
    Image { frame, counts }
}

/// The farmer: sends the bands of `band` rows, then ends; when every farmer end is gone
/// the jobs channel retires, and the workers end.
pub fn farmer(frame: Frame, band: u32, jobs: Sender<Job>) -> occamy::Result {
    let band = band.max(1);
    for y0 in (0..frame.height).step_by(band as usize) {
        let y1 = (y0 + band).min(frame.height);
        jobs.send(Job { frame, y0, y1 })?;
    }
    Ok(())
}

/// A worker: takes jobs until the jobs channel retires, sends back each band.
pub fn worker(jobs: Receiver<Job>, results: Sender<Band>) -> occamy::Result {
    for job in jobs.values() {
        let job = job?;
        let w = job.frame.width as usize;
        let mut counts = vec![0u16; w * (job.y1 - job.y0) as usize];
        for (i, row) in counts.chunks_mut(w.max(1)).enumerate() {
            mandel_row(job.frame, job.y0 + i as u32, row);
        }
        results.send(Band { y0: job.y0, counts })?;
    }
    Ok(())
}

/// The farmer as an async process (the kind in networks/mandelbrot.ron): a green task.
pub async fn farmer_async(frame: Frame, band: u32, jobs: Sender<Job>) -> occamy::Result {
    let band = band.max(1);
    for y0 in (0..frame.height).step_by(band as usize) {
        let y1 = (y0 + band).min(frame.height);
        jobs.send_async(Job { frame, y0, y1 }).await?;
    }
    Ok(())
}

/// The worker as an async process (the kind in networks/mandelbrot.ron): a green task
/// that computes a band between two channel operations, as the blocking [`worker`] does
/// on a thread of its own.
pub async fn worker_async(jobs: Receiver<Job>, results: Sender<Band>) -> occamy::Result {
    loop {
        let job = match jobs.recv_async().await {
            Ok(job) => job,
            Err(occamy::RecvError::Retired) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let w = job.frame.width as usize;
        let mut counts = vec![0u16; w * (job.y1 - job.y0) as usize];
        for (i, row) in counts.chunks_mut(w.max(1)).enumerate() {
            mandel_row(job.frame, job.y0 + i as u32, row);
        }
        results.send_async(Band { y0: job.y0, counts }).await?;
    }
}

/// The collector: puts bands in place until the results channel retires (every worker
/// has ended), and checks that every row came.
pub fn collect(frame: Frame, results: Receiver<Band>) -> Result<Image, String> {
    let w = frame.width as usize;
    let mut counts = vec![0u16; w * frame.height as usize];
    let mut rows = 0;
    let mut progress = Progress::new("network", frame.height as usize);
    for band in results.values() {
        let band = band.map_err(|e| format!("results: {e}"))?;
        let at = band.y0 as usize * w;
        counts[at..at + band.counts.len()].copy_from_slice(&band.counts);
        rows += band.counts.len() / w.max(1);
        progress.add(band.counts.len() / w.max(1));
    }
    progress.finish();
    if rows != frame.height as usize {
        return Err(format!("got {rows} of {} rows", frame.height));
    }
    Ok(Image { frame, counts })
}

/// Reports an image: its checksum (and, for the peers' frame, whether it matches), and
/// writes it to `out` unless that is empty.
pub fn report(img: &Image, out: &str) -> Result<(), String> {
    let f = img.frame;
    let sum = img.checksum();
    let peers = match (f == PEERS_FRAME, sum == PEERS_CHECKSUM) {
        (false, _) => "",
        (true, true) => " (matches the peers benchmark)",
        (true, false) => " (WRONG: the peers benchmark has 22322904)",
    };
    println!(
        "mandelbrot {}x{}, {} iterations: checksum {sum}{peers}",
        f.width, f.height, f.iters
    );
    if !out.is_empty() {
        img.write_png(Path::new(out))?;
        println!("wrote {out}");
    }
    Ok(())
}

/// The farm built in code: the same processes as networks/mandelbrot.ron.
pub fn render_farm(frame: Frame, workers: usize, band: u32) -> Result<Image, String> {
    let (jobs_tx, jobs_rx) = channel::<Job>();
    let (res_tx, res_rx) = channel::<Band>();
    let (img_tx, img_rx) = mpsc::channel();
    let mut procs = vec![Process::with("farmer", jobs_tx, move |jobs| {
        farmer(frame, band, jobs)
    })];
    for w in 0..workers {
        let ends = (jobs_rx.clone(), res_tx.clone());
        procs.push(Process::with(format!("worker[{w}]"), ends, |(j, r)| {
            worker(j, r)
        }));
    }
    // The originals would keep both channels from ever retiring.
    drop((jobs_rx, res_tx));
    procs.push(Process::with(
        "collector",
        res_rx,
        move |rx| -> occamy::Result {
            let _ = img_tx.send(collect(frame, rx)?);
            Ok(())
        },
    ));
    par(procs).map_err(|e| e.to_string())?;
    img_rx
        .recv()
        .map_err(|_| "the collector sent no image".to_string())
}

/// The built-in kinds plus `mandel_farmer`, `mandel_worker` and `mandel_collector`. The
/// collector reports the image and hands it back to a program running the file
/// (`BuildCtx::values_out`): [`render_file`] takes it from the run's report.
pub fn registry() -> Registry {
    let mut reg = Registry::with_builtins();
    reg.register_debug_type::<Job>("Job");
    reg.register_debug_type::<Band>("Band");
    // Jobs and bands cross MPI ranks when the workers are placed on several.
    reg.add_codec::<Job>("Job").expect("Job is registered");
    reg.add_codec::<Band>("Band").expect("Band is registered");
    let frame_params = |kind: Kind| {
        kind.param("width", ParamType::UInt, 800u32, "image width in pixels")
            .param("height", ParamType::UInt, 600u32, "image height in pixels")
            .param(
                "iters",
                ParamType::UInt,
                256u32,
                "iteration limit (at most 65535)",
            )
    };
    let frame = |ctx: &occamy::network::BuildCtx| -> Result<Frame, occamy::network::BuildError> {
        let (width, height, iters) = (
            ctx.param("width")?,
            ctx.param("height")?,
            ctx.param("iters")?,
        );
        if iters > u32::from(u16::MAX) {
            return Err("iters: at most 65535 (counts are u16, as the peers benchmark's)".into());
        }
        Ok(Frame {
            width,
            height,
            iters,
        })
    };
    let farmer_kind = Kind::new("mandel_farmer", "hands out bands of `band` rows on `jobs`");
    reg.register(
        frame_params(farmer_kind)
            .output("jobs", "Job")
            .param("band", ParamType::UInt, 4u32, "rows per job")
            .build(move |ctx| {
                let (jobs, frame, band) = (ctx.output("jobs")?, frame(ctx)?, ctx.param("band")?);
                Ok(ctx.process_async(farmer_async(frame, band, jobs)))
            }),
    );
    reg.register(
        Kind::new("mandel_worker", "renders each job, sends back the band")
            .input("jobs", "Job")
            .output("results", "Band")
            .build(|ctx| {
                let (jobs, results) = (ctx.input("jobs")?, ctx.output("results")?);
                Ok(ctx.process_async(worker_async(jobs, results)))
            }),
    );
    let collector_kind = Kind::new(
        "mandel_collector",
        "assembles the image, prints its checksum",
    );
    reg.register(
        frame_params(collector_kind)
            .input("results", "Band")
            .param("out", ParamType::Str, "", "PNG file to write (empty: none)")
            .build(move |ctx| {
                let (results, frame) = (ctx.input("results")?, frame(ctx)?);
                let (out, image): (String, _) = (ctx.param("out")?, ctx.values_out::<Image>());
                Ok(ctx.process(move || -> occamy::Result {
                    let img = collect(frame, results)?;
                    report(&img, &out)?;
                    image.push(img);
                    Ok(())
                }))
            }),
    );
    reg
}

/// Runs networks/mandelbrot.ron with param overrides `sets` (its collector reports the
/// image, and writes it to the file param `out` names unless that is empty); returns the
/// image, as the collector hands it back.
pub fn render_file(sets: &[(String, String)]) -> Result<Image, String> {
    let mut run =
        occamy::network::run_file(NETWORK, sets, &registry()).map_err(|e| e.to_string())?;
    run.result.as_ref().map_err(|e| e.to_string())?;
    let img = run
        .take_values::<Image>("collector")
        .map_err(|e| e.to_string())?
        .pop();
    img.ok_or_else(|| "the collector handed back no image".into())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let sub = args.get(1).map_or("", String::as_str);
    if ["run", "check", "kinds", "dot"].contains(&sub) {
        return occamy::launcher::main_from(registry(), args);
    }
    match demo(&args[1..]) {
        Ok(ok) => ExitCode::from(u8::from(!ok)),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "use run|check|kinds|dot FILE, or [--code] [--serial] [--workers K] \
                     [--width W] [--height H] [--iters N] [--band B] [--out FILE]";

/// The demo: serial render, then the farm (from the network file, or `--code`), compared
/// byte for byte; prints the speedup. Returns whether the images agree.
fn demo(args: &[String]) -> Result<bool, String> {
    let (mut frame, mut workers, mut band) = (PEERS_FRAME, 2, 4);
    let (mut code, mut serial_only, mut out) = (false, false, "mandelbrot.png".to_string());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = || -> Result<u32, String> {
            let v = it.next().ok_or(format!("{a} needs a value"))?;
            v.parse().map_err(|_| format!("{a}: `{v}` is not a number"))
        };
        match a.as_str() {
            "--code" => code = true,
            "--serial" => serial_only = true,
            "--width" => frame.width = num()?,
            "--height" => frame.height = num()?,
            "--iters" => frame.iters = num()?.min(u16::MAX.into()),
            "--workers" => workers = num()?.max(1) as usize,
            "--band" => band = num()?,
            "--out" => out = it.next().cloned().ok_or("--out needs a file")?,
            _ => return Err(format!("unknown argument `{a}`; {USAGE}")),
        }
    }
    let t = Instant::now();
    let serial = render_serial(frame);
    let ts = t.elapsed().as_secs_f64();
    println!("serial: {ts:.3}s");
    if serial_only {
        report(&serial, &out)?;
        return Ok(frame != PEERS_FRAME || serial.checksum() == PEERS_CHECKSUM);
    }
    let t = Instant::now();
    let farm = if code {
        render_farm(frame, workers, band)?
    } else {
        let s = |k: &str, v: &dyn ToString| (k.to_string(), v.to_string());
        render_file(&[
            s("width", &frame.width),
            s("height", &frame.height),
            s("iters", &frame.iters),
            s("workers", &workers),
            s("band", &band),
            s("out", &format!("{out:?}")), // the collector reports the image
        ])?
    };
    let tp = t.elapsed().as_secs_f64();
    let how = if code {
        "built in code"
    } else {
        "networks/mandelbrot.ron"
    };
    println!("{how}, {workers} workers, bands of {band} rows: {tp:.3}s");
    let same = farm.counts == serial.counts && farm.rgb() == serial.rgb();
    println!(
        "{}",
        if same {
            "images identical byte for byte"
        } else {
            "IMAGES DIFFER"
        }
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "speedup {:.2}x (serial / parallel) on {cores} cores",
        ts / tp
    );
    if code {
        report(&farm, &out)?;
    }
    Ok(same && (frame != PEERS_FRAME || farm.checksum() == PEERS_CHECKSUM))
}
