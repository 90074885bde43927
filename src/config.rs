//! `behorig.toml`: the organisation, its contact person, the directory
//! connection and the default audit, so that `behorig audit` with no
//! arguments runs the configured audit. Paths are relative to the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml_edit::TableLike;

use crate::diag::{self, Diagnostic, TomlReader};

#[derive(Debug, Clone, Default)]
pub struct Config {
    pub file: PathBuf,
    pub organization: Organization,
    pub contact: Contact,
    pub ldap: Option<LdapConfig>,
    pub audit: AuditConfig,
    pub drafts: DraftsConfig,
}

#[derive(Debug, Clone, Default)]
pub struct Organization {
    pub name: Option<String>,
    pub org_number: Option<String>,
    pub address: Option<String>,
    /// Board names by scope (e.g. `IFO` → "Individ- och familjeomsorgsnämnden").
    pub boards: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub name: Option<String>,
    pub role: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LdapConfig {
    pub url: Option<String>,
    pub bind_dn: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub base_dn: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub starttls: bool,
    pub tls_verify_hostname: bool,
    pub page_size: u32,
    pub timeout_s: u64,
    /// How long the whole directory read may take, in seconds (0: the
    /// default).
    pub deadline_s: u64,
    /// `simple` (a bind DN and a password) or `kerberos` (SASL GSSAPI).
    pub auth: Option<String>,
    /// Kerberos: a keytab instead of the process's credential cache.
    pub keytab: Option<PathBuf>,
    /// Kerberos: the principal whose key the keytab holds.
    pub principal: Option<String>,
    /// Well-known attribute → directory attribute.
    pub attributes: BTreeMap<String, String>,
}

/// What `behorig audit` reads when the command line names no inputs.
#[derive(Debug, Clone, Default)]
pub struct AuditConfig {
    pub policies: Option<PathBuf>,
    pub csv: Vec<PathBuf>,
    pub ldif: Vec<PathBuf>,
    pub fail_on: Option<String>,
    /// The history of runs (`--state`).
    pub state: Option<PathBuf>,
    /// The exceptions file (`--exceptions`).
    pub exceptions: Option<PathBuf>,
    /// Access logs read as evidence of use (`--access-log`).
    pub access_logs: Vec<PathBuf>,
    /// Fail only on access the logs show used (`--fail-on-used`).
    pub fail_on_used: bool,
}

/// Settings of `behorig draft`.
#[derive(Debug, Clone, Default)]
pub struct DraftsConfig {
    /// A file of legal references that replaces the built-in texts.
    pub legal: Option<PathBuf>,
}

const TOP_KEYS: &[&str] = &["organization", "contact", "ldap", "audit", "drafts"];
const ORG_KEYS: &[&str] = &["name", "org_number", "address", "boards"];
const CONTACT_KEYS: &[&str] = &["name", "role", "email", "phone"];
const LDAP_KEYS: &[&str] = &[
    "url",
    "bind_dn",
    "password_env",
    "password_file",
    "base_dn",
    "ca_cert",
    "starttls",
    "tls_verify_hostname",
    "page_size",
    "timeout_s",
    "deadline_s",
    "auth",
    "keytab",
    "principal",
    "attributes",
];
const AUDIT_KEYS: &[&str] = &[
    "policies",
    "csv",
    "ldif",
    "fail_on",
    "state",
    "exceptions",
    "access_logs",
    "fail_on_used",
];
const DRAFTS_KEYS: &[&str] = &["legal"];
/// The well-known attributes `[ldap.attributes]` may remap.
pub const LDAP_ATTRIBUTE_KEYS: &[&str] = &[
    "account",
    "display_name",
    "department",
    "title",
    "employee_type",
    "enabled",
    "expires",
    "last_logon",
    "group_name",
    "member",
];

fn table<'d>(
    r: &mut TomlReader<'_>,
    parent: &'d dyn TableLike,
    key: &str,
) -> Option<&'d dyn TableLike> {
    let item = parent.get(key)?;
    match item.as_table_like() {
        Some(t) => Some(t),
        None => {
            r.error(
                diag::item_span(parent, key),
                format!("`{key}` must be a table: write `[{key}]`"),
            );
            None
        }
    }
}

impl Config {
    pub fn load(file: &Path) -> Result<Config, Vec<Diagnostic>> {
        let text =
            crate::text::read_bounded(file, crate::text::MAX_SETTINGS_BYTES).map_err(|e| {
                vec![Diagnostic {
                    file: file.to_path_buf(),
                    line: 0,
                    col: 0,
                    message: format!("cannot read the configuration: {e}"),
                    help: None,
                }]
            })?;
        Self::parse(file, &text)
    }

