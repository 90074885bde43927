//! Any text as an exceptions file: parsed and validated with every problem
//! reported; nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = behorig::exceptions::parse(std::path::Path::new("undantag.toml"), text);
    }
});
