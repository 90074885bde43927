//! Policy problems: all of them in one pass, as file:line:col, exit 2.

use crate::common::*;

#[test]
fn every_problem_is_reported_with_its_position() {
    let env = Env::new();
    env.write(
        "policies/a.toml",
        r#"[source]
id = "a"
activity = "socialtjänst"
data_categories = ["halsa", "hälsodata"]

[[grant]]
group = '^SG-(?P<scope'
role = "Las"

[[allow]]
scoep = "*"
when.title = { regexp = "x" }

[checks]
inactive_days = "90"
"#,
    );
    env.write("policies/b.toml", "[source]\nid = \"a\"\n");
    let out = env
        .cmd()
        .args(["policy", "check", "policies"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for expected in [
        "policies/a.toml:3:12: unknown activity `socialtjänst`",
        "did you mean `socialtjanst`?",
        "policies/a.toml:4:29: unknown value `hälsodata` in `data_categories`",
        "policies/a.toml:7:9: bad regex in `group`",
        "policies/a.toml:11:1: unknown key `scoep` in [[allow]]",
        "did you mean `scope`?",
        "policies/a.toml:12:16: unknown key `regexp` in `when.title`",
        "policies/a.toml:15:17: `inactive_days` in [checks] must be a whole number",
        "policies/b.toml:2:6: duplicate source id `a`",
    ] {
        assert!(
            stderr.contains(expected),
            "missing `{expected}` in:\n{stderr}"
        );
    }
    assert!(stderr.contains("8 policy problems found"), "{stderr}");
}

#[test]
fn audit_refuses_a_bad_policy_before_reading_sources() {
    let env = Env::new();
    let args = write_org(&env);
    env.write(
        "policies/fil.toml",
        "[source]\nid = \"fil\"\nscopes = \"IFO\"\n[[allow]]\nrole = 1\n",
    );
    let out = env
        .cmd()
        .arg("audit")
        .args(&args)
        .args(["--output", "r.json"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("policies/fil.toml:5:8"), "{stderr}");
    assert!(!env.path("r.json").exists());
}

#[test]
fn invalid_toml_names_the_position() {
    let env = Env::new();
    env.write("policies/a.toml", "[source]\nid = \"a\n");
    let out = env
        .cmd()
        .args(["policy", "check", "policies"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("policies/a.toml:2:"), "{stderr}");
    assert!(stderr.contains("invalid TOML"), "{stderr}");
}

#[test]
fn the_bundled_policies_are_valid() {
    let out = assert_cmd::Command::cargo_bin("behorig")
        .expect("binary")
        .current_dir(repo())
        .args(["policy", "check"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("5 policies, no problems"), "{stdout}");
}

#[test]
fn config_errors_name_the_position() {
    let env = Env::new();
    env.write(
        "behorig.toml",
        "[organization]\nnamn = \"x\"\n[ldap]\npassword = \"hemligt\"\n",
    );
    let out = env.cmd().args(["audit"]).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("behorig.toml:2:1: unknown key `namn`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("behorig.toml:4:12: the password is never written"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hemligt"),
        "the password was printed: {stderr}"
    );
}
