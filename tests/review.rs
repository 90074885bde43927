//! The review outputs as their readers meet them: the HTML page in a real
//! headless Chromium, SARIF against the 2.1.0 schema, Markdown as text.

mod browser;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use browser::Browser;

const AS_OF: &str = "2026-11-22";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the example audit (the repository's behorig.toml) in `format`.
fn example(format: &str) -> Vec<u8> {
    let out = Command::cargo_bin("behorig")
        .expect("binary")
        .current_dir(repo())
        .args(["audit", "--as-of", AS_OF, "--format", format])
        .output()
        .expect("run behorig");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the example has findings at or above high: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn example_json() -> Value {
    serde_json::from_slice(&example("json")).expect("JSON output")
}

fn findings(json: &Value) -> &Vec<Value> {
    json["findings"].as_array().expect("findings")
}

/// Writes the example's HTML report into `dir`.
fn example_page(dir: &Path) -> PathBuf {
    let path = dir.join("granskning.html");
    std::fs::write(&path, example("html")).expect("write page");
    path
}

const VISIBLE_ROWS: &str = "Array.from(document.querySelectorAll('tr[data-finding]')).filter(r => r.getClientRects().length > 0).length";

#[test]
fn review_page_filters_sorts_and_expands_in_chromium() {
    let json = example_json();
    let all = findings(&json);
    let dir = tempfile::tempdir().expect("temp dir");
    let page = example_page(dir.path());
    let mut browser = Browser::start(1366, 900);
    browser.open(&page);

    // One rendered row per finding, and the ids are the findings' ids.
    let ids = browser.eval(
        "Array.from(document.querySelectorAll('tr[data-finding]')).map(r => r.dataset.finding)",
    );
    let ids: Vec<&str> = ids
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(ids.len(), all.len());
    let expected: BTreeSet<&str> = all.iter().filter_map(|f| f["id"].as_str()).collect();
    assert_eq!(ids.iter().copied().collect::<BTreeSet<_>>(), expected);
    assert_eq!(browser.eval(VISIBLE_ROWS), all.len());
    assert_eq!(
        browser.eval("document.getElementById('antal').textContent"),
        format!("Visar alla {} fynd", all.len())
    );

    // Choose a data source in the filter, with the keyboard.
    let voicemail = all
        .iter()
        .filter(|f| f["data_source"] == "rostbrevlada")
        .count();
    assert!(voicemail > 150, "the example's voicemail has {voicemail}");
    browser.eval("document.getElementById('f-kalla').focus(); true");
    browser.press("r", "KeyR", 82, "r");
    assert_eq!(
        browser.eval("document.getElementById('f-kalla').value"),
        "rostbrevlada"
    );
    assert_eq!(browser.eval(VISIBLE_ROWS), voicemail);
    assert_eq!(
        browser.eval("document.getElementById('antal').textContent"),
        format!("Visar {voicemail} av {} fynd", all.len())
    );

    // Narrow by severity as well.
    let medium = all
        .iter()
        .filter(|f| f["data_source"] == "rostbrevlada" && f["severity"] == "medium")
        .count();
    browser.eval(
        "const s = document.getElementById('f-allvar'); s.value = 'medium'; \
         s.dispatchEvent(new Event('change', {bubbles: true})); true",
    );
    assert_eq!(browser.eval(VISIBLE_ROWS), medium);

    // Free text over everything a row says.
    browser.click("#f-rensa");
    browser.click("#f-text");
    browser.type_text("vik.svensson");
    let vik = all
        .iter()
        .filter(|f| f.to_string().contains("vik.svensson"))
        .count();
    assert!(vik >= 3);
    assert_eq!(browser.eval(VISIBLE_ROWS), vik);

    // The aggregated view: one line for the catch-all group, its rows one
    // click away.
    browser.click("#f-rensa");
    assert_eq!(browser.eval(VISIBLE_ROWS), all.len());
    let line = browser.eval(
        "Array.from(document.querySelectorAll('.aggregates li')).map(l => l.textContent.replace(/\\s+/g, ' ').trim())[0]",
    );
    let line = line.as_str().expect("aggregate line");
    let through_all = all
        .iter()
        .filter(|f| {
            f["data_source"] == "rostbrevlada"
                && f["rule"] == "unauthorized-access"
                && f["via"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|g| g == "Alla anställda"))
        })
        .count();
    assert!(
        line.contains(&format!(
            "Alla anställda ger Avlyssna på Röstbrevlådor (socialtjänstens telefoni) till {through_all} konton"
        )),
        "{line}"
    );
    browser.click(".aggregates li:first-child button");
    assert_eq!(browser.eval(VISIBLE_ROWS), through_all);
    assert_eq!(browser.eval("document.activeElement.id"), "fynd-rubrik");

    // Sort by account: ascending, the row order changes.
    browser.click("#f-rensa");
    browser.click("button[data-sort='3']");
    assert_eq!(
        browser.eval("document.querySelector('button[data-sort=\"3\"]').parentElement.getAttribute('aria-sort')"),
        "ascending"
    );
    let subjects = browser.eval(
        "Array.from(document.querySelectorAll('tr[data-finding] td.subject')).map(c => c.firstChild.textContent.trim().toLowerCase())",
    );
    let subjects: Vec<&str> = subjects
        .as_array()
        .expect("subjects")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(subjects.first(), Some(&"adm-combine"));
    let initials: Vec<char> = subjects
        .iter()
        .filter_map(|s| s.chars().next())
        .filter(char::is_ascii_lowercase)
        .collect();
    assert!(
        initials.windows(2).all(|w| w[0] <= w[1]),
        "not sorted by account: {subjects:?}"
    );
    browser.click("button[data-sort='0']");

    // Expand the evidence of the catch-all group finding with the mouse,
    // and another with the keyboard.
    let broad = all
        .iter()
        .find(|f| f["rule"] == "broad-group")
        .and_then(|f| f["id"].as_str())
        .expect("a broad-group finding");
    let summary = format!("tr[data-finding='{broad}'] summary");
    let path_visible = format!(
        "(() => {{ const p = document.querySelector(\"tr[data-finding='{broad}'] ol.path\"); \
         return p.checkVisibility() ? p.innerText : null; }})()"
    );
    assert_eq!(browser.eval(&path_visible), Value::Null);
    browser.click(&summary);
    let path = browser.eval(&path_visible);
    let path = path.as_str().expect("the evidence path is shown");
    for step in ["Alla anställda", "SG-Rost-Avlyssna", "broad-group"] {
        assert!(path.contains(step), "{step} missing in {path}");
    }
    let other = all
        .iter()
        .find(|f| f["rule"] == "sod-conflict")
        .and_then(|f| f["id"].as_str())
        .expect("a sod-conflict finding");
    browser.eval(&format!(
        "document.querySelector(\"tr[data-finding='{other}'] summary\").focus(); true"
    ));
    browser.press("Enter", "Enter", 13, "\r");
    assert_eq!(
        browser.eval(&format!(
            "document.querySelector(\"tr[data-finding='{other}'] details\").open"
        )),
        true
    );
    browser.press("Enter", "Enter", 13, "\r");

    // What a reviewer sees: the voicemail source chosen, sorted by rule so
    // that the catch-all group comes first, its path open.
    browser.eval(
        "const k = document.getElementById('f-kalla'); k.value = 'rostbrevlada'; \
         k.dispatchEvent(new Event('change', {bubbles: true})); true",
    );
    browser.click("button[data-sort='2']");
    assert_eq!(
        browser.eval("document.querySelector('tr[data-finding]').dataset.finding"),
        broad
    );
    let png = browser.screenshot(1366, 2300);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    assert_eq!((width, height), (1366, 2300));
    assert!(png.len() > 50_000, "an almost empty screenshot");
    let target = std::env::var_os("BEHORIG_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().join("review-page.png"));
    std::fs::write(&target, &png).expect("write screenshot");
}

#[test]
fn review_page_loads_nothing_from_outside_and_prints_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let page = example_page(dir.path());
    let html = std::fs::read_to_string(&page).expect("page");
    for outside in ["src=", "href=\"http", "url(", "@import", "<link", "<iframe"] {
        assert!(
            !html.contains(outside),
            "the page refers outside: {outside}"
        );
    }
    let mut browser = Browser::start(1200, 800);
    browser.open(&page);
    assert_eq!(
        browser.eval("performance.getEntriesByType('resource').length"),
        0
    );
    // The script ran under the page's content security policy: it shows
    // the filters.
    assert_eq!(
        browser.eval("document.getElementById('filter').hidden"),
        false
    );
    // A filtered table still prints whole, without the filters.
    browser.eval(
        "const s = document.getElementById('f-allvar'); s.value = 'medium'; \
         s.dispatchEvent(new Event('change', {bubbles: true})); true",
    );
    let total = findings(&example_json()).len();
    assert!(browser.eval(VISIBLE_ROWS).as_u64() < Some(total as u64));
    browser.call(
        "Emulation.setEmulatedMedia",
        serde_json::json!({"media": "print"}),
    );
    // The page hears of the print media at its next frame.
    browser.eval("new Promise(r => requestAnimationFrame(() => setTimeout(() => r(true), 0)))");
    assert_eq!(browser.eval(VISIBLE_ROWS), total);
    assert_eq!(
        browser.eval("getComputedStyle(document.getElementById('filter')).display"),
        "none"
    );
    // On paper every row carries its evidence path, and the headers read as
    // text.
    assert_eq!(
        browser.eval(
            "Array.from(document.querySelectorAll('td.evidence .print-only')).every(e => e.checkVisibility() && e.textContent.includes(' → '))"
        ),
        true
    );
    assert_eq!(
        browser.eval("document.querySelector('#fynd thead th .print-only').checkVisibility()"),
        true
    );
}

/// A directory and a policy where every name a reader sees carries markup.
fn planted(dir: &Path) -> Vec<String> {
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).expect("policies dir");
    std::fs::write(
        policies.join("kalla.toml"),
        r#"[source]
id = "kalla"
name = "<i>Källa</i><script>window.__pwned = 'source'</script>"
controller = "<b>Nämnd</b>"
activity = "socialtjanst"
data_categories = ["halsa"]

[[grant]]
group = '^<img'
role = "Las"

[[grant]]
group = 'Alla'
role = "Las"

[[allow]]
id = "ingen"
role = "Las"
accounts = ["finns-inte"]

[checks]
broad_groups = ['Alla']
"#,
    )
    .expect("policy");
    let accounts = [
        (
            "<script>window.__pwned = 'account'</script>",
            "<img src=x onerror=\"window.__pwned = 'display'\">",
        ),
        (
            "<b>fet</b>",
            "<svg onload=\"window.__pwned = 'svg'\"></svg>",
        ),
        (
            "\"><script>window.__pwned = 'attr'</script>",
            "Vanligt Namn",
        ),
    ];
    let mut csv = String::from("account,display_name,department,group\n");
    for (account, display) in accounts {
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        csv.push_str(&format!(
            "{},{},IFO,{}\n",
            quote(account),
            quote(display),
            quote("<img src=x onerror=\"window.__pwned = 'group'\">;<u>Alla</u> anställda")
        ));
    }
    std::fs::write(dir.join("konton.csv"), csv).expect("accounts");
    accounts.iter().map(|(a, _)| a.to_string()).collect()
}

