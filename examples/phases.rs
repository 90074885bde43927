//! Times the stages of an audit of a folder written by `synth`.
use std::time::Instant;

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_default());
    let t = Instant::now();
    let policies = behorig::policy::load_dir(&dir.join("policies")).unwrap_or_default();
    println!("policies   {:?}", t.elapsed());
    let t = Instant::now();
    let mut inv = behorig::inventory::Inventory::new();
    for f in ["konton.csv", "nastling.csv", "roller.csv"] {
        if let Err(e) = behorig::sources::csv::read_file(&dir.join(f), &mut inv) {
            eprintln!("{e}");
        }
    }
    inv.finish();
    println!("read       {:?}", t.elapsed());
    let t = Instant::now();
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
    let e = behorig::evaluate::evaluate(&policies, &inv, as_of);
    println!(
        "evaluate   {:?} ({} findings)",
        t.elapsed(),
        e.findings.len()
    );
    let t = Instant::now();
    let bytes = std::fs::read(dir.join("konton.csv")).unwrap_or_default();
    let mut rdr = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let mut rec = csv::ByteRecord::new();
    let mut n = 0;
    while rdr.read_byte_record(&mut rec).unwrap_or(false) {
        n += rec.len();
    }
    println!("bare parse {:?} ({n} fields)", t.elapsed());
}
