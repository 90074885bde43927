//! Any bytes as a CSV export: read, then audited against a fixed policy.
//! Reading may fail with an error; nothing may panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

const POLICY: &str = r#"
[source]
id = "s"
activity = "socialtjanst"
data_categories = ["halsa"]
scopes = ["IFO", "VO"]
[[grant]]
group = '^SG-(?P<scope>IFO|VO)-(?P<role>\w+)$'
[[allow]]
role = "Las"
when.department = "{scope}"
[checks]
inactive_days = 30
broad_groups = ['^Alla']
separation_of_duties = [["Las", "Admin"]]
"#;

fuzz_target!(|data: &[u8]| {
    let mut inventory = behorig::inventory::Inventory::new();
    if behorig::sources::csv::read_bytes("fuzz.csv", data, &mut inventory).is_ok() {
        inventory.finish();
        if let Ok(policy) = behorig::policy::parse_policy(std::path::Path::new("p.toml"), POLICY) {
            let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
            let _ = behorig::evaluate::evaluate(&[policy], &inventory, as_of);
        }
    }
});
