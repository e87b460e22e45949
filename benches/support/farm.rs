//! The Mandelbrot farm of issue 8's bar, against the serial render in the same run: a
//! farmer hands out bands of rows over one shared channel to `procs` green workers, a
//! collector takes the bands back over another and assembles the image. Included by
//! `core.rs` (`mod farm;`). Both sides sum the image's iteration counts, and the farm's sum
//! must equal the serial one (a farm that lost or doubled a band would fail the run, not
//! report a figure).

use std::sync::mpsc;
use std::time::Instant;

use occamy::{Process, RecvError};

use super::green::runtime;
use super::stats::ns_since;

type R = Result<(), occamy::Error>;

/// An image: width, height, iteration limit.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub iters: u32,
}

/// Rows per job: a band costs milliseconds at the bar's size, against microseconds a
/// hand-off, and 600 bands keep two workers busy to the end.
const BAND: u32 = 4;

/// The iteration counts of row `y`, as the peers benchmark and examples/mandelbrot.rs
/// compute them; returns their sum.
fn row(f: Frame, y: u32, out: &mut [u16]) -> u64 {
    let cy = -1.3125 + 2.625 * f64::from(y) / f64::from(f.height);
    let mut sum = 0u64;
    for (x, o) in out.iter_mut().enumerate() {
        let cx = -2.5 + 3.5 * (x as f64) / f64::from(f.width);
        let (mut zr, mut zi) = (0.0f64, 0.0f64);
        let mut it = 0;
        while it < f.iters {
            let (zr2, zi2) = (zr * zr, zi * zi);
            if zr2 + zi2 > 4.0 {
                break;
            }
            zi = 2.0 * zr * zi + cy;
            zr = zr2 - zi2 + cx;
            it += 1;
        }
        *o = it as u16;
        sum += u64::from(it);
    }
    sum
}

fn band(f: Frame, y0: u32) -> (u32, Vec<u16>, u64) {
    let y1 = (y0 + BAND).min(f.height);
    let w = f.width as usize;
    let mut px = vec![0u16; w * (y1 - y0) as usize];
    let mut sum = 0;
    for (i, y) in (y0..y1).enumerate() {
        sum += row(f, y, &mut px[i * w..(i + 1) * w]);
    }
    (y0, px, sum)
}

/// The serial render: ms per image; checks nothing (it is the reference).
pub fn serial(f: Frame) -> (f64, u64) {
    let t0 = Instant::now();
    let mut img = vec![0u16; f.width as usize * f.height as usize];
    let w = f.width as usize;
    let mut sum = 0;
    for y in 0..f.height {
        sum += row(f, y, &mut img[y as usize * w..(y as usize + 1) * w]);
    }
    std::hint::black_box(&img);
    (ns_since(t0) / 1e6, sum)
}

/// The farm on a pool of `workers` threads with `procs` worker processes: ms per image,
/// from the first job handed out to the last band assembled, and the image's sum.
pub fn green(workers: usize, procs: usize, f: Frame) -> (f64, u64) {
    let (job_tx, job_rx) = occamy::channel::<u32>();
    let (band_tx, band_rx) = occamy::channel::<(u32, Vec<u16>, u64)>();
    let (res_tx, res_rx) = mpsc::channel();
    let t0 = Instant::now();
    let mut net = vec![
        Process::new_async("farmer", async move {
            for y0 in (0..f.height).step_by(BAND as usize) {
                job_tx.send_async(y0).await?;
            }
            R::Ok(()) // its end retires `jobs`: each worker's next receive ends it
        }),
        Process::new_async("collector", async move {
            let w = f.width as usize;
            let mut img = vec![0u16; w * f.height as usize];
            let mut sum = 0;
            loop {
                match band_rx.recv_async().await {
                    Ok((y0, px, s)) => {
                        let at = y0 as usize * w;
                        img[at..at + px.len()].copy_from_slice(&px);
                        sum += s;
                    }
                    Err(RecvError::Retired) => break,
                    Err(e) => return Err(e.into()),
                }
            }
            std::hint::black_box(&img);
            res_tx
                .send((ns_since(t0) / 1e6, sum))
                .expect("result channel");
            R::Ok(())
        }),
    ];
    for (i, (jobs, bands)) in job_rx
        .clones(procs)
        .into_iter()
        .zip(band_tx.clones(procs))
        .enumerate()
    {
        net.push(Process::new_async(format!("worker{i}"), async move {
            loop {
                let y0 = match jobs.recv_async().await {
                    Ok(y0) => y0,
                    Err(RecvError::Retired) => return R::Ok(()),
                    Err(e) => return Err(e.into()),
                };
                bands.send_async(band(f, y0)).await?;
            }
        }));
    }
    runtime(workers).par(net).expect("the farm ends normally");
    res_rx.recv().expect("the collector's figure")
}
