//! Writes a synthetic organisation: `cargo run --release --example synth --
//! ACCOUNTS DIR [SEED] [PERCENT] [cell|export|by-group]`: PERCENT of the
//! accounts with a planted finding (default none beyond the fixed
//! handful), and the memberships in a cell of the account row (default),
//! as their own export account by account, or as their own export group
//! by group.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(accounts), Some(dir)) = (args.get(1).and_then(|a| a.parse().ok()), args.get(2))
    else {
        eprintln!("usage: synth ACCOUNTS DIR [SEED] [PERCENT] [cell|export|by-group]");
        std::process::exit(2);
    };
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let percent: f64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let spec = behorig::synth::Spec {
        seed,
        finding_ppm: (percent * 10_000.0).round() as u32,
        memberships: match args.get(5).map(String::as_str) {
            Some("export") => behorig::synth::Memberships::Export,
            Some("by-group") => behorig::synth::Memberships::ExportByGroup,
            _ => behorig::synth::Memberships::InCell,
        },
        ..behorig::synth::Spec::new(accounts)
    };
    match behorig::synth::write(&spec, std::path::Path::new(dir)) {
        Ok(w) => println!(
            "{} accounts, {} memberships, {} bytes of CSV in {}; {} findings expected",
            accounts,
            w.memberships,
            w.bytes,
            dir,
            w.expected.len()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
