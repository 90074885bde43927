//! The command line: clap definitions, and their validation into settings
//! that the rest of the program uses without re-checking.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::config::Config;
use crate::error::Error;
pub use crate::findings::{DraftKind, FailOn};
use crate::output::Format;
use crate::ui::{ColorChoice, Verbosity};

#[derive(Debug, Parser)]
#[command(
    name = "behorig",
    version,
    about = "Audits who can reach which data in social services: directory and role exports against least-privilege policies",
    after_help = "Examples:\n  behorig audit --policies policies/ --csv konton.csv --csv roller.csv\n  behorig audit --config /etc/behorig/behorig.toml --format json --output granskning.json\n\nThe configuration is read from --config, else $BEHORIG_CONFIG, else ./behorig.toml, else /etc/behorig/behorig.toml."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Colour the table: `auto` colours a terminal unless NO_COLOR is set or
    /// TERM=dumb (CLICOLOR_FORCE colours a pipe too).
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only errors on standard error.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print what was read, from where, and how long it took.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

impl Cli {
    /// The verbosity `-q` and `-v` ask for.
    pub fn verbosity(&self) -> Verbosity {
        if self.quiet {
            Verbosity::Quiet
        } else if self.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the sources, check them against the policies, report findings.
    #[command(
        after_help = "Examples:\n  behorig audit --csv konton.csv --csv gruppnastling.csv --csv roller.csv\n  behorig audit --state /var/lib/behorig/state.db --fail-on-new-only --format json --output granskning.json"
    )]
    Audit(AuditArgs),
    /// Show the full evidence for one finding: the path that gives the
    /// access and why no allow covers it.
    #[command(
        after_help = "Examples:\n  behorig explain 3f2a9c1d\n  behorig explain 3f2a9c1d --config /etc/behorig/behorig.toml"
    )]
    Explain(ExplainArgs),
    /// Draft a report to IMY (personal-data breach) or IVO (lex Sarah).
    #[command(
        after_help = "Examples:\n  behorig draft imy --source statistikdatabas\n  behorig draft lex-sarah --source statistikdatabas --format html --output lex-sarah.html"
    )]
    Draft(DraftArgs),
    /// Policy files.
    #[command(
        subcommand,
        after_help = "Examples:\n  behorig policy check\n  behorig policy check /etc/behorig/policies"
    )]
    Policy(PolicyCommand),
    /// List the recorded runs of a state file.
    #[command(
        after_help = "Examples:\n  behorig history\n  behorig history --state /var/lib/behorig/state.db --format json"
    )]
    History(HistoryArgs),
    /// Print the configuration in effect and where each value came from
    /// (never a password).
    #[command(
        after_help = "Examples:\n  behorig config\n  behorig config --config /etc/behorig/behorig.toml"
    )]
    Config(ConfigArgs),
    /// The changes that end the findings, proven on a copy of the inputs:
    /// findings gone, every allowed access still there.
    #[command(
        after_help = "Examples:\n  behorig plan --source statistikdatabas\n  behorig plan --format ldif --output atgarder.ldif"
    )]
    Plan(PlanArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Plan only for the findings of this data source (repeatable).
    #[arg(long, value_name = "ID")]
    pub source: Vec<String>,
    #[arg(long, value_enum, default_value_t = crate::plan::render::PlanFormat::Table)]
    pub format: crate::plan::render::PlanFormat,
    /// Write the plan to this file (owner-only, replaced atomically).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Accepted findings (the audit's exceptions file): the plan leaves
    /// them as they are.
    #[arg(long, value_name = "FILE")]
    pub exceptions: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The finding's id (or a unique prefix of it).
    pub finding_id: String,
    #[command(flatten)]
    pub inputs: InputArgs,
    /// List the finding's events in the access logs (time, action, record):
    /// record ids appear nowhere else.
    #[arg(long)]
    pub show_records: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DraftFormat {
    Md,
    Html,
}

#[derive(Debug, Args)]
pub struct DraftArgs {
    /// Which report: `imy` or `lex-sarah`.
    #[arg(value_enum)]
    pub kind: DraftKind,
    /// The data source the report is about.
    #[arg(long, value_name = "ID")]
    pub source: String,
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Findings from an earlier `audit --format json` instead of a new audit.
    #[arg(long, value_name = "FILE.json")]
    pub findings: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DraftFormat::Md)]
    pub format: DraftFormat,
    /// Write the draft to this file (owner-only, replaced atomically).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Leave the names of affected accounts out.
    #[arg(long)]
    pub no_names: bool,
    /// The history of runs of `audit --state`, read and never written: the
    /// discovery time and the dated actions come from it.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The SQLite state file written by `audit --state` (default: `state`
    /// under [audit] in the configuration).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = HistoryFormat::Table)]
    pub format: HistoryFormat,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate every policy file in a folder and report all problems.
    #[command(
        after_help = "Examples:\n  behorig policy check\n  behorig policy check /etc/behorig/policies"
    )]
    Check {
        /// The policy folder (default: from behorig.toml, else `policies`).
        dir: Option<PathBuf>,
        /// The configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// What to read: shared by every command that audits.
#[derive(Debug, Args, Clone, Default)]
pub struct InputArgs {
    /// The configuration file (default: $BEHORIG_CONFIG, else ./behorig.toml,
    /// else /etc/behorig/behorig.toml, the first that exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The folder of policy files, one per data source.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// A CSV export: accounts, group nesting or role grants (repeatable).
    #[arg(long, value_name = "FILE")]
    pub csv: Vec<PathBuf>,
    /// An LDIF export of a directory (repeatable).
    #[arg(long, value_name = "FILE")]
    pub ldif: Vec<PathBuf>,
    /// An LDAP server, e.g. ldaps://dc1.example.se:636 (settings from [ldap]).
    #[arg(long, value_name = "URL")]
    pub ldap: Option<String>,
    /// The audit's date (default today): inactivity and expiry are measured
    /// against it.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// A system's access log (CSV: account, data source, time; repeatable):
    /// findings then say whether the access was used.
    #[arg(long, value_name = "FILE")]
    pub access_log: Vec<PathBuf>,
    /// Access-log rows before this day are not evidence.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub log_since: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to this file (owner-only, replaced atomically).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity [default: `fail_on`
    /// under [audit], else high] [possible values: critical, high, medium,
    /// low, never].
    #[arg(long, value_name = "LEVEL", value_parser = parse_fail_on)]
    pub fail_on: Option<FailOn>,
    /// With --state: exit 1 only for new findings at or above --fail-on,
    /// so that a scheduled run does not alert twice for the same finding.
    #[arg(long)]
    pub fail_on_new_only: bool,
    /// With access logs: exit 1 only for findings at or above --fail-on
    /// whose access the logs show used.
    #[arg(long)]
    pub fail_on_used: bool,
    /// With access logs and the table: show only the findings whose access
    /// the logs show used, or only those not used (the totals and the exit
    /// code still count every finding).
    #[arg(long, value_enum, value_name = "USE")]
    pub only: Option<crate::output::table::UseFilter>,
    /// The SQLite history of runs: marks findings new or persisting
    /// (created owner-only on the first run).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Documented, time-limited exceptions (TOML).
    #[arg(long, value_name = "FILE")]
    pub exceptions: Option<PathBuf>,
    /// The CSV dialect of `--format csv`: `excel` writes semicolons and a
    /// UTF-8 BOM, as Swedish Excel opens with å, ä and ö intact.
    #[arg(long, value_enum, value_name = "STYLE", default_value_t = CsvStyle::Standard)]
    pub csv_style: CsvStyle,
}

/// `--csv-style`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CsvStyle {
    /// Commas, UTF-8 without BOM (RFC 4180).
    #[default]
    Standard,
    /// Semicolons and a UTF-8 BOM, for Excel with Swedish settings.
    Excel,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date: expected YYYY-MM-DD"))
}

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    FailOn::from_id(s).ok_or_else(|| {
        format!("`{s}` is not a level: expected one of critical, high, medium, low, never")
    })
}

