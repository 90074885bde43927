//! Any bytes as a directory server's answers to `--ldap`: the first byte
//! sets how many bytes the loopback server writes at a time, the rest are
//! its answers, read as LDAP messages and mapped into an inventory. Errors are fine; panics, hangs
//! and allocations of the sizes the bytes claim are not.
#![no_main]

use behorig::config::LdapConfig;
use behorig::sources::{directory, ldap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, answers)) = data.split_first() else {
        return;
    };
    let config = LdapConfig {
        base_dn: Some("dc=example,dc=se".into()),
        page_size: 2,
        ..LdapConfig::default()
    };
    let mut inventory = behorig::inventory::Inventory::new();
    let mapping = directory::Mapping::from_config(None);
    if ldap::replay(answers, usize::from(chunk) + 1, &config, &mapping, &mut inventory).is_ok() {
        inventory.finish();
    }
});
