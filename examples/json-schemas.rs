//! Writes the JSON Schemas of the report, the remediation plan and the
//! exceptions file, generated from the types in `behorig::schema`:
//! `cargo run --example json-schemas -- docs/schema`.

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: json-schemas DIR");
        std::process::exit(2);
    };
    for (name, schema) in behorig::schema::all() {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, behorig::schema::to_file_text(&schema)) {
            eprintln!("error: {}: {e}", path.display());
            std::process::exit(1);
        }
    }
}
