//! `behorig draft` run as a user runs it: the real binary on the example
//! organisation Norrvik (`behorig.toml`, `policies/`, `fixtures/norrvik/`).
//!
//! The golden files in `tests/golden/` pin both drafts for three sources
//! (the statistics database, the voicemail, the file share); after a
//! deliberate change, rewrite them with
//! `BEHORIG_UPDATE_GOLDEN=1 cargo test --test draft` and read the diff.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use serde_json::Value;

const AS_OF: &str = "2026-11-22";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `behorig` in the repository root, where behorig.toml names the example.
fn behorig() -> Command {
    let mut cmd = Command::cargo_bin("behorig").expect("the behorig binary is built");
    cmd.current_dir(root()).env("NO_COLOR", "1");
    cmd
}

/// A draft's standard output; the command must succeed.
fn draft(args: &[&str]) -> String {
    let out = behorig().arg("draft").args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "behorig draft {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// A refused draft: exit 2, nothing on stdout, the reason on stderr.
fn refused(args: &[&str]) -> String {
    let out = behorig().arg("draft").args(args).output().expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "behorig draft {args:?} should be refused, stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "a refused draft prints nothing");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The audit of the example as JSON, written to `dir/audit.json`.
fn audit_json(dir: &Path) -> (PathBuf, Value) {
    let path = dir.join("audit.json");
    let out = behorig()
        .args(["audit", "--as-of", AS_OF, "--format", "json", "--output"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the example has critical findings"
    );
    let text = std::fs::read_to_string(&path).expect("the audit wrote its report");
    (path, serde_json::from_str(&text).expect("JSON"))
}

/// The accounts that the IMY findings of a source name.
fn affected_accounts(audit: &Value, source: &str) -> Vec<String> {
    let mut accounts: Vec<String> = audit["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["data_source"] == source)
        .filter(|f| {
            f["classification"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c == "imy"))
        })
        .filter_map(|f| f["account"].as_str().map(String::from))
        .collect();
    accounts.sort();
    accounts.dedup();
    accounts
}

fn check_golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("BEHORIG_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write it with BEHORIG_UPDATE_GOLDEN=1",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the draft, first at line {}:\n  golden: {:?}\n  draft:  {:?}",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

/// The sources whose drafts are pinned by golden files.
const GOLDEN_SOURCES: [&str; 3] = ["statistikdatabas", "rostbrevlada", "ifo-filserver"];

#[test]
fn imy_drafts_match_their_golden_files() {
    for source in GOLDEN_SOURCES {
        let md = draft(&["imy", "--source", source, "--as-of", AS_OF]);
        check_golden(&format!("imy-{source}.md"), &md);
    }
}

#[test]
fn lex_sarah_drafts_match_their_golden_files() {
    for source in GOLDEN_SOURCES {
        let md = draft(&["lex-sarah", "--source", source, "--as-of", AS_OF]);
        check_golden(&format!("lex-sarah-{source}.md"), &md);
    }
}

#[test]
fn imy_draft_states_what_the_audit_found_and_the_deadline() {
    let md = draft(&["imy", "--source", "statistikdatabas", "--as-of", AS_OF]);
    // The organisation and its contact from behorig.toml.
    assert!(md.contains("Norrviks kommun"));
    assert!(md.contains("212000-9999"));
    assert!(md.contains("dataskyddsombud@norrvik.se"));
    // Discovered at the audit, reported within 72 hours.
    // Midnight ends the day before, the Swedish way.
    assert!(md.contains("senast den 24 november 2026 kl. 24.00"));
    assert!(md.contains("Obehörig åtkomst"));
    assert!(md.contains("Offentlig sektor"));
    // 22 accounts, counted per path, the role by its label, the estimate.
    assert!(md
        .contains("22 konton som är aktiva (inte inaktiverade eller utgångna) hade läsbehörighet"));
    assert!(md.contains(
        "- 21 konton via SG-Controllers → SG-Statdb-Alla\n- 1 konto via SG-Statdb-VO-Las"
    ));
    assert!(md.contains("38\u{a0}000 registrerade"));
    // The form's own words, ticked.
    for ticked in [
        "- [x] Barn",
        "- [x] Utsatta personer (t.ex. skyddad identitet)",
        "- [x] Hälsa",
        "- [x] Uppgift om brott",
        "- [x] Personnummer",
        "- [x] Förlust av konfidentialitet för uppgifter som omfattas av tystnadsplikt",
    ] {
        assert!(md.contains(ticked), "{ticked} is not ticked");
    }
    assert!(md.contains("Förslag: 4 (Mycket allvarlig)"));
    // Access was possible; nobody is said to have read anything.
    assert!(md.contains("Den visar inte om någon har tagit del av dem"));
    // No tool internals: no source id, no rule id, no role id.
    assert!(!md.contains("med id"));
    assert!(!md.contains("egen-namnd"));
    assert!(!md.contains("`"));
    assert!(!md.contains(" Las "));
    // Everything the tool cannot know is marked one way.
    assert!(md.contains("[FYLL I: diarienummer eller annat internt referensnummer]"));
    assert!(md.contains("[FYLL I: datum och diarienummer för anmälan enligt lex Sarah]"));
    assert!(md.matches("[FYLL I:").count() >= 10);
}

#[test]
fn lex_sarah_draft_reports_a_risk_by_the_board_under_the_law_from_data() {
    let md = draft(&[
        "lex-sarah",
        "--source",
        "statistikdatabas",
        "--as-of",
        AS_OF,
    ]);
    assert!(md.contains("- [x] en påtaglig risk för ett allvarligt missförhållande"));
    assert!(md.contains("- [ ] ett allvarligt missförhållande"));
    // The boards of the configuration, not a board the example lacks.
    assert!(!md.contains("Socialnämnden"));
    assert!(md.contains("Uppgifterna hör till 3 nämnder, som var och en är personuppgiftsansvarig"));
    assert!(md.contains("14 kap. 3–7 §§ socialtjänstlagen (2001:453)"));
    assert!(md.contains("socialtjänstlagen (2025:400)"));
    assert!(md.contains("SOSFS 2011:5"));
    assert!(md.contains("IFO (Individ- och familjeomsorgsnämnden)"));
    // A paragraph not verified against the statute is marked, not guessed.
    assert!(md.contains("socialtjänstlagen (2025:400) [KONTROLLERA: kapitel och paragraf]"));
    // The references the reasoning needs: processing only where needed,
    // the controller's duty to limit access, secrecy between the boards.
    for reference in [
        "6 § lagen (2001:454) om behandling av personuppgifter inom socialtjänsten",
        "artikel 5.1 f och artikel 32 i dataskyddsförordningen",
        "8 kap. 1–2 §§ offentlighets- och sekretesslagen (2009:400)",
        "26 kap. 1 § offentlighets- och sekretesslagen (2009:400)",
    ] {
        assert!(md.contains(reference), "{reference}");
    }
    // Both kinds are offered, the risk pre-selected and marked for a person.
    assert!(md.contains("- Ett allvarligt missförhållande: "));
    assert!(md.contains("- En påtaglig risk för ett allvarligt missförhållande: "));
    assert!(md.contains("[FYLL I: bekräfta eller ändra valet]"));
    // The other report, by date and reference, and the unit's phone.
    assert!(md.contains("[FYLL I: datum och diarienummer för anmälan till IMY]"));
    assert!(md.contains("**Enhetens telefonnummer**\n\n[FYLL I: enhetens telefonnummer]"));
    // The staff by title and form of employment, from the directory.
    assert!(md.contains("| Ekonom, tillsvidare | 12 konton |"));
}

#[test]
fn legal_references_come_from_the_file_named_in_the_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = std::fs::read_to_string(root().join("behorig.toml"))
        .expect("behorig.toml")
        .replace(
            "policies = \"policies\"",
            &format!("policies = {:?}", root().join("policies")),
        )
        .replace("\"fixtures/", &format!("\"{}/fixtures/", root().display()));
    std::fs::write(
        dir.path().join("behorig.toml"),
        format!("{config}\n[drafts]\nlegal = \"juridik.toml\"\n"),
    )
    .expect("write config");
    std::fs::write(
        dir.path().join("juridik.toml"),
        "[lex_sarah]\nsocialtjanst = \"27 kap. 1 § socialtjänstlagen (2025:400) (exempel)\"\n",
    )
    .expect("write legal");
    let config = dir.path().join("behorig.toml");
    let config = config.to_str().expect("UTF-8 path");
    let md = draft(&[
        "lex-sarah",
        "--source",
        "statistikdatabas",
        "--as-of",
        AS_OF,
        "--config",
        config,
    ]);
    assert!(md.contains("Anmälan görs enligt 27 kap. 1 § socialtjänstlagen (2025:400) (exempel)"));
    assert!(
        md.contains("SOSFS 2011:5"),
        "keys left out keep the built-in text"
    );

    std::fs::write(
        dir.path().join("juridik.toml"),
        "[lex_sarah]\nsocialtjenst = \"x\"\n",
    )
    .expect("write legal");
    let out = behorig()
        .args([
            "draft",
            "lex-sarah",
            "--source",
            "statistikdatabas",
            "--as-of",
            AS_OF,
        ])
        .args(["--config", config])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("juridik.toml:2:1"), "{stderr}");
    assert!(stderr.contains("unknown key `socialtjenst`"), "{stderr}");
}

#[test]
fn a_source_without_personal_data_gets_no_imy_draft() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The salary groups again, as a source that holds no personal data.
    let policies = policies_with(
        dir.path(),
        "chefslista.toml",
        "[source]\nid = \"chefslista\"\nname = \"Lista över chefer\"\nactivity = \"annan\"\n\n\
         [[grant]]\ngroup = '^SG-Heroma-(?P<role>Chef|Lon)$'\n",
    );
    let policies = policies.as_str();

    // The audit does find access there, classified internal.
    let out = behorig()
        .args([
            "audit",
            "--as-of",
            AS_OF,
            "--format",
            "json",
            "--policies",
            policies,
        ])
        .output()
        .expect("runs");
    let audit: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let on_source: Vec<&Value> = audit["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["data_source"] == "chefslista")
        .collect();
    assert!(!on_source.is_empty(), "the audit finds access on the list");
    assert!(on_source
        .iter()
        .all(|f| f["classification"] == serde_json::json!(["internal"])));

    let stderr = refused(&[
        "imy",
        "--source",
        "chefslista",
        "--as-of",
        AS_OF,
        "--policies",
        policies,
    ]);
    assert!(stderr.contains("no IMY draft for `chefslista`"), "{stderr}");
    assert!(stderr.contains("data_categories"), "{stderr}");
}

#[test]
fn a_source_outside_social_services_gets_no_lex_sarah_draft() {
    let stderr = refused(&["lex-sarah", "--source", "lonesystem", "--as-of", AS_OF]);
    assert!(
        stderr.contains("no lex Sarah draft for `lonesystem`"),
        "{stderr}"
    );
    assert!(stderr.contains("`annan`"), "{stderr}");
    // The same source is an IMY matter.
    let md = draft(&["imy", "--source", "lonesystem", "--as-of", AS_OF]);
    assert!(md.contains("Heroma (lön och personal)"));
    assert!(md.contains("- [x] Anställda"));
}

/// The example's policies with one more file, in a temporary folder.
fn policies_with(dir: &Path, name: &str, policy: &str) -> String {
    for entry in std::fs::read_dir(root().join("policies")).expect("policies") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
    }
    std::fs::write(dir.join(name), policy).expect("write policy");
    dir.to_str().expect("UTF-8 path").to_string()
}

#[test]
fn an_lss_source_is_reported_under_lss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policies = policies_with(
        dir.path(),
        "lss-boende.toml",
        "[source]\nid = \"lss-boende\"\nname = \"Gruppbostäder LSS\"\n\
         controller = \"Vård- och omsorgsnämnden\"\nactivity = \"lss\"\n\
         data_categories = [\"halsa\"]\ndata_subject_groups = [\"utsatta_personer\"]\n\n\
         [[grant]]\ngroup = '^SG-Heroma-(?P<role>Chef|Lon)$'\n",
    );
    let md = draft(&[
        "lex-sarah",
        "--source",
        "lss-boende",
        "--as-of",
        AS_OF,
        "--policies",
        &policies,
    ]);
    assert!(md.contains("Anmälan görs enligt 24 b–24 g §§ lagen (1993:387)"));
    assert!(!md.contains("socialtjänstlagen"));
    assert!(md.contains("**Nämndens namn**\n\nVård- och omsorgsnämnden"));
    assert!(md.contains("**Typ av verksamhet**\n\nVerksamhet enligt LSS."));
    assert!(md.contains("i verksamhetens ärenden"));
}

