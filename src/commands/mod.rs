//! The commands: each runs the pipeline (sources → inventory → evaluate →
//! report → output) and returns the exit code.

mod draft;
mod explain;
mod history;

use std::io::{IsTerminal, Write};

use crate::cli::{self, AuditArgs, Cli, Command, FailOn, Inputs, PolicyCommand};

use crate::error::Error;
use crate::evaluate;
use crate::findings::Severity;
use crate::inventory::Inventory;
use crate::output::{self, Format};
use crate::policy::{self, Policy};
use crate::report::Report;
use crate::sources;

pub fn run(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Command::Audit(args) => audit(args),
        Command::Policy(PolicyCommand::Check { dir, config }) => policy_check(dir, config),
        Command::Explain(args) => explain::run(args),
        Command::Draft(args) => draft::run(args),
        Command::History(args) => history::run(args),
    }
}

fn policy_check(
    dir: Option<std::path::PathBuf>,
    config: Option<std::path::PathBuf>,
) -> Result<i32, Error> {
    let config = cli::load_config(config.as_deref())?;
    let dir = cli::policy_dir(dir.as_deref(), config.as_ref());
    let policies = policy::load_dir(&dir).map_err(Error::Policy)?;
    let mut out = std::io::stdout().lock();
    for p in &policies {
        let _ = writeln!(
            out,
            "ok  {}  {} ({} grant, {} allow)",
            p.file.display(),
            p.source.id,
            p.grants.len(),
            p.allows.len()
        );
    }
    let _ = writeln!(out, "{} policies, no problems", policies.len());
    Ok(0)
}

/// Reads every source of an audit into one inventory.
pub fn read_inventory(inputs: &Inputs) -> Result<Inventory, Error> {
    let mut inventory = Inventory::new();
    for path in &inputs.csv {
        sources::csv::read_file(path, &mut inventory)?;
    }
    let ldap_config = inputs.config.as_ref().and_then(|c| c.ldap.as_ref());
    let mapping = sources::directory::Mapping::from_config(ldap_config);
    for path in &inputs.ldif {
        sources::ldif::read_file(path, &mapping, &mut inventory)?;
    }
    if let Some(url) = &inputs.ldap {
        sources::ldap::read(url, ldap_config, &mapping, &mut inventory)?;
    }
    if inventory.accounts.is_empty() && inventory.grants.is_empty() {
        return Err(Error::Source(sources::SourceError::new(
            inventory.inputs.join(", "),
            "no accounts and no role grants were read",
        )
        .with_help("an audit of nothing would report nothing: check that the exports are the right files")));
    }
    inventory.finish();
    Ok(inventory)
}

/// Loads policies, reads sources and evaluates: everything but output.
pub fn build_report(inputs: &Inputs) -> Result<Report, Error> {
    let policies: Vec<Policy> = policy::load_dir(&inputs.policies).map_err(Error::Policy)?;
    let inventory = read_inventory(inputs)?;
    let evaluation = evaluate::evaluate(&policies, &inventory, inputs.as_of);
    let mut sources: Vec<_> = policies.iter().map(|p| p.source.clone()).collect();
    sources.extend(evaluation.implicit_sources);
    let mut report = Report {
        as_of: inputs.as_of,
        inputs: inventory.inputs.clone(),
        policy_files: policies
            .iter()
            .map(|p| p.file.display().to_string())
            .collect(),
        accounts: inventory.accounts.len(),
        groups: inventory.groups.len(),
        sources,
        findings: evaluation.findings,
        warnings: evaluation.warnings,
        resolved: Vec::new(),
        excepted: Vec::new(),
        trend: Vec::new(),
    };
    report.sort();
    Ok(report)
}

fn use_color(to_file: bool) -> bool {
    !to_file
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn audit(args: AuditArgs) -> Result<i32, Error> {
    if args.state.is_some() || args.exceptions.is_some() {
        return Err(Error::Usage(
            "--state and --exceptions are not available in this version".into(),
        ));
    }
    let inputs = args.inputs.resolve()?;
    let fail_on = match args.fail_on {
        Some(f) => f,
        None => inputs
            .config
            .as_ref()
            .and_then(|c| c.audit.fail_on.as_deref())
            .and_then(FailOn::from_id)
            .unwrap_or(FailOn::At(Severity::High)),
    };
    let report = build_report(&inputs)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let bytes = output::render(&report, args.format, use_color(args.output.is_some()))
        .map_err(Error::Output)?;
    emit(args.output.as_deref(), &bytes)?;
    if args.format != Format::Table || args.output.is_some() {
        eprintln!(
            "{} findings ({} accounts, {} groups read)",
            report.findings.len(),
            report.accounts,
            report.groups
        );
    }
    let tripped = report.findings.iter().any(|f| fail_on.trips(f.severity));
    Ok(if tripped { 1 } else { 0 })
}

/// Writes output to a file atomically, or to standard output.
pub fn emit(path: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), Error> {
    match path {
        Some(p) => output::write_atomic(p, bytes)
            .map_err(|e| Error::Output(format!("{}: cannot write the report: {e}", p.display()))),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(bytes).and_then(|_| out.flush()) {
                Ok(()) => Ok(()),
                // A closed pipe (`behorig audit | head`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Error::Output(format!(
                    "cannot write to standard output: {e}"
                ))),
            }
        }
    }
}
