//! The review page closes the loop of a plan: each cause shows the change
//! that ends it, a reviewer marks findings, and what they accept comes out
//! as an exceptions file that `audit --exceptions` reads as it is.

// Not every helper of the browser module is used here.
#[allow(dead_code)]
mod browser;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

use browser::Browser;

const AS_OF: &str = "2026-11-22";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn audit(extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("behorig")
        .expect("binary")
        .current_dir(repo())
        .args(["audit", "--as-of", AS_OF])
        .args(extra)
        .output()
        .expect("run behorig")
}

fn ids(report: &Value, key: &str) -> Vec<String> {
    let mut ids: Vec<String> = report[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key}"))
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// Waits for a downloaded file to be complete.
fn downloaded(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(&path) {
            if !text.is_empty() {
                return text;
            }
        }
        assert!(Instant::now() < deadline, "{name} was not downloaded");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_findings_accepted_on_the_page_are_excepted_by_the_next_audit() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("granskning.html");
    let o = audit(&["--format", "html", "--output", &page.display().to_string()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    // The cause of the statistics database's findings shows its change.
    assert!(
        html.contains("Föreslagen ändring: Ta bort gruppen SG-Controllers ur SG-Statdb-Alla"),
        "no proposed change on the page"
    );

    let before: Value = serde_json::from_slice(&audit(&["--format", "json"]).stdout).unwrap();
    let statdb: Vec<&Value> = before["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["data_source"] == "statistikdatabas" && f["rule"] == "unauthorized-access")
        .collect();
    let chosen = [
        statdb[0]["id"].as_str().unwrap().to_string(),
        statdb[1]["id"].as_str().unwrap().to_string(),
    ];

    let downloads = dir.path().join("hamtat");
    std::fs::create_dir(&downloads).unwrap();
    let mut browser = Browser::start(1400, 900);
    browser.open(&page);
    browser.allow_downloads(&downloads);
    for (i, id) in chosen.iter().enumerate() {
        let row = format!("tr[data-finding=\"{id}\"]");
        browser.eval(&format!(
            "{{ const s = document.querySelector('{row} select.beslut'); s.value = 'accepteras'; \
             s.dispatchEvent(new Event('change', {{bubbles: true}})); }} true"
        ));
        assert_eq!(
            browser.eval(&format!("document.querySelector('{row} .accept').hidden")),
            false
        );
        browser.click(&format!("{row} input.skal"));
        browser.type_text(&format!("Tillfällig \"analys\" {i}"));
        browser.click(&format!("{row} input.godkant"));
        browser.type_text("Förvaltningschef IFO");
        browser.eval(&format!(
            "{{ const d = document.querySelector('{row} input.tom'); d.value = '2027-06-30'; \
             d.dispatchEvent(new Event('input', {{bubbles: true}})); }} true"
        ));
    }
    // A third is marked for fixing, a fourth as a wrong policy.
    for (id, value) in [
        (&statdb[2]["id"], "atgardas"),
        (&statdb[3]["id"], "felaktig-policy"),
    ] {
        browser.eval(&format!(
            "{{ const s = document.querySelector('tr[data-finding=\"{}\"] select.beslut'); s.value = '{value}'; \
             s.dispatchEvent(new Event('change', {{bubbles: true}})); }} true",
            id.as_str().unwrap()
        ));
    }
    browser.click("#ladda-undantag");
    let toml = downloaded(&downloads, "undantag.toml");
    browser.click("#ladda-plan");
    let markdown = downloaded(&downloads, "atgardsplan.md");
    // Nothing was fetched to make them.
    assert_eq!(
        browser.eval("performance.getEntriesByType('resource').length"),
        0
    );
    drop(browser);

    let file = dir.path().join("undantag.toml");
    std::fs::write(&file, &toml).unwrap();
    let after: Value = serde_json::from_slice(
        &audit(&[
            "--format",
            "json",
            "--exceptions",
            &file.display().to_string(),
        ])
        .stdout,
    )
    .unwrap_or_else(|e| panic!("no report with the downloaded exceptions ({e}):\n{toml}"));
    let mut expected = chosen.to_vec();
    expected.sort();
    assert_eq!(ids(&after, "excepted"), expected, "{toml}");
    assert_eq!(
        ids(&after, "findings").len(),
        ids(&before, "findings").len() - 2
    );

    // A plan made with the same file leaves the accepted access alone.
    let o = Command::cargo_bin("behorig")
        .expect("binary")
        .current_dir(repo())
        .args([
            "plan",
            "--as-of",
            AS_OF,
            "--source",
            "statistikdatabas",
            "--format",
            "json",
        ])
        .args(["--exceptions", &file.display().to_string()])
        .output()
        .expect("run behorig");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let plan: Value = serde_json::from_slice(&o.stdout).unwrap();
    let fixes: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["fixes"].as_array().unwrap())
        .filter_map(Value::as_str)
        .collect();
    assert!(!fixes.contains(&chosen[0].as_str()) && !fixes.contains(&chosen[1].as_str()));
    assert_eq!(plan["after"]["allowed_access_lost"], 0);

    // The rest comes out as the plan's Markdown: the change, and the
    // findings not accepted.
    assert!(
        markdown.contains("Ta bort gruppen SG-Controllers ur SG-Statdb-Alla"),
        "{markdown}"
    );
    assert!(!markdown.contains(&chosen[0]), "{markdown}");
    assert!(
        markdown.contains("## Fynd där policyn är fel"),
        "{markdown}"
    );
    assert!(
        markdown.contains(statdb[2]["id"].as_str().unwrap()),
        "{markdown}"
    );
}