#[test]
fn planted_markup_renders_as_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let accounts = planted(dir.path());
    let run = |format: &str| {
        let out = Command::cargo_bin("behorig")
            .expect("binary")
            .current_dir(dir.path())
            .args(["audit", "--policies", "policies", "--csv", "konton.csv"])
            .args(["--as-of", AS_OF, "--format", format])
            .output()
            .expect("run behorig");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let page = dir.path().join("granskning.html");
    std::fs::write(&page, run("html")).expect("page");

    let mut browser = Browser::start(1200, 800);
    browser.open(&page);
    assert_eq!(browser.eval("window.__pwned === undefined"), true);
    // Only the page's own script (beside its data block, which does not
    // run) and none of the planted elements.
    assert_eq!(
        browser.eval("Array.from(document.scripts).map(s => s.type || 'script')"),
        serde_json::json!(["application/json", "script"])
    );
    assert_eq!(
        browser.eval("document.querySelectorAll('img, i, b, u, svg:not(figure svg), [onerror], [onload]').length"),
        0
    );
    // Each planted account is a finding whose subject reads as the text.
    let subjects = browser.eval(
        "Array.from(document.querySelectorAll('tr[data-finding] td.subject')).map(c => c.firstChild.textContent.trim())",
    );
    for account in &accounts {
        assert!(
            subjects
                .as_array()
                .expect("subjects")
                .iter()
                .any(|s| s == account),
            "{account} is not shown as text: {subjects}"
        );
    }
    let text = browser.eval("document.body.textContent");
    let text = text.as_str().expect("text");
    assert!(text.contains("<i>Källa</i><script>window.__pwned = 'source'</script>"));
    assert!(text.contains("<img src=x onerror=\"window.__pwned = 'group'\">"));
    // Filtering and expanding still work on such rows.
    browser.click("#f-text");
    browser.type_text("<b>fet</b>");
    assert!(browser.eval(VISIBLE_ROWS).as_u64() >= Some(1));

    let md = String::from_utf8(run("md")).expect("UTF-8");
    assert!(!md.contains("<script>"), "{md}");
    assert!(
        md.contains("| \\<script\\>window.\\_\\_pwned = 'account'\\</script\\> |"),
        "{md}"
    );
}