/// Validated inputs of an audit.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub config: Option<Config>,
    pub policies: PathBuf,
    pub csv: Vec<PathBuf>,
    pub ldif: Vec<PathBuf>,
    pub ldap: Option<String>,
    pub as_of: NaiveDate,
    /// The access logs and the evidence window.
    pub logs: crate::evidence::LogInputs,
}

/// The configuration file of a server installation, the last place looked.
pub const SYSTEM_CONFIG: &str = "/etc/behorig/behorig.toml";

/// The environment variable that names the configuration file.
pub const CONFIG_ENV: &str = "BEHORIG_CONFIG";

/// How the configuration file in effect was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigOrigin {
    /// `--config FILE`.
    Flag,
    /// `$BEHORIG_CONFIG`.
    Env,
    /// `behorig.toml` in the working folder.
    WorkingDir,
    /// `/etc/behorig/behorig.toml`.
    System,
}

impl ConfigOrigin {
    pub fn describe(self) -> &'static str {
        match self {
            ConfigOrigin::Flag => "--config",
            ConfigOrigin::Env => "$BEHORIG_CONFIG",
            ConfigOrigin::WorkingDir => "behorig.toml in the working folder",
            ConfigOrigin::System => SYSTEM_CONFIG,
        }
    }
}

/// Finds the configuration file: `--config`, then `$BEHORIG_CONFIG`, then
/// `./behorig.toml`, then `/etc/behorig/behorig.toml`. A file named by the
/// flag or the variable must exist; the other two are used when they do.
pub fn find_config(explicit: Option<&Path>) -> Option<(PathBuf, ConfigOrigin)> {
    if let Some(path) = explicit {
        return Some((path.to_path_buf(), ConfigOrigin::Flag));
    }
    if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()) {
        return Some((PathBuf::from(path), ConfigOrigin::Env));
    }
    let local = Path::new("behorig.toml");
    if local.is_file() {
        return Some((local.to_path_buf(), ConfigOrigin::WorkingDir));
    }
    let system = Path::new(SYSTEM_CONFIG);
    if cfg!(unix) && system.is_file() {
        return Some((system.to_path_buf(), ConfigOrigin::System));
    }
    None
}

