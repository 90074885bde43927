//! Inputs that once crashed a parser (found by the fuzz targets under
//! `fuzz/`): each is read again and must give a result or an error, never
//! a panic. The file's extension says which parser it is for.

use std::path::Path;

#[test]
fn every_recorded_crash_is_handled() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("regression folder") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        let name = path.display().to_string();
        match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => {
                let mut inventory = behorig::inventory::InventoryBuilder::new();
                let _ = behorig::sources::csv::read_bytes(&name, &bytes, &mut inventory);
            }
            Some("toml") => {
                let text = String::from_utf8_lossy(&bytes);
                let _ = behorig::policy::parse_policy(&path, &text);
                let _ = behorig::config::Config::parse(&path, &text);
                let _ = behorig::exceptions::parse(&path, &text);
            }
            other => panic!("{name}: no parser for extension {other:?}"),
        }
        count += 1;
    }
    assert!(count > 0, "no regression inputs found");
}
