//! Any text as a policy file: parsed and validated with every problem
//! reported; nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = behorig::policy::parse_policy(std::path::Path::new("p.toml"), text);
        let _ = behorig::config::Config::parse(std::path::Path::new("behorig.toml"), text);
    }
});
