//! The Mandelbrot farm example (examples/mandelbrot.rs, networks/mandelbrot.ron): the
//! network's image equals the serial one byte for byte, and the serial render gives the
//! peers benchmark's checksum.

mod common;
#[path = "../examples/mandelbrot.rs"]
#[allow(dead_code)]
mod mandelbrot;

use std::path::PathBuf;

use common::watchdog;
use mandelbrot::{Frame, PEERS_CHECKSUM, PEERS_FRAME};

/// Rendering is slow in debug builds: a generous limit, only to catch hangs.
const LIMIT: u64 = 300;

const SMALL: Frame = Frame {
    width: 160,
    height: 117,
    iters: 64,
};

fn sets(frame: Frame, workers: usize, band: u32, out: &str) -> Vec<(String, String)> {
    [
        ("width", frame.width.to_string()),
        ("height", frame.height.to_string()),
        ("iters", frame.iters.to_string()),
        ("workers", workers.to_string()),
        ("band", band.to_string()),
        ("out", format!("{out:?}")), // a RON string
    ]
    .map(|(k, v)| (k.to_string(), v))
    .to_vec()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("occamy-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn serial_render_has_the_peers_checksum() {
    let img = watchdog(LIMIT, "serial 800x600", || {
        mandelbrot::render_serial(PEERS_FRAME)
    });
    assert_eq!(img.checksum(), PEERS_CHECKSUM);
}

#[test]
fn network_file_image_equals_serial_byte_for_byte() {
    let serial = mandelbrot::render_serial(SMALL);
    for (workers, band) in [(1, 1), (3, 5), (4, 200)] {
        let img = watchdog(LIMIT, "networks/mandelbrot.ron", move || {
            mandelbrot::render_file(&sets(SMALL, workers, band, "")).unwrap()
        });
        assert_eq!(img.counts, serial.counts, "{workers} workers, band {band}");
        assert_eq!(img.rgb(), serial.rgb(), "{workers} workers, band {band}");
        assert_eq!(img.checksum(), serial.checksum());
    }
}

#[test]
fn code_farm_image_equals_serial_byte_for_byte() {
    let serial = mandelbrot::render_serial(SMALL);
    let img = watchdog(LIMIT, "render_farm", || {
        mandelbrot::render_farm(SMALL, 4, 7).unwrap()
    });
    assert_eq!(img.rgb(), serial.rgb());
    assert_eq!(img, serial);
}

#[test]
fn network_checksum_equals_serial_on_a_smaller_image() {
    let frame = Frame {
        width: 400,
        height: 300,
        iters: 256,
    };
    let serial = mandelbrot::render_serial(frame);
    let img = watchdog(LIMIT, "400x300 network", move || {
        mandelbrot::render_file(&sets(frame, 2, 4, "")).unwrap()
    });
    assert_eq!(img.checksum(), serial.checksum());
    assert_eq!(img.counts, serial.counts);
}

#[test]
fn network_run_writes_the_png() {
    let png = temp_dir("mandelbrot").join("small.png");
    let _ = std::fs::remove_file(&png);
    let reg = mandelbrot::registry();
    let plan = occamy::network::load(
        std::path::Path::new(mandelbrot::NETWORK),
        &sets(SMALL, 2, 3, png.to_str().unwrap()),
        &reg,
    )
    .unwrap();
    let report = watchdog(LIMIT, "network run", move || {
        occamy::network::start(&plan, &reg, &occamy::Runtime::new())
            .unwrap()
            .wait()
    });
    assert!(report.result.is_ok(), "{:?}", report.result);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (SMALL.width, SMALL.height));
    assert_eq!(
        &buf[..info.buffer_size()],
        &mandelbrot::render_serial(SMALL).rgb()[..]
    );
    let _ = std::fs::remove_dir_all(png.parent().unwrap());
}

#[test]
fn launcher_checks_the_network_file() {
    let args = ["mandelbrot", "check", mandelbrot::NETWORK];
    let code = watchdog(LIMIT, "check", move || {
        occamy::launcher::main_from(mandelbrot::registry(), args)
    });
    assert_eq!(code, std::process::ExitCode::SUCCESS);
}

#[test]
fn network_file_places_its_workers_round_robin() {
    let file = std::path::Path::new(mandelbrot::NETWORK);
    let reg = mandelbrot::registry();
    for ranks in [1, 2, 3] {
        let opts = occamy::network::LoadOptions {
            sets: vec![("workers".into(), "4".into())],
            ranks,
        };
        let plan = occamy::network::load_with(file, &opts, &reg).expect("it checks");
        for p in &plan.processes {
            let want = match p.name.strip_prefix("worker[") {
                Some(w) => w.trim_end_matches(']').parse::<u32>().unwrap() % ranks,
                None => 0,
            };
            assert_eq!(p.rank, want, "{} on {ranks} ranks", p.name);
        }
    }
}