#[test]
fn an_unknown_source_is_refused_with_the_known_ones() {
    let stderr = refused(&["imy", "--source", "statistikdb", "--as-of", AS_OF]);
    assert!(stderr.contains("unknown source `statistikdb`"), "{stderr}");
    assert!(stderr.contains("`statistikdatabas`"), "{stderr}");
}

#[test]
fn no_names_leaves_every_account_name_out_and_keeps_counts_and_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, audit) = audit_json(dir.path());
    for source in ["statistikdatabas", "rostbrevlada", "combine"] {
        let accounts = affected_accounts(&audit, source);
        assert!(!accounts.is_empty());
        for (kind, format) in [("imy", "md"), ("lex-sarah", "md"), ("imy", "html")] {
            let args = ["--source", source, "--as-of", AS_OF, "--format", format];
            let named = draft(&[&[kind][..], &args[..]].concat());
            let anonymous = draft(&[&[kind][..], &args[..], &["--no-names"][..]].concat());
            for account in &accounts {
                assert!(
                    named.contains(account.as_str()),
                    "{account} in the named draft"
                );
                assert!(
                    !anonymous.contains(account.as_str()),
                    "{account} appears in the {kind} {format} draft of {source} with --no-names"
                );
            }
        }
    }
    let md = draft(&[
        "imy",
        "--source",
        "statistikdatabas",
        "--as-of",
        AS_OF,
        "--no-names",
    ]);
    assert!(md.contains("Kontonas namn är utelämnade"));
    assert!(md.contains(
        "| Behörighet som ingen regel tillåter | SG-Controllers → SG-Statdb-Alla | läsbehörighet på IFO | 18 konton |"
    ));
    // The one account on its own path is merged, not shown as a row of one.
    assert!(!md.contains("SG-Statdb-VO-Las"));
    assert!(md.contains(
        "| Övriga fynd, sammanslagna | olika vägar | olika behörigheter | färre än 3 konton |"
    ));
    assert!(!md.contains("Bilagan innehåller namn på konton"));
}