/// Loads the configuration file [`find_config`] finds, if any.
pub fn load_config(explicit: Option<&Path>) -> Result<Option<Config>, Error> {
    match find_config(explicit) {
        Some((path, origin)) => {
            crate::ui::note(format_args!(
                "configuration: {} (from {})",
                path.display(),
                origin.describe()
            ));
            Config::load(&path).map(Some).map_err(Error::Config)
        }
        None => Ok(None),
    }
}

/// The policy folder: the flag, else the configuration, else `policies`.
pub fn policy_dir(flag: Option<&Path>, config: Option<&Config>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| config.and_then(|c| c.audit.policies.clone()))
        .unwrap_or_else(|| PathBuf::from("policies"))
}

impl InputArgs {
    /// Combines flags and configuration. Inputs named on the command line
    /// replace the configured ones.
    /// The inputs to audit: those given as flags, else those of `[audit]`.
    pub fn resolve(&self) -> Result<Inputs, Error> {
        let config = load_config(self.config.as_deref())?;
        let policies = policy_dir(self.policies.as_deref(), config.as_ref());
        let from_flags = !self.csv.is_empty() || !self.ldif.is_empty() || self.ldap.is_some();
        let (csv, ldif, ldap) = if from_flags {
            // Flags replace every configured input, not only those of
            // their kind: say which, so that a run with `--csv` alone does
            // not quietly read no directory.
            if let Some(c) = config.as_ref() {
                let mut replaced: Vec<String> = Vec::new();
                replaced.extend(
                    c.audit
                        .csv
                        .iter()
                        .filter(|p| !self.csv.contains(p))
                        .map(|p| p.display().to_string()),
                );
                replaced.extend(
                    c.audit
                        .ldif
                        .iter()
                        .filter(|p| !self.ldif.contains(p))
                        .map(|p| p.display().to_string()),
                );
                if self.access_log.is_empty() {
                    replaced.extend(c.audit.access_logs.iter().map(|p| p.display().to_string()));
                }
                if let Some(url) = c.ldap.as_ref().and_then(|l| l.url.as_ref()) {
                    if self.ldap.as_ref() != Some(url) {
                        replaced.push(format!("the directory {}", without_userinfo(url)));
                    }
                }
                if !replaced.is_empty() {
                    crate::ui::info(format_args!(
                        "note: the inputs given as flags replace the inputs of {}: not read: {}",
                        c.file.display(),
                        replaced.join(", ")
                    ));
                }
            }
            (self.csv.clone(), self.ldif.clone(), self.ldap.clone())
        } else {
            let c = config.as_ref();
            (
                c.map(|c| c.audit.csv.clone()).unwrap_or_default(),
                c.map(|c| c.audit.ldif.clone()).unwrap_or_default(),
                c.and_then(|c| c.ldap.as_ref()).and_then(|l| l.url.clone()),
            )
        };
        if csv.is_empty() && ldif.is_empty() && ldap.is_none() {
            return Err(Error::Usage(
                "nothing to audit: give --csv, --ldif or --ldap, or list inputs under [audit] in behorig.toml"
                    .into(),
            ));
        }
        let as_of = self
            .as_of
            .unwrap_or_else(|| chrono::Local::now().date_naive());
        // `--access-log` replaces the configured logs; inputs given as
        // flags replace them too.
        let files = if from_flags || !self.access_log.is_empty() {
            self.access_log.clone()
        } else {
            config
                .as_ref()
                .map(|c| c.audit.access_logs.clone())
                .unwrap_or_default()
        };
        Ok(Inputs {
            config,
            policies,
            csv,
            ldif,
            ldap,
            as_of,
            logs: crate::evidence::LogInputs {
                files,
                since: self.log_since,
            },
        })
    }
}

/// A URL without a `user:password@` part, to be shown.
fn without_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}
