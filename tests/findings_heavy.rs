//! Findings-heavy organisations (a third of the accounts with a finding,
//! memberships as their own export).
//!
//! An audit holds its findings packed while the inventory is in memory
//! and, from a few thousand findings, frees the inventory before it
//! unpacks them: its report is the one that evaluating into a plain list
//! gives, finding for finding (with the grants' places SARIF shows) and,
//! for CSV, person for person. A membership export listed group by group
//! gives the report the same export listed account by account gives.

use behorig::cli::Inputs;
use behorig::commands::{add_people, build_report_for, load, report_reasoned};
use behorig::evaluate::Reasoning;
use behorig::output::Format;
use behorig::synth::{Memberships, Spec, AS_OF};

fn inputs(w: &behorig::synth::Written) -> Inputs {
    Inputs {
        config: None,
        policies: w.policies.clone(),
        csv: w.csv.clone(),
        ldif: Vec::new(),
        ldap: None,
        as_of: chrono::NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d").expect("date"),
        logs: Default::default(),
    }
}

fn organisation(memberships: Memberships, dir: &std::path::Path) -> behorig::synth::Written {
    let spec = Spec {
        finding_ppm: 330_000,
        memberships,
        ..Spec::new(15_000)
    };
    behorig::synth::write(&spec, dir).expect("organisation")
}

#[test]
fn a_findings_heavy_audit_reports_what_plain_evaluation_finds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let w = organisation(Memberships::Export, dir.path());
    let inputs = inputs(&w);
    let loaded = load(&inputs).expect("organisation read");
    let mut plain = report_reasoned(&loaded, inputs.as_of, Reasoning::Skip);
    add_people(&mut plain, &loaded.inventory);
    drop(loaded);
    // Enough findings that the audit frees its inventory first.
    assert_eq!(plain.findings.len(), w.expected.len());
    assert!(plain.findings.len() > 4_500, "{}", plain.findings.len());
    assert!(plain.people.len() > 4_000, "{}", plain.people.len());

    for format in [Format::Json, Format::Sarif, Format::Csv] {
        let audit = build_report_for(&inputs, format).expect("audit");
        assert_eq!(audit.to_json(), plain.to_json(), "{format:?}");
        let debug = |r: &behorig::report::Report| format!("{:?}", r.findings);
        assert!(
            debug(&audit) == debug(&plain),
            "{format:?}: findings differ"
        );
        if format == Format::Csv {
            assert_eq!(audit.people, plain.people);
        } else {
            assert!(audit.people.is_empty());
        }
    }
}

#[test]
fn a_membership_export_group_by_group_gives_the_same_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let by_account = organisation(Memberships::Export, &dir.path().join("a"));
    let by_group = organisation(Memberships::ExportByGroup, &dir.path().join("g"));
    // The same rows in another order, their columns swapped.
    let rows = |w: &behorig::synth::Written| {
        let text = std::fs::read_to_string(&w.csv[1]).expect("export");
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let header = lines.remove(0);
        (header, lines)
    };
    let (header_a, rows_a) = rows(&by_account);
    let (header_g, rows_g) = rows(&by_group);
    assert_eq!(
        (header_a.as_str(), header_g.as_str()),
        ("account,group", "group,account")
    );
    assert_eq!(rows_a.len(), rows_g.len());
    assert_ne!(
        rows_g[0].split_once(',').map(|r| r.1),
        rows_g[1].split_once(',').map(|r| r.1)
    );
    let mut swapped: Vec<String> = rows_g
        .iter()
        .filter_map(|r| r.split_once(',').map(|(g, a)| format!("{a},{g}")))
        .collect();
    let mut sorted_a = rows_a.clone();
    swapped.sort();
    sorted_a.sort();
    assert_eq!(swapped, sorted_a);

    let a = build_report_for(&inputs(&by_account), Format::Json).expect("audit");
    let g = build_report_for(&inputs(&by_group), Format::Json).expect("audit");
    assert_eq!(a.findings.len(), by_account.expected.len());
    // The grants name each organisation's own policy folder.
    let findings = |r: &behorig::report::Report, dir: &str| -> Vec<String> {
        r.findings
            .iter()
            .map(|f| {
                serde_json::to_string(f)
                    .expect("finding")
                    .replace(dir, "DIR")
            })
            .collect()
    };
    let a = findings(&a, &dir.path().join("a").display().to_string());
    let g = findings(&g, &dir.path().join("g").display().to_string());
    assert_eq!(a.len(), g.len());
    if let Some(i) = (0..a.len()).find(|&i| a[i] != g[i]) {
        panic!("finding {i} differs:\n{}\n{}", a[i], g[i]);
    }
}