#[test]
fn findings_from_an_earlier_audit_give_the_same_draft() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = audit_json(dir.path());
    let findings = path.to_str().expect("UTF-8 path");
    for kind in ["imy", "lex-sarah"] {
        for format in ["md", "html"] {
            let fresh = draft(&[
                kind,
                "--source",
                "statistikdatabas",
                "--as-of",
                AS_OF,
                "--format",
                format,
            ]);
            let earlier = draft(&[
                kind,
                "--source",
                "statistikdatabas",
                "--findings",
                findings,
                "--format",
                format,
            ]);
            if kind == "imy" {
                assert_eq!(fresh, earlier, "{kind} {format}");
                continue;
            }
            // The findings hold no titles: the staff are left to fill in,
            // and everything else is the same.
            let staff = |text: &str| -> (String, String) {
                let start = text.find("Personalens utbildning").expect("staff question");
                let end = start
                    + text[start..]
                        .find("Åtgärder som vidtagits")
                        .expect("actions");
                (
                    format!("{}{}", &text[..start], &text[end..]),
                    text[start..end].to_string(),
                )
            };
            let (fresh_rest, fresh_staff) = staff(&fresh);
            let (earlier_rest, earlier_staff) = staff(&earlier);
            assert_eq!(fresh_rest, earlier_rest, "{kind} {format}");
            assert!(fresh_staff.contains("Ekonom, tillsvidare"), "{fresh_staff}");
            assert!(
                earlier_staff
                    .contains("[FYLL I: de berörda medarbetarnas titlar och anställningsformer"),
                "{earlier_staff}"
            );
        }
    }
    // --findings replaces the audit's inputs.
    let stderr = refused(&[
        "imy",
        "--source",
        "statistikdatabas",
        "--findings",
        findings,
        "--as-of",
        AS_OF,
    ]);
    assert!(stderr.contains("--findings replaces the audit"), "{stderr}");
}