/// Replaces every `"pattern": from` in a schema by `to`.
fn replace_pattern(schema: &mut Value, from: &str, to: &str) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "pattern" && value == from {
                    *value = to.into();
                } else {
                    replace_pattern(value, from, to);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| replace_pattern(v, from, to)),
        _ => {}
    }
}

#[test]
fn sarif_is_valid_against_the_2_1_0_schema() {
    // tests/data/sarif-schema-2.1.0.json is the OASIS SARIF 2.1.0 JSON
    // schema (draft-07, `$id` in oasis-tcs/sarif-spec), byte for byte as the
    // serde-sarif 0.8.0 crate ships it.
    let mut schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/data/sarif-schema-2.1.0.json"))
            .expect("schema"),
    )
    .expect("schema JSON");
    // Formats stay unchecked: the 2.1.0 schema's own `run.language` pattern
    // is not a valid `regex` format, so checking formats rejects the schema
    // itself. URIs are checked below instead.
    // The 2.1.0 schema's language pattern has a stray `]` that the regex
    // check of the draft-07 meta-schema rejects. In the copy in memory it
    // becomes the pattern it means under ECMAScript rules (the first
    // alternative already accepts everything the second does).
    replace_pattern(
        &mut schema,
        "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
        "^[a-zA-Z]{2}",
    );
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let sarif: Value = serde_json::from_slice(&example("sarif")).expect("SARIF JSON");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(10)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // The schema does catch a broken log.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));

    let json = example_json();
    let run = &sarif["runs"][0];
    assert_eq!(sarif["version"], "2.1.0");
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(
        rules,
        [
            "unauthorized-access",
            "unknown-account",
            "broad-group",
            "disabled-account",
            "expired-account",
            "too-many-accounts",
            "sod-conflict",
            "inactive-account"
        ]
    );
    for rule in run["tool"]["driver"]["rules"].as_array().expect("rules") {
        assert!(rule["help"]["text"].as_str().is_some_and(|t| t.len() > 40));
    }
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), findings(&json).len());
    for (result, finding) in results.iter().zip(findings(&json)) {
        assert_eq!(result["ruleId"], finding["rule"]);
        assert_eq!(
            result["partialFingerprints"]["behorigFindingId/v1"],
            finding["id"]
        );
        let level = match finding["severity"].as_str() {
            Some("critical" | "high") => "error",
            Some("medium") => "warning",
            _ => "note",
        };
        assert_eq!(result["level"], level);
        assert_eq!(
            rules[result["ruleIndex"].as_u64().expect("index") as usize],
            result["ruleId"]
        );
    }
    // A grant in a policy points at its line; a role export row at its row;
    // other findings at the source's policy file.
    let located = |rule: &str, source: &str| {
        let i = findings(&json)
            .iter()
            .position(|f| f["rule"] == rule && f["data_source"] == source)
            .expect("finding");
        results[i]["locations"][0]["physicalLocation"].clone()
    };
    let broad = located("broad-group", "rostbrevlada");
    let unauthorized = located("unauthorized-access", "rostbrevlada");
    assert_eq!(
        unauthorized["artifactLocation"]["uri"],
        "policies/rostbrevlada.toml"
    );
    assert_eq!(unauthorized["region"]["startLine"], 14);
    assert_eq!(
        broad["artifactLocation"]["uri"],
        "policies/rostbrevlada.toml"
    );
    let unknown = located("unknown-account", "combine");
    assert_eq!(
        unknown["artifactLocation"]["uri"],
        "fixtures/norrvik/combine-roller.csv"
    );
    assert!(unknown["region"]["startLine"].as_u64() > Some(1));
    let sod = located("sod-conflict", "combine");
    assert_eq!(sod["artifactLocation"]["uri"], "policies/combine.toml");
    for result in results {
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("every example finding has a file");
        assert!(
            uri.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b)),
            "not a plain URI reference: {uri}"
        );
    }
}

