//! `behorig config`: the configuration in effect, each value with where it
//! came from (the file, or the built-in default), so that an administrator
//! can see what a scheduled run will read. A password is never printed:
//! only the name of its variable (and whether it is set) or its file.

use std::fmt::Write as _;
use std::path::Path;

use crate::cli::{self, ConfigArgs};
use crate::config::Config;
use crate::error::Error;

pub fn run(args: ConfigArgs) -> Result<i32, Error> {
    let found = cli::find_config(args.config.as_deref());
    let config = cli::load_config(args.config.as_deref())?;
    let text = match (&found, &config) {
        (Some((path, origin)), Some(config)) => {
            let doc = std::fs::read_to_string(path)
                .ok()
                .and_then(|t| t.parse::<toml_edit::DocumentMut>().ok());
            render(config, &format!("{} (found by {})", path.display(), origin.describe()), doc.as_ref())
        }
        _ => render(
            &Config::default(),
            &format!(
                "none: no --config, no $BEHORIG_CONFIG, no behorig.toml in the working folder, no {}",
                cli::SYSTEM_CONFIG
            ),
            None,
        ),
    };
    super::emit(None, text.as_bytes())?;
    Ok(0)
}

/// Where a value came from: the file when it names the key, else the default.
fn origin(doc: Option<&toml_edit::DocumentMut>, section: &str, key: &str) -> &'static str {
    let set = doc
        .and_then(|d| d.get(section))
        .and_then(|s| s.get(key))
        .is_some();
    if set {
        "file"
    } else {
        "default"
    }
}

fn quoted(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_string()
}

/// A path as the program will open it: relative ones are relative to the
/// working folder (the configuration's own folder is already joined).
fn path(p: &Path) -> String {
    let full = match std::env::current_dir() {
        Ok(dir) if p.is_relative() => dir.join(p),
        _ => p.to_path_buf(),
    };
    quoted(&full.display().to_string())
}

/// One `key = value  # origin` line; an unset value is shown commented.
fn line(out: &mut String, key: &str, value: Option<String>, origin: &str) {
    let _ = match value {
        Some(v) => writeln!(out, "{:<44} # {origin}", format!("{key} = {v}")),
        None => writeln!(out, "{:<44} # not set", format!("# {key}")),
    };
}

fn render(config: &Config, file: &str, doc: Option<&toml_edit::DocumentMut>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# configuration file: {file}");
    let _ = writeln!(
        out,
        "# \"file\": set there (paths relative to its folder); \"default\": built in\n"
    );
    let o = |section: &str, key: &str| origin(doc, section, key);

    let _ = writeln!(out, "[organization]");
    let org = &config.organization;
    line(
        &mut out,
        "name",
        org.name.as_deref().map(quoted),
        o("organization", "name"),
    );
    line(
        &mut out,
        "org_number",
        org.org_number.as_deref().map(quoted),
        o("organization", "org_number"),
    );
    line(
        &mut out,
        "address",
        org.address.as_deref().map(quoted),
        o("organization", "address"),
    );
    for (scope, board) in &org.boards {
        line(
            &mut out,
            &format!("boards.{scope}"),
            Some(quoted(board)),
            "file",
        );
    }

    let _ = writeln!(out, "\n[contact]");
    let c = &config.contact;
    for (key, value) in [
        ("name", &c.name),
        ("role", &c.role),
        ("email", &c.email),
        ("phone", &c.phone),
    ] {
        line(
            &mut out,
            key,
            value.as_deref().map(quoted),
            o("contact", key),
        );
    }

    let _ = writeln!(out, "\n[ldap]");
    match &config.ldap {
        None => {
            let _ = writeln!(
                out,
                "# not configured: no directory is read unless --ldap is given"
            );
        }
        Some(l) => {
            line(
                &mut out,
                "url",
                l.url.as_deref().map(quoted),
                o("ldap", "url"),
            );
            line(
                &mut out,
                "bind_dn",
                l.bind_dn.as_deref().map(quoted),
                o("ldap", "bind_dn"),
            );
            if let Some(var) = &l.password_env {
                let set = std::env::var_os(var).is_some_and(|v| !v.is_empty());
                let state = if set {
                    "set"
                } else {
                    "NOT set in this environment"
                };
                line(
                    &mut out,
                    "password_env",
                    Some(quoted(var)),
                    &format!("file; the variable is {state}"),
                );
            } else {
                line(&mut out, "password_env", None, "");
            }
            line(
                &mut out,
                "password_file",
                l.password_file.as_deref().map(path),
                o("ldap", "password_file"),
            );
            line(
                &mut out,
                "base_dn",
                l.base_dn.as_deref().map(quoted),
                o("ldap", "base_dn"),
            );
            line(
                &mut out,
                "ca_cert",
                l.ca_cert.as_deref().map(path),
                o("ldap", "ca_cert"),
            );
            line(
                &mut out,
                "starttls",
                Some(l.starttls.to_string()),
                o("ldap", "starttls"),
            );
            line(
                &mut out,
                "tls_verify_hostname",
                Some(l.tls_verify_hostname.to_string()),
                o("ldap", "tls_verify_hostname"),
            );
            line(
                &mut out,
                "page_size",
                Some(l.page_size.to_string()),
                o("ldap", "page_size"),
            );
            line(
                &mut out,
                "timeout_s",
                Some(l.timeout_s.to_string()),
                o("ldap", "timeout_s"),
            );
            for (well_known, attribute) in &l.attributes {
                line(
                    &mut out,
                    &format!("attributes.{well_known}"),
                    Some(quoted(attribute)),
                    "file",
                );
            }
        }
    }

    let _ = writeln!(out, "\n[audit]");
    let a = &config.audit;
    let policies = cli::policy_dir(None, Some(config));
    line(
        &mut out,
        "policies",
        Some(path(&policies)),
        o("audit", "policies"),
    );
    let list = |paths: &[std::path::PathBuf]| {
        (!paths.is_empty()).then(|| {
            let items: Vec<String> = paths.iter().map(|p| path(p)).collect();
            format!("[{}]", items.join(", "))
        })
    };
    line(&mut out, "csv", list(&a.csv), o("audit", "csv"));
    line(&mut out, "ldif", list(&a.ldif), o("audit", "ldif"));
    line(
        &mut out,
        "fail_on",
        Some(quoted(a.fail_on.as_deref().unwrap_or("high"))),
        o("audit", "fail_on"),
    );
    line(
        &mut out,
        "state",
        a.state.as_deref().map(path),
        o("audit", "state"),
    );
    line(
        &mut out,
        "exceptions",
        a.exceptions.as_deref().map(path),
        o("audit", "exceptions"),
    );

    let _ = writeln!(out, "\n[drafts]");
    match &config.drafts.legal {
        Some(p) => line(&mut out, "legal", Some(path(p)), "file"),
        None => line(&mut out, "legal", Some("(built in)".into()), "default"),
    }
    out
}