#[test]
fn first_seen_from_the_history_starts_the_72_hours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, mut audit) = audit_json(dir.path());
    for (i, f) in audit["findings"]
        .as_array_mut()
        .expect("findings")
        .iter_mut()
        .enumerate()
    {
        // The earliest of the source's findings counts.
        let seen = if i % 2 == 0 {
            "2026-11-21T06:00:00"
        } else {
            "2026-10-23T14:30:00"
        };
        f["first_seen"] = Value::from(seen);
        f["status"] = Value::from("persisting");
    }
    std::fs::write(&path, serde_json::to_vec(&audit).expect("JSON")).expect("write");
    let md = draft(&[
        "imy",
        "--source",
        "statistikdatabas",
        "--findings",
        path.to_str().expect("UTF-8 path"),
    ]);
    // 72 hours across the end of summer time: 14.30 becomes 13.30.
    assert!(md.contains(
        "Den 23 oktober 2026 kl. 14.30, vid den behörighetsgranskning som först fann åtkomsten"
    ));
    assert!(
        md.contains("Fristen gick ut den 26 oktober 2026 kl. 13.30 (svensk tid)"),
        "{md}"
    );
}

#[test]
fn markup_in_names_is_escaped_in_markdown_and_html() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, mut audit) = audit_json(dir.path());
    for f in audit["findings"].as_array_mut().expect("findings") {
        if f["account"] == "agnes.wikstrom" {
            f["account"] = Value::from("<img src=x>|*a*");
        }
    }
    std::fs::write(&path, serde_json::to_vec(&audit).expect("JSON")).expect("write");
    let findings = path.to_str().expect("UTF-8 path");
    let args = ["--source", "statistikdatabas", "--findings", findings];
    let html = draft(&[&["imy"][..], &args[..], &["--format", "html"][..]].concat());
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;img"));
    let md = draft(&[&["imy"][..], &args[..]].concat());
    assert!(
        md.contains("| \\<img src=x\\>\\|\\*a\\* |"),
        "the table keeps its columns"
    );
}