#[test]
fn markdown_summarises_the_example() {
    let md = String::from_utf8(example("md")).expect("UTF-8");
    let json = example_json();
    let summary = &json["summary"];
    assert!(md.starts_with(&format!("# Behörighetsgranskning {AS_OF}\n")));
    assert!(md.contains(&format!(
        "{} konton och {} grupper lästa",
        summary["accounts"], summary["groups"]
    )));
    assert!(md.contains(&format!("**{} fynd:** ", summary["findings"])));
    assert!(md.contains(&format!("| **Totalt** | **{}** |", summary["findings"])));
    for name in [
        "## Röstbrevlådor (socialtjänstens telefoni)",
        "## Statistikdatabas (Combine)",
        "## Combine (verksamhetssystem)",
        "## IFO gemensam filyta",
        "## Heroma (lön och personal)",
    ] {
        assert!(md.contains(name), "{name} missing:\n{md}");
    }
    assert!(
        md.contains("Alla anställda ger Avlyssna på Röstbrevlådor (socialtjänstens telefoni) till")
    );
    // The per-source table of the voicemail lists the catch-all group as one
    // line, not 197 rows.
    let voicemail = md
        .split("## Röstbrevlådor")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("voicemail section");
    assert!(voicemail.lines().filter(|l| l.starts_with("| ")).count() < 10);
    assert!(voicemail.contains("| Alla anställda (grupp) | Avlyssna, "));
}