    pub fn parse(file: &Path, text: &str) -> Result<Config, Vec<Diagnostic>> {
        let doc = diag::parse_toml(file, text).map_err(|d| vec![d])?;
        let mut r = TomlReader::new(file, text);
        let root = doc.as_table();
        r.check_keys(root, TOP_KEYS, "behorig.toml");
        let base = file.parent().unwrap_or(Path::new("")).to_path_buf();
        let resolve = |p: String| -> PathBuf {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                base.join(p)
            }
        };
        let mut config = Config {
            file: file.to_path_buf(),
            ..Config::default()
        };
        if let Some(t) = table(&mut r, root, "organization") {
            r.check_keys(t, ORG_KEYS, "[organization]");
            let ctx = "[organization]";
            config.organization.name = r.string(t, "name", ctx);
            config.organization.org_number = r.string(t, "org_number", ctx);
            config.organization.address = r.string(t, "address", ctx);
            if let Some(boards) = table(&mut r, t, "boards") {
                let keys: Vec<String> = boards.iter().map(|(k, _)| k.to_string()).collect();
                for k in keys {
                    if let Some(v) = r.string(boards, &k, "[organization.boards]") {
                        config.organization.boards.insert(k, v);
                    }
                }
            }
        }
        if let Some(t) = table(&mut r, root, "contact") {
            r.check_keys(t, CONTACT_KEYS, "[contact]");
            let ctx = "[contact]";
            config.contact = Contact {
                name: r.string(t, "name", ctx),
                role: r.string(t, "role", ctx),
                email: r.string(t, "email", ctx),
                phone: r.string(t, "phone", ctx),
            };
        }
        if let Some(t) = table(&mut r, root, "ldap") {
            let mut allowed = LDAP_KEYS.to_vec();
            allowed.push("password");
            r.check_keys(t, &allowed, "[ldap]");
            let ctx = "[ldap]";
            let mut ldap = LdapConfig {
                url: r.string(t, "url", ctx),
                bind_dn: r.string(t, "bind_dn", ctx),
                password_env: r.string(t, "password_env", ctx),
                password_file: r.string(t, "password_file", ctx).map(resolve),
                base_dn: r.string(t, "base_dn", ctx),
                ca_cert: r.string(t, "ca_cert", ctx).map(resolve),
                starttls: r.bool(t, "starttls", ctx).unwrap_or(false),
                tls_verify_hostname: r.bool(t, "tls_verify_hostname", ctx).unwrap_or(true),
                page_size: r
                    .integer(t, "page_size", ctx, 1)
                    .unwrap_or(1000)
                    .min(i64::from(u32::MAX)) as u32,
                timeout_s: r.integer(t, "timeout_s", ctx, 1).unwrap_or(30) as u64,
                deadline_s: r.integer(t, "deadline_s", ctx, 1).unwrap_or(0) as u64,
                auth: r.string(t, "auth", ctx),
                keytab: r.string(t, "keytab", ctx).map(resolve),
                principal: r.string(t, "principal", ctx),
                attributes: BTreeMap::new(),
            };
            if ldap.password_env.is_some() && ldap.password_file.is_some() {
                r.error(
                    diag::item_span(t, "password_file"),
                    "give the password either by `password_env` or by `password_file`, not both",
                );
            }
            if t.get("password").is_some() {
                r.error_help(
                    diag::item_span(t, "password"),
                    "the password is never written in behorig.toml",
                    Some("use `password_env` (an environment variable) or `password_file`"),
                );
            }
            if let Some(attrs) = table(&mut r, t, "attributes") {
                r.check_keys(attrs, LDAP_ATTRIBUTE_KEYS, "[ldap.attributes]");
                for k in LDAP_ATTRIBUTE_KEYS {
                    if let Some(v) = r.string(attrs, k, "[ldap.attributes]") {
                        ldap.attributes.insert(k.to_string(), v);
                    }
                }
            }
            config.ldap = Some(ldap);
        }
        if let Some(t) = table(&mut r, root, "audit") {
            r.check_keys(t, AUDIT_KEYS, "[audit]");
            let ctx = "[audit]";
            config.audit.policies = r.string(t, "policies", ctx).map(resolve);
            config.audit.csv = r
                .string_list(t, "csv", ctx)
                .unwrap_or_default()
                .into_iter()
                .map(|s| resolve(s.value))
                .collect();
            config.audit.ldif = r
                .string_list(t, "ldif", ctx)
                .unwrap_or_default()
                .into_iter()
                .map(|s| resolve(s.value))
                .collect();
            config.audit.fail_on = r.string(t, "fail_on", ctx);
            config.audit.state = r.string(t, "state", ctx).map(resolve);
            config.audit.exceptions = r.string(t, "exceptions", ctx).map(resolve);
            config.audit.access_logs = r
                .string_list(t, "access_logs", ctx)
                .unwrap_or_default()
                .into_iter()
                .map(|s| resolve(s.value))
                .collect();
            config.audit.fail_on_used = r.bool(t, "fail_on_used", ctx).unwrap_or(false);
            if let Some(v) = &config.audit.fail_on {
                if crate::findings::FailOn::from_id(v).is_none() {
                    r.error_help(
                        diag::item_span(t, "fail_on"),
                        format!("unknown `fail_on` value `{v}`"),
                        Some("expected one of: critical, high, medium, low, never"),
                    );
                }
            }
        }
        if let Some(t) = table(&mut r, root, "drafts") {
            r.check_keys(t, DRAFTS_KEYS, "[drafts]");
            config.drafts.legal = r.string(t, "legal", "[drafts]").map(resolve);
        }
        r.into_result().map(|_| config)
    }
}