#[test]
fn output_file_is_owner_only_and_equals_standard_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("imy.md");
    let args = ["imy", "--source", "statistikdatabas", "--as-of", AS_OF];
    let stdout = draft(&args);
    behorig()
        .arg("draft")
        .args(args)
        .arg("--output")
        .arg(&file)
        .assert()
        .success()
        .stdout("");
    assert_eq!(std::fs::read_to_string(&file).expect("written"), stdout);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn html_draft_is_self_contained_and_prints_to_a4_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("imy.html");
    behorig()
        .args([
            "draft",
            "imy",
            "--source",
            "statistikdatabas",
            "--as-of",
            AS_OF,
            "--format",
            "html",
            "--output",
        ])
        .arg(&html)
        .assert()
        .success();
    let text = std::fs::read_to_string(&html).expect("written");
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert!(text.contains("<html lang=\"sv\">"));
    assert!(text.contains("size: A4"));
    for external in ["<script", "<link", "src=", "url(", "http:", "https:"] {
        assert!(!text.contains(external), "the draft loads {external}");
    }
    assert!(text.contains("<mark class=\"fill\">[FYLL I:"));

    let pdf = dir.path().join("imy.pdf");
    let status = StdCommand::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--no-pdf-header-footer",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("chromium runs (scripts/test installs it)");
    assert!(status.success());
    let info = StdCommand::new("pdfinfo")
        .arg(&pdf)
        .output()
        .expect("pdfinfo runs (scripts/test installs poppler-utils)");
    let info = String::from_utf8_lossy(&info.stdout);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("pdfinfo gives the page count");
    assert!((3..=12).contains(&pages), "{pages} pages");
    assert!(
        info.lines()
            .any(|l| l.starts_with("Page size:") && l.contains("(A4)")),
        "{info}"
    );
    // Every page is A4, not only the first.
    let sizes = StdCommand::new("pdfinfo")
        .args(["-f", "1", "-l", &pages.to_string()])
        .arg(&pdf)
        .output()
        .expect("pdfinfo runs");
    let sizes = String::from_utf8_lossy(&sizes.stdout);
    let a4 = sizes
        .lines()
        .filter(|l| l.contains("size:") && l.contains("(A4)"))
        .count();
    assert_eq!(a4, pages, "{sizes}");
}

#[test]
fn severity_suggestion_follows_the_data_and_the_breadth_of_access() {
    // Sensitive data, 22 accounts: raised to 4.
    let md = draft(&["imy", "--source", "statistikdatabas", "--as-of", AS_OF]);
    assert!(md.contains("Förslag: 4 (Mycket allvarlig)"));
    // Sensitive data, 5 accounts with direct roles: 3.
    let md = draft(&["imy", "--source", "combine", "--as-of", AS_OF]);
    assert!(md.contains("Förslag: 3. Skäl:"));
    assert!(md.contains(
        "Verksamhetssystemets rollexport tar också upp 1 konto med behörighet som katalogen inte känner till."
    ));
    assert!(md.contains("Därutöver har 1 konto vars giltighetstid har gått ut kvar behörighet"));
    // Children among the data subjects, a catch-all group: 4.
    let md = draft(&["imy", "--source", "rostbrevlada", "--as-of", AS_OF]);
    assert!(md.contains("Förslag: 4 (Mycket allvarlig)"));
    assert!(md.contains(
        "Åtkomsten gavs via den allomfattande gruppen Alla anställda, som omfattar 200 konton."
    ));
    assert!(md
        .contains("Ta bort den allomfattande gruppen Alla anställda ur gruppen SG-Rost-Avlyssna."));
    // Salaries, one account: 2.
    let md = draft(&["imy", "--source", "lonesystem", "--as-of", AS_OF]);
    assert!(md.contains("Förslag: 2. Skäl:"));
    assert!(md
        .contains("- [ ] Förlust av konfidentialitet för uppgifter som omfattas av tystnadsplikt"));
}