/// The rows the page has rendered, by their `data-finding`.
const RENDERED: &str =
    "Array.from(document.querySelectorAll('tr[data-finding]')).map(r => r.dataset.finding)";

/// Waits for the page's next frame (and what it does on it).
const NEXT_FRAME: &str =
    "new Promise(r => requestAnimationFrame(() => setTimeout(() => r(true), 0)))";

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// A findings-heavy organisation (a third of 12,000 accounts with a
/// finding, memberships as their own export): the page opens on the
/// summary and the causes with a first part of the rows, and every finding
/// is still reachable by scrolling, by its cause, by a filter and by
/// sorting.
#[test]
fn review_page_of_thousands_of_findings_renders_rows_on_demand() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = behorig::synth::Spec {
        finding_ppm: 330_000,
        memberships: behorig::synth::Memberships::Export,
        ..behorig::synth::Spec::new(12_000)
    };
    let w = behorig::synth::write(&spec, dir.path()).expect("organisation");
    let run = |format: &str, out: &Path| {
        let mut cmd = Command::cargo_bin("behorig").expect("binary");
        cmd.arg("audit")
            .arg("--policies")
            .arg(&w.policies)
            .args(["--as-of", behorig::synth::AS_OF, "--format", format])
            .args(["--fail-on", "never", "--output"])
            .arg(out);
        for f in &w.csv {
            cmd.arg("--csv").arg(f);
        }
        let o = cmd.output().expect("run behorig");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let page = dir.path().join("granskning.html");
    run("html", &page);
    let report = dir.path().join("granskning.json");
    run("json", &report);
    let json: Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    let all = findings(&json);
    assert_eq!(all.len(), w.expected.len());
    assert!(all.len() > 4_000, "{} findings", all.len());
    let ids: BTreeSet<&str> = all.iter().filter_map(|f| f["id"].as_str()).collect();

    let mut browser = Browser::start(1366, 900);
    browser.open(&page);
    assert_eq!(
        browser.eval("document.getElementById('antal').textContent"),
        format!("Visar alla {} fynd", all.len())
    );
    // A first part of the rows, the worst first, each a real finding.
    let first = strings(&browser.eval(RENDERED));
    assert_eq!(first.len(), 200);
    assert!(first.iter().all(|id| ids.contains(id.as_str())));
    assert_eq!(first[0], all[0]["id"].as_str().expect("id"));
    assert_eq!(browser.eval("document.getElementById('mer').hidden"), false);

    // Scrolling to the end of the table brings the next rows.
    browser.eval("document.getElementById('mer').scrollIntoView(); true");
    browser.eval(NEXT_FRAME);
    browser.eval(NEXT_FRAME);
    let more = strings(&browser.eval(RENDERED));
    assert_eq!(more.len(), 400);
    assert_eq!(&more[..200], &first[..]);
    let expected_next: Vec<&str> = all[200..400]
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(
        more[200..].iter().map(String::as_str).collect::<Vec<_>>(),
        expected_next
    );

    // The largest cause opens its rows.
    let cause = browser.eval(
        "(() => { const b = Array.from(document.querySelectorAll('[data-show-aggregate]')); \
         const n = x => Number(x.textContent.match(/\\d+/)[0]); \
         const big = b.reduce((m, x) => n(x) > n(m) ? x : m); \
         return [big.getAttribute('data-show-aggregate'), n(big)]; })()",
    );
    let (key, count) = (
        cause[0].as_str().expect("key").to_string(),
        cause[1].as_u64().expect("count") as usize,
    );
    assert!(count >= 5);
    browser.click(&format!("[data-show-aggregate='{key}']"));
    assert_eq!(
        browser.eval("document.getElementById('antal').textContent"),
        format!("Visar {count} av {} fynd", all.len())
    );
    let rows = browser.eval(
        "Array.from(document.querySelectorAll('tr[data-finding]')).map(r => r.dataset.aggregate)",
    );
    let rows = strings(&rows);
    assert_eq!(rows.len(), count.min(200));
    assert!(rows.iter().all(|k| *k == key));

    // A filter finds an account far down the list: exactly its findings.
    browser.click("#f-rensa");
    let last = all
        .iter()
        .rev()
        .find_map(|f| f["account"].as_str())
        .expect("a finding with an account")
        .to_string();
    browser.click("#f-text");
    browser.type_text(&last);
    let theirs: BTreeSet<String> = all
        .iter()
        .filter(|f| f.to_string().contains(&last))
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .collect();
    assert!(!theirs.is_empty());
    let shown: BTreeSet<String> = strings(&browser.eval(RENDERED)).into_iter().collect();
    assert_eq!(shown, theirs);
    assert_eq!(browser.eval(VISIBLE_ROWS), theirs.len());

    // Its evidence expands.
    let id = shown.iter().next().expect("a row").clone();
    browser.click(&format!("tr[data-finding='{id}'] summary"));
    let path = browser.eval(&format!(
        "document.querySelector(\"tr[data-finding='{id}'] ol.path\").innerText"
    ));
    assert!(path.as_str().is_some_and(|p| p.contains(&last)), "{path}");

    // Sorted by account, the first row is the first account of all.
    browser.click("#f-rensa");
    browser.click("button[data-sort='3']");
    let mut subjects: Vec<String> = all
        .iter()
        .map(|f| {
            match (
                f["account"].as_str(),
                f["group"].as_str(),
                f["allow"].as_str(),
            ) {
                (Some(a), _, _) => a.to_lowercase(),
                (None, Some(g), _) => g.to_lowercase(),
                (None, None, allow) => format!("regel {}", allow.unwrap_or_default()),
            }
        })
        .collect();
    subjects.sort();
    let top = browser.eval(
        "document.querySelector('tr[data-finding] td.subject').firstChild.textContent.trim().toLowerCase()",
    );
    assert_eq!(top, subjects[0]);
}
