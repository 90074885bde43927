//! Scale benchmark: a synthetic organisation (see `behorig::synth`) audited
//! from CSV, side by side with the bare parse of the same files, with peak
//! memory and a check that the findings are exactly the planted ones.
//!
//! `cargo bench --bench scale` runs 100k accounts; `-- --full` adds 1M;
//! `-- --runs N` sets the runs per measurement (default 5).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Peak resident memory of the largest child process so far, in bytes.
fn children_peak_rss() -> u64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    if rc != 0 {
        return 0;
    }
    (usage.ru_maxrss as u64) * 1024
}

fn bare_parse(files: &[PathBuf]) -> usize {
    let mut fields = 0;
    for f in files {
        let file = std::fs::File::open(f).expect("open");
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(std::io::BufReader::with_capacity(1 << 16, file));
        let mut rec = csv::ByteRecord::new();
        while rdr.read_byte_record(&mut rec).expect("parse") {
            fields += rec.len();
        }
    }
    fields
}

fn dataset(accounts: usize) -> (PathBuf, behorig::synth::Written) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("synth-{accounts}"));
    let spec = behorig::synth::Spec {
        accounts,
        sources: 30,
        seed: 1,
    };
    let written = behorig::synth::write(&spec, &dir).expect("generate");
    (dir, written)
}

fn finding_keys(report: &Path) -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).expect("report")).expect("json");
    let mut keys: Vec<String> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("-").to_string();
            format!(
                "{} {} {} {} {} {}",
                s("rule"),
                s("data_source"),
                s("account"),
                s("group"),
                s("role"),
                s("scope")
            )
        })
        .collect();
    keys.sort();
    keys
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--full");
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    // `cargo test --all-targets` runs this file without `--bench`: then it
    // is a quick check that the planted findings come out, not a
    // measurement.
    let measuring = args.iter().any(|a| a == "--bench");
    let runs = if measuring { runs } else { 1 };
    let mut sizes = vec![if measuring { 100_000 } else { 5_000 }];
    if full {
        sizes.push(1_000_000);
    }
    let bin = env!("CARGO_BIN_EXE_behorig");
    println!(
        "machine: {} cores; runs per measurement: {runs}; medians",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut failed = false;
    for accounts in sizes {
        let (dir, w) = dataset(accounts);
        let mut parse_times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            std::hint::black_box(bare_parse(&w.csv));
            parse_times.push(t.elapsed());
        }
        let report = dir.join("report.json");
        let mut audit_times = Vec::new();
        for _ in 0..runs {
            let _ = std::fs::remove_file(&report);
            let mut cmd = Command::new(bin);
            cmd.arg("audit")
                .arg("--policies")
                .arg(&w.policies)
                .args([
                    "--as-of",
                    behorig::synth::AS_OF,
                    "--format",
                    "json",
                    "--fail-on",
                    "never",
                ])
                .arg("--output")
                .arg(&report);
            for f in &w.csv {
                cmd.arg("--csv").arg(f);
            }
            let t = Instant::now();
            let out = cmd.output().expect("run behorig");
            audit_times.push(t.elapsed());
            if !out.status.success() {
                eprintln!("audit failed: {}", String::from_utf8_lossy(&out.stderr));
                std::process::exit(1);
            }
        }
        let peak = children_peak_rss();
        let parse = median(parse_times);
        let audit = median(audit_times);
        let mut expected: Vec<String> = behorig::synth::PLANTED
            .iter()
            .map(|s| s.to_string())
            .collect();
        expected.sort();
        let found = finding_keys(&report);
        let correct = found == expected;
        failed |= !correct;
        println!();
        println!(
            "{accounts} accounts, {} memberships, {} groups, 30 policies, {:.1} MB of CSV",
            w.memberships,
            w.groups,
            w.bytes as f64 / 1e6
        );
        println!("  bare csv parse   {:>9.3} s", parse.as_secs_f64());
        println!(
            "  full audit       {:>9.3} s   ({:.2}x the bare parse)",
            audit.as_secs_f64(),
            audit.as_secs_f64() / parse.as_secs_f64()
        );
        println!(
            "  peak memory      {:>9.1} MB  ({:.2}x the input)",
            peak as f64 / 1e6,
            peak as f64 / w.bytes as f64
        );
        println!(
            "  findings         {}",
            if correct {
                format!("exactly the {} planted", expected.len())
            } else {
                format!("WRONG: {found:?}")
            }
        );
    }
    if failed {
        std::process::exit(1);
    }
}