#[test]
fn a_draft_written_after_the_72_hours_says_the_deadline_passed_and_by_how_much() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, mut audit) = audit_json(dir.path());
    // A scheduled run on 22 November at 10.15 that first found the access
    // on 18 November at 09.30.
    audit["run"]["as_of_time"] = Value::from("2026-11-22T10:15:00");
    for f in audit["findings"].as_array_mut().expect("findings") {
        f["first_seen"] = Value::from("2026-11-18T09:30:00");
        f["status"] = Value::from("persisting");
    }
    std::fs::write(&path, serde_json::to_vec(&audit).expect("JSON")).expect("write");
    let findings = path.to_str().expect("UTF-8 path");
    let md = draft(&[
        "imy",
        "--source",
        "statistikdatabas",
        "--findings",
        findings,
    ]);
    assert!(md.contains(
        "Den 18 november 2026 kl. 09.30, vid den behörighetsgranskning som först fann åtkomsten"
    ));
    assert!(md.contains(
        "Fristen gick ut den 21 november 2026 kl. 09.30 (svensk tid). Vid granskningen den 22 november 2026 kl. 10.15 hade den varit ute i 1 dygn."
    ), "{md}");
    assert!(md.contains("[FYLL I: skälen till att anmälan lämnas efter fristen]"));
    assert!(!md.contains("löper ut"));
    assert!(!md.contains("senast den"));

    // Without a history, the run's own time is the discovery: not late.
    for f in audit["findings"].as_array_mut().expect("findings") {
        f["first_seen"] = Value::Null;
    }
    std::fs::write(&path, serde_json::to_vec(&audit).expect("JSON")).expect("write");
    let md = draft(&[
        "imy",
        "--source",
        "statistikdatabas",
        "--findings",
        findings,
    ]);
    assert!(md.contains("Den 22 november 2026 kl. 10.15, vid behörighetsgranskningen."));
    assert!(md.contains("Fristen på 72 timmar löper ut den 25 november 2026 kl. 10.15"));
}

/// The display names of the example's accounts, from its account export.
fn display_names(accounts: &[String]) -> Vec<String> {
    let text =
        std::fs::read_to_string(root().join("fixtures/norrvik/konton.csv")).expect("konton.csv");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cells = line.split(';');
            let id = cells.next()?;
            let name = cells.next()?;
            accounts.iter().any(|a| a == id).then(|| name.to_string())
        })
        .collect()
}

/// Every count of accounts or findings in a draft under three: table rows
/// whose last cell is such a count, and "1 konto", "2 konton" in the text.
fn small_counts(md: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in md.lines() {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if line.starts_with('|') {
            if let Some(last) = cells.last() {
                let n = last
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok());
                if n.is_some_and(|n| n < 3) {
                    found.push(line.to_string());
                }
            }
        }
        for small in [
            "1 konto",
            "2 konton",
            "1 inaktiverat",
            "2 inaktiverade",
            "1 fynd",
            "2 fynd",
        ] {
            let mut rest = line;
            while let Some(i) = rest.find(small) {
                let before = rest[..i].chars().last();
                if !before.is_some_and(|c| c.is_ascii_digit() || c == '\u{a0}') {
                    found.push(line.to_string());
                    break;
                }
                rest = &rest[i + small.len()..];
            }
        }
    }
    found
}

#[test]
fn no_names_shows_no_account_no_name_and_no_row_under_three() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, audit) = audit_json(dir.path());
    for source in GOLDEN_SOURCES {
        // Every account the source's findings name, reported or not.
        let mut accounts: Vec<String> = audit["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["data_source"] == source)
            .filter_map(|f| f["account"].as_str().map(String::from))
            .collect();
        accounts.sort();
        accounts.dedup();
        let names = display_names(&accounts);
        assert!(!names.is_empty(), "{source}: the export names the accounts");
        for kind in ["imy", "lex-sarah"] {
            let named = draft(&[kind, "--source", source, "--as-of", AS_OF]);
            assert!(
                !small_counts(&named).is_empty(),
                "{kind} {source}: the named draft has small counts, so the check can fail"
            );
            let md = draft(&[kind, "--source", source, "--as-of", AS_OF, "--no-names"]);
            for account in &accounts {
                assert!(!md.contains(account.as_str()), "{kind} {source}: {account}");
            }
            for name in &names {
                assert!(!md.contains(name.as_str()), "{kind} {source}: {name}");
            }
            let small = small_counts(&md);
            assert!(
                small.is_empty(),
                "{kind} {source}: rows under 3: {small:#?}"
            );
        }
    }
}

