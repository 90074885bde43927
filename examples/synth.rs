//! Writes a synthetic organisation: `cargo run --release --example synth --
//! ACCOUNTS DIR [SEED]`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(accounts), Some(dir)) = (args.get(1).and_then(|a| a.parse().ok()), args.get(2))
    else {
        eprintln!("usage: synth ACCOUNTS DIR [SEED]");
        std::process::exit(2);
    };
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let spec = behorig::synth::Spec {
        seed,
        ..behorig::synth::Spec::new(accounts)
    };
    match behorig::synth::write(&spec, std::path::Path::new(dir)) {
        Ok(w) => println!(
            "{} accounts, {} memberships, {} bytes of CSV in {}",
            accounts, w.memberships, w.bytes, dir
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
