//! Any bytes as an LDIF export: parsed, then mapped into an inventory with
//! the default attribute mapping. Errors are fine; panics and hangs are not.
#![no_main]

use behorig::sources::{directory, ldif};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = ldif::parse("fuzz.ldif", data) {
        let mut inventory = behorig::inventory::Inventory::new();
        let mapping = directory::Mapping::from_config(None);
        if directory::add_entries(entries, &mapping, &mut inventory).is_ok() {
            inventory.finish();
        }
    }
});