/// IMY's e-form: the number and wording of every question the draft
/// answers from 1 to 32, and 36 and 37.
const IMY_QUESTIONS: [(u8, &str); 34] = [
    (1, "Organisationens namn"),
    (2, "Organisationsnummer"),
    (3, "Organisationens postadress"),
    (4, "Interna referensnummer"),
    (5, "Kontaktperson: namn"),
    (6, "Kontaktperson: roll"),
    (7, "Kontaktperson: e-post"),
    (8, "Kontaktperson: telefon"),
    (9, "Den adress ni önskar bli kontaktad på"),
    (10, "När inträffade incidenten? (datum, klockslag)"),
    (11, "När upptäckte ni incidenten?"),
    (12, "Pågår incidenten fortfarande?"),
    (13, "När upphörde incidenten?"),
    (
        14,
        "Om anmälan kommer in senare än 72 timmar efter upptäckt: varför?",
    ),
    (15, "Vad har hänt?"),
    (16, "Kort beskrivning av incidenten"),
    (17, "Hur upptäckte ni incidenten?"),
    (18, "Varför inträffade incidenten?"),
    (19, "Sektor"),
    (20, "Verksamhetsområde"),
    (
        21,
        "Har incidenten inträffat hos ett personuppgiftsbiträde?",
    ),
    (22, "Personuppgiftsbiträdets namn och organisationsnummer"),
    (23, "Hur många registrerade har påverkats?"),
    (24, "Hur många personuppgiftsposter har påverkats?"),
    (25, "Vilka grupper tillhör de registrerade?"),
    (26, "Vilken sorts personuppgifter har incidenten drabbat?"),
    (27, "Var uppgifterna krypterade?"),
    (28, "Vad kan bli konsekvenserna av incidenten?"),
    (
        29,
        "Hur allvarlig bedömer ni att incidenten är? (1–4, där 4 är mycket allvarlig)",
    ),
    (30, "Hur har ni agerat efter incidenten?"),
    (31, "Har ni informerat de registrerade?"),
    (32, "När informerade ni de registrerade?"),
    (36, "Avser ni att komplettera anmälan?"),
    (37, "Sekretess i anmälan"),
];

#[test]
fn every_question_of_the_imy_form_appears_with_its_number_and_wording_in_order() {
    for source in GOLDEN_SOURCES {
        let md = draft(&["imy", "--source", source, "--as-of", AS_OF]);
        let mut last = 0;
        for (n, wording) in IMY_QUESTIONS {
            let heading = format!("**{n}. {wording}**");
            let at = md
                .find(&heading)
                .unwrap_or_else(|| panic!("{source}: no question {heading}"));
            assert!(at > last, "{source}: question {n} out of order");
            last = at;
        }
    }
    // The whole option lists, with what the policy says ticked.
    let md = draft(&["imy", "--source", "statistikdatabas", "--as-of", AS_OF]);
    for line in [
        "- [ ] Anställda",
        "- [x] Barn",
        "- [ ] Kan inte ange",
        "- [ ] Övrigt",
        "- [ ] Etniskt ursprung",
        "- [x] Hälsa",
        "- [ ] Okänd",
        "- [x] Den registrerade förlorar kontrollen över de egna personuppgifterna",
        "- [x] Obehörig åtkomst",
        "- [x] Genom intern kontroll",
        "- [x] 4 (Mycket allvarlig)",
    ] {
        assert!(md.contains(line), "{line}");
    }
    // The cause is for a person to choose: nothing is ticked.
    let why = &md[md.find("**18.").expect("18")..md.find("**19.").expect("19")];
    assert!(!why.contains("[x]"), "{why}");
}

/// The boards of behorig.toml that a passage names.
fn boards_in(text: &str) -> Vec<&'static str> {
    [
        "Individ- och familjeomsorgsnämnden",
        "Vård- och omsorgsnämnden",
        "Gymnasie- och arbetsmarknadsnämnden",
    ]
    .into_iter()
    .filter(|b| text.contains(b))
    .collect()
}

fn between<'t>(text: &'t str, from: &str, to: &str) -> &'t str {
    let start = text.find(from).unwrap_or_else(|| panic!("no {from}"));
    let end = start + text[start..].find(to).unwrap_or_else(|| panic!("no {to}"));
    &text[start..end]
}

#[test]
fn both_drafts_name_the_same_boards_as_controllers() {
    for (source, expected) in [
        (
            "statistikdatabas",
            vec![
                "Individ- och familjeomsorgsnämnden",
                "Vård- och omsorgsnämnden",
                "Gymnasie- och arbetsmarknadsnämnden",
            ],
        ),
        ("ifo-filserver", vec!["Individ- och familjeomsorgsnämnden"]),
        ("rostbrevlada", vec!["Individ- och familjeomsorgsnämnden"]),
    ] {
        let imy = draft(&["imy", "--source", source, "--as-of", AS_OF]);
        let sarah = draft(&["lex-sarah", "--source", source, "--as-of", AS_OF]);
        let imy_controllers = boards_in(between(&imy, "**1. Organisationens namn**", "**2."));
        let sarah_controllers = boards_in(between(&sarah, "**Nämndens namn**", "**Kommun**"));
        assert_eq!(imy_controllers, expected, "{source}: IMY");
        assert_eq!(sarah_controllers, expected, "{source}: lex Sarah");
        assert!(!imy.contains("Socialnämnden") && !sarah.contains("Socialnämnden"));
    }
    // Which board's data each account could reach.
    let imy = draft(&["imy", "--source", "statistikdatabas", "--as-of", AS_OF]);
    assert!(imy.contains(
        "| agnes.wikstrom | läsbehörighet på IFO och VO | Individ- och familjeomsorgsnämnden och Vård- och omsorgsnämnden |"
    ));
}

#[test]
fn with_the_history_of_runs_the_draft_dates_discovery_and_actions_and_records_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.db");
    let state = state.to_str().expect("UTF-8 path");
    for as_of in ["2026-11-18", "2026-11-22"] {
        let out = behorig()
            .args([
                "audit", "--as-of", as_of, "--state", state, "--format", "json",
            ])
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let args = [
        "--source",
        "statistikdatabas",
        "--as-of",
        "2026-11-23",
        "--state",
        state,
    ];
    let md = draft(&[&["imy"][..], &args[..]].concat());
    assert!(md.contains(
        "Den 18 november 2026 kl. 00.00, vid den behörighetsgranskning som först fann åtkomsten"
    ));
    assert!(md.contains(
        "Fristen gick ut den 20 november 2026 kl. 24.00 (svensk tid). Vid granskningen den 23 november 2026 hade den varit ute i 2 dygn."
    ), "{md}");
    // Question 30: one dated row per run, the draft's own run last.
    assert!(md.contains(
        "- Den 18 november 2026 kl. 00.00: behörighetsgranskning som först fann åtkomsten.\n\
         - Den 22 november 2026 kl. 00.00: ny behörighetsgranskning: åtkomsten fanns kvar.\n\
         - Den 23 november 2026: behörighetsgranskning av Statistikdatabas (Combine), som visade den åtkomst som anmälan gäller."
    ), "{md}");
    let sarah = draft(&[&["lex-sarah"][..], &args[..]].concat());
    assert!(sarah.contains(
        "- Den 22 november 2026 kl. 00.00: ny behörighetsgranskning: åtkomsten fanns kvar."
    ));

    // The draft read the history and wrote nothing to it.
    let out = behorig()
        .args(["history", "--state", state, "--format", "json"])
        .output()
        .expect("runs");
    let history: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        history["runs"].as_array().map(Vec::len),
        Some(2),
        "{history}"
    );

    // A state file that does not exist is a set-up mistake.
    let missing = dir.path().join("saknas.db");
    let stderr = refused(&[
        "imy",
        "--source",
        "statistikdatabas",
        "--as-of",
        AS_OF,
        "--state",
        missing.to_str().expect("UTF-8 path"),
    ]);
    assert!(stderr.contains("no such state file"), "{stderr}");
}

#[test]
fn without_boards_in_the_configuration_the_controller_is_left_to_fill_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = std::fs::read_to_string(root().join("behorig.toml"))
        .expect("behorig.toml")
        .replace(
            "policies = \"policies\"",
            &format!("policies = {:?}", root().join("policies")),
        )
        .replace("\"fixtures/", &format!("\"{}/fixtures/", root().display()));
    let start = config.find("[organization.boards]").expect("boards");
    let end = start + config[start..].find("\n\n").expect("end of boards");
    let config = format!("{}{}", &config[..start], &config[end..]);
    let path = dir.path().join("behorig.toml");
    std::fs::write(&path, config).expect("write config");
    let path = path.to_str().expect("UTF-8 path");
    for kind in ["imy", "lex-sarah"] {
        let md = draft(&[
            kind,
            "--source",
            "statistikdatabas",
            "--as-of",
            AS_OF,
            "--config",
            path,
        ]);
        assert!(
            md.contains("[FYLL I: personuppgiftsansvarig nämnd för de områden som inställningarna inte knyter till en nämnd]"),
            "{kind}"
        );
        assert!(boards_in(&md).is_empty(), "{kind}: no board is invented");
    }
    // A source whose policy names its controller keeps it.
    let md = draft(&[
        "lex-sarah",
        "--source",
        "rostbrevlada",
        "--as-of",
        AS_OF,
        "--config",
        path,
    ]);
    assert!(md.contains("**Nämndens namn**\n\nIndivid- och familjeomsorgsnämnden"));
}
