//! The commands: each runs the pipeline (sources → inventory → evaluate →
//! report → output) and returns the exit code.

mod config;
mod draft;
mod explain;
mod history;
mod plan;

use std::io::{IsTerminal, Write};

use crate::cli::{self, AuditArgs, Cli, Command, Inputs, PolicyCommand};

use crate::error::Error;
use crate::evaluate;
use crate::exceptions;
use crate::findings::{FailOn, Severity, Status};
use crate::inventory::{Inventory, InventoryBuilder};
use crate::output::{self, Format};
use crate::policy::{self, Policy};
use crate::report::Report;
use crate::sources;
use crate::state::{RunInfo, State};
use crate::ui;

pub fn run(cli: Cli) -> Result<i32, Error> {
    ui::set_verbosity(cli.verbosity());
    ui::set_color_choice(cli.color);
    match cli.command {
        Command::Audit(args) => audit(args),
        Command::Config(args) => config::run(args),
        Command::Policy(PolicyCommand::Check { dir, config }) => policy_check(dir, config),
        Command::Explain(args) => explain::run(args),
        Command::Draft(args) => draft::run(args),
        Command::History(args) => history::run(args),
        Command::Plan(args) => plan::run(args),
    }
}

fn policy_check(
    dir: Option<std::path::PathBuf>,
    config: Option<std::path::PathBuf>,
) -> Result<i32, Error> {
    let config = cli::load_config(config.as_deref())?;
    let dir = cli::policy_dir(dir.as_deref(), config.as_ref());
    let policies = policy::load_dir(&dir).map_err(Error::Policy)?;
    // Attributes a condition may name without a warning: the well-known
    // ones and those `[ldap.attributes]` maps them from. Others are fine
    // (any column or directory attribute can be read) unless they look
    // like a misspelling of a known one.
    let mut known: Vec<String> = evaluate::WELL_KNOWN_ATTRIBUTES
        .iter()
        .map(|a| a.to_string())
        .collect();
    if let Some(ldap) = config.as_ref().and_then(|c| c.ldap.as_ref()) {
        for (name, attribute) in &ldap.attributes {
            known.push(name.clone());
            known.push(attribute.to_lowercase());
        }
    }
    for p in &policies {
        for allow in &p.allows {
            for condition in &allow.when {
                let attribute = condition.attribute.as_str();
                if known.iter().any(|k| k == attribute) {
                    continue;
                }
                if let Some(s) = crate::diag::suggest(attribute, known.iter().map(String::as_str)) {
                    crate::say!(
                        "warning: {}:{}: `when.{attribute}` is not a well-known attribute: did you mean `when.{s}`?",
                        p.file.display(),
                        condition.line
                    );
                }
            }
        }
    }
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

/// Reads every source of an audit into one inventory, keeping the
/// attributes in `keep` beyond the well-known ones (all if `None`).
pub fn read_inventory(inputs: &Inputs, keep: Option<Vec<String>>) -> Result<Inventory, Error> {
    let mut inventory = InventoryBuilder::keeping(keep);
    ui::note(format_args!("policies: {}", inputs.policies.display()));
    for path in &inputs.csv {
        let read = Read::start(&inventory);
        sources::csv::read_file(path, &mut inventory)?;
        read.done(&inventory, &path.display().to_string());
    }
    let ldap_config = inputs.config.as_ref().and_then(|c| c.ldap.as_ref());
    let mapping = sources::directory::Mapping::from_config(ldap_config);
    for path in &inputs.ldif {
        let read = Read::start(&inventory);
        sources::ldif::read_file(path, &mapping, &mut inventory)?;
        read.done(&inventory, &path.display().to_string());
    }
    if let Some(url) = &inputs.ldap {
        let read = Read::start(&inventory);
        sources::ldap::read(url, ldap_config, &mapping, &mut inventory)?;
        read.done(&inventory, &crate::state::redact(url));
    }
    if inventory.accounts().is_empty() && inventory.grants.is_empty() {
        return Err(Error::Source(sources::SourceError::new(
            inventory.inputs.join(", "),
            "no accounts and no role grants were read",
        )
        .with_help("an audit of nothing would report nothing: check that the exports are the right files")));
    }
    let started = std::time::Instant::now();
    let inventory = inventory.finish();
    ui::phase("inventory indexed", started);
    Ok(inventory)
}

/// For `-v`: what one source added to the inventory, and how long it took.
struct Read {
    started: std::time::Instant,
    accounts: usize,
    groups: usize,
    grants: usize,
}

impl Read {
    fn start(inventory: &InventoryBuilder) -> Read {
        Read {
            started: std::time::Instant::now(),
            accounts: inventory.accounts().len(),
            groups: inventory.groups().len(),
            grants: inventory.grants.len(),
        }
    }

    fn done(self, inventory: &InventoryBuilder, from: &str) {
        ui::phase(
            format_args!(
                "read {from}: {} accounts, {} groups, {} role grants",
                inventory.accounts().len().saturating_sub(self.accounts),
                inventory.groups().len().saturating_sub(self.groups),
                inventory.grants.len().saturating_sub(self.grants),
            ),
            self.started,
        );
    }
}

/// What an audit reads: the policies and the inventory of every source.
pub struct Loaded {
    pub policies: Vec<Policy>,
    pub inventory: Inventory,
}

/// Loads the policies and reads every source, keeping the account
/// attributes the policies read.
pub fn load(inputs: &Inputs) -> Result<Loaded, Error> {
    load_keeping(inputs, false)
}

/// As [`load`], keeping every account attribute, to show them.
pub fn load_all(inputs: &Inputs) -> Result<Loaded, Error> {
    load_keeping(inputs, true)
}

fn load_keeping(inputs: &Inputs, every_attribute: bool) -> Result<Loaded, Error> {
    let policies: Vec<Policy> = policy::load_dir(&inputs.policies).map_err(Error::Policy)?;
    let keep = (!every_attribute).then(|| policy::attributes_read(&policies));
    let inventory = read_inventory(inputs, keep)?;
    Ok(Loaded {
        policies,
        inventory,
    })
}

/// Evaluates what was loaded into a report whose findings record their
/// reasons (what `explain` shows).
pub fn report_from(loaded: &Loaded, as_of: chrono::NaiveDate) -> Report {
    report_reasoned(loaded, as_of, evaluate::Reasoning::Keep)
}

/// Evaluates what was loaded into a report, its findings recording their
/// reasons or not.
pub fn report_reasoned(
    loaded: &Loaded,
    as_of: chrono::NaiveDate,
    reasoning: evaluate::Reasoning,
) -> Report {
    let started = std::time::Instant::now();
    let evaluation = evaluate::evaluate_with(&loaded.policies, &loaded.inventory, as_of, reasoning);
    ui::phase(
        format_args!("evaluated: {} findings", evaluation.findings.len()),
        started,
    );
    let mut report = report_of(loaded, as_of, evaluation);
    order(&mut report);
    report
}

/// The report of an evaluation, its findings in the order found.
fn report_of(
    loaded: &Loaded,
    as_of: chrono::NaiveDate,
    evaluation: evaluate::Evaluation,
) -> Report {
    let Loaded {
        policies,
        inventory,
    } = loaded;
    let mut sources: Vec<_> = policies.iter().map(|p| p.source.clone()).collect();
    sources.extend(evaluation.implicit.iter().map(|p| p.source.clone()));
    Report {
        as_of,
        inputs: inventory.inputs.clone(),
        policy_files: policies
            .iter()
            .map(|p| p.file.display().to_string())
            .collect(),
        accounts: inventory.accounts.len(),
        groups: inventory.groups.len(),
        sources,
        findings: evaluation.findings,
        members: evaluation.members,
        implicit: evaluation.implicit,
        warnings: inventory
            .warnings
            .iter()
            .cloned()
            .chain(evaluation.warnings)
            .collect(),
        ..Report::default()
    }
}

/// Reads the access logs of `inputs`, if any, and puts the evidence of
/// use on the report's findings (see [`crate::evidence`]).
pub fn attach_evidence(
    report: &mut Report,
    inventory: &Inventory,
    inputs: &Inputs,
) -> Result<(), Error> {
    if inputs.logs.files.is_empty() {
        return Ok(());
    }
    let sources: Vec<String> = report.sources.iter().map(|s| s.id.clone()).collect();
    let (summary, warnings) = crate::evidence::attach(
        &mut report.findings,
        &sources,
        inventory,
        &report.members,
        &inputs.logs,
    )?;
    report.warnings.extend(warnings);
    report.logs = Some(summary);
    Ok(())
}

/// Puts on the report who the accounts of its findings are (their display
/// name, department and title), for the outputs that show it (CSV).
pub fn add_people(report: &mut Report, inventory: &Inventory) {
    let accounts = report.findings.iter().filter_map(|f| f.account.as_deref());
    let people = people_of(accounts, &report.people, inventory);
    put_people(report, people);
}

/// Puts people, sorted by name, on the report: built at once from the
/// sorted names rather than inserted one by one, when it has none yet.
fn put_people(report: &mut Report, people: Vec<(String, crate::report::Person)>) {
    if report.people.is_empty() {
        report.people = people.into_iter().collect();
    } else {
        report.people.extend(people);
    }
}

/// Who the `accounts` are that `known` does not hold yet, each once, in
/// the order of their names.
fn people_of<'a>(
    accounts: impl Iterator<Item = &'a str>,
    known: &std::collections::BTreeMap<String, crate::report::Person>,
    inventory: &Inventory,
) -> Vec<(String, crate::report::Person)> {
    let names = inventory.names();
    // The attributes' names are looked up once, not per person.
    let department = names.find("department");
    let title = names.find("title");
    // The accounts, once each, that have no person yet.
    let mut seen: rustc_hash::FxHashSet<&str> = known.keys().map(String::as_str).collect();
    let wanted: Vec<&str> = accounts.filter(|name| seen.insert(name)).collect();
    drop(seen);
    let person = |name: &str| {
        let account = &inventory.accounts[inventory.account(name)?];
        let text = |attr: Option<crate::intern::Sym>| {
            attr.and_then(|a| account.attrs.get_sym(a))
                .map(|v| names.text(v).to_string())
        };
        Some((
            name.to_string(),
            crate::report::Person {
                display_name: account.display_name.as_deref().map(str::to_string),
                department: text(department),
                title: text(title),
            },
        ))
    };
    // Each look-up reads from far apart in memory: tens of thousands are
    // spread over the cores.
    let threads = if wanted.len() < 4096 {
        1
    } else {
        crate::cores()
    };
    let mut people: Vec<(String, crate::report::Person)> = Vec::with_capacity(wanted.len());
    crate::parallel::each_in_order(
        wanted.len(),
        2048,
        threads,
        |range, _| {
            wanted[range]
                .iter()
                .filter_map(|n| person(n))
                .collect::<Vec<_>>()
        },
        |mut part| {
            people.append(&mut part);
            None
        },
    );
    drop(wanted);
    people.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    people
}

/// Loads policies, reads sources and evaluates: everything but output.
pub fn build_report(inputs: &Inputs) -> Result<Report, Error> {
    build_report_for(inputs, Format::Json)
}

/// As [`build_report`], with what the output `format` shows beyond the
/// findings: the remediation plan on the review page, the people of the
/// findings in CSV.
pub fn build_report_for(inputs: &Inputs, format: Format) -> Result<Report, Error> {
    let with_plan = format == Format::Html;
    let mut loaded = load(inputs)?;
    // No output of an audit shows the reasons; `explain` evaluates its own.
    // The findings are held packed until the inventory is freed: tens of
    // thousands of findings beside the inventory were the audit's peak.
    let started = std::time::Instant::now();
    let (evaluation, packed) =
        evaluate::evaluate_packed(&loaded.policies, &loaded.inventory, inputs.as_of);
    ui::phase(
        format_args!(
            "evaluated: {} findings, held in {:.1} MB",
            packed.len(),
            packed.size() as f64 / 1e6
        ),
        started,
    );
    let mut report = report_of(&loaded, inputs.as_of, evaluation);
    if format == Format::Csv {
        let started = std::time::Instant::now();
        // The people are looked up by name; nothing after needs the
        // memberships but the access logs' evidence.
        if inputs.logs.files.is_empty() {
            loaded.inventory.forget_memberships();
        }
        let people = people_of(
            packed.accounts().flatten(),
            &report.people,
            &loaded.inventory,
        );
        put_people(&mut report, people);
        ui::phase("people of the findings looked up", started);
    }
    // The plan's search grows with the square of the findings: beyond a
    // thousand it would take minutes, and the page goes without it.
    if with_plan && packed.len() <= output::html::PLAN_MAX_FINDINGS {
        report.plan =
            crate::plan::plan(&loaded.policies, &loaded.inventory, inputs.as_of, &[]).ok();
    } else if with_plan {
        report.warnings.push(format!(
            "the review page proposes no changes for more than {} findings ({} here): \
             `behorig plan --source ID` plans one data source at a time",
            output::html::PLAN_MAX_FINDINGS,
            packed.len()
        ));
    }
    if inputs.logs.files.is_empty() {
        let started = std::time::Instant::now();
        let many = packed.len() >= FREE_INVENTORY_FROM;
        if many {
            drop(loaded);
        } else {
            crate::discard(loaded);
        }
        report.findings = unpack(packed)?;
        if many {
            ui::phase("inventory freed, findings unpacked", started);
        }
        order(&mut report);
    } else {
        // The logs are matched against the inventory.
        report.findings = unpack(packed)?;
        order(&mut report);
        attach_evidence(&mut report, &loaded.inventory, inputs)?;
        crate::discard(loaded);
    }
    Ok(report)
}

/// From how many findings an audit frees its inventory before it unpacks
/// them. Below, the findings take a few MB, and freeing a large inventory
/// piece by piece would cost more time than the memory is worth.
const FREE_INVENTORY_FROM: usize = 4096;

/// The findings an evaluation packed, or a failed run if they cannot be
/// read back (a defect: fewer findings must never be reported).
fn unpack(packed: crate::pack::Packed) -> Result<Vec<crate::findings::Finding>, Error> {
    packed.unpack().ok_or_else(|| {
        Error::Source(crate::sources::SourceError::new(
            "behorig",
            "the findings held between evaluation and the report could not be read back; \
             no report is written (this is a defect in behorig: please report it)",
        ))
    })
}

/// Sorts the report into report order.
fn order(report: &mut Report) {
    let started = std::time::Instant::now();
    report.sort();
    ui::phase("report ordered", started);
}

/// The as-of date-time of a run: now when no `--as-of` was given, else the
/// start of the given day (so that runs over fixed dates are repeatable).
pub fn as_of_time(explicit: bool, as_of: chrono::NaiveDate) -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let now = chrono::Local::now().naive_local();
    if explicit {
        as_of.and_time(chrono::NaiveTime::MIN)
    } else {
        now.with_nanosecond(0).unwrap_or(now)
    }
}

/// Whether the table is coloured: `--color`, the environment, and whether
/// it goes to a terminal.
fn use_color(to_file: bool) -> bool {
    ui::use_color(
        ui::color_choice(),
        &ui::ColorEnv::from_process(),
        std::io::stdout().is_terminal(),
        to_file,
    )
}

/// Where `--output` sends a report: `None` for standard output (no flag,
/// or `-`). Checked before anything is read, so that a path that cannot
/// take the report is a set-up mistake (exit 2), not a failed run.
pub fn output_target(
    output: Option<&std::path::Path>,
) -> Result<Option<std::path::PathBuf>, Error> {
    let Some(path) = output else {
        return Ok(None);
    };
    if path.as_os_str() == "-" {
        return Ok(None);
    }
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "--output {}: is a folder\n  help: name the report file, e.g. --output {}",
            path.display(),
            path.join("granskning.json").display()
        )));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if !parent.is_dir() {
        return Err(Error::Usage(format!(
            "--output {}: the folder {} does not exist\n  help: create it first, or write the report elsewhere",
            path.display(),
            parent.display()
        )));
    }
    Ok(Some(path.to_path_buf()))
}

fn audit(mut args: AuditArgs) -> Result<i32, Error> {
    args.output = output_target(args.output.as_deref())?;
    let inputs = args.inputs.resolve()?;
    let audit_config = inputs.config.as_ref().map(|c| &c.audit);
    let fail_on = match args.fail_on {
        Some(f) => f,
        None => audit_config
            .and_then(|c| c.fail_on.as_deref())
            .and_then(FailOn::from_id)
            .unwrap_or(FailOn::At(Severity::High)),
    };
    let state_path = args
        .state
        .clone()
        .or_else(|| audit_config.and_then(|c| c.state.clone()));
    let exceptions_path = args
        .exceptions
        .clone()
        .or_else(|| audit_config.and_then(|c| c.exceptions.clone()));
    // A state file others can read or write is refused before anything
    // is read.
    if let Some(path) = state_path.as_deref() {
        State::check_path(path)?;
    }
    if args.fail_on_new_only && state_path.is_none() {
        return Err(Error::Usage(
            "--fail-on-new-only needs a history: give --state FILE (or `state` under [audit] in behorig.toml)"
                .into(),
        ));
    }
    let fail_on_used = args.fail_on_used || audit_config.is_some_and(|c| c.fail_on_used);
    if fail_on_used && inputs.logs.files.is_empty() {
        return Err(Error::Usage(
            "--fail-on-used (or `fail_on_used` under [audit]) needs access logs: give --access-log FILE (or `access_logs` under [audit] in behorig.toml)"
                .into(),
        ));
    }
    if let Some(only) = args.only {
        if inputs.logs.files.is_empty() {
            return Err(Error::Usage(format!(
                "--only {} needs access logs: give --access-log FILE (or `access_logs` under [audit] in behorig.toml)",
                only.id()
            )));
        }
        if args.format != Format::Table {
            return Err(Error::Usage(format!(
                "--only {} filters the terminal table; the other formats carry `use` on every finding (the review page filters by it: --format html)",
                only.id()
            )));
        }
    }
    let exception_list = match &exceptions_path {
        Some(path) => Some(exceptions::load(path).map_err(Error::Exceptions)?),
        None => None,
    };

    // The review page shows the change that ends each cause.
    let mut report = build_report_for(&inputs, args.format)?;
    if let Some(config) = &inputs.config {
        report.boards = config.organization.boards.clone();
    }
    if let Some(list) = &exception_list {
        let (excepted, uses) = exceptions::apply(list, &mut report.findings, inputs.as_of);
        report.excepted = excepted;
        let source_ids: Vec<&str> = report.sources.iter().map(|s| s.id.as_str()).collect();
        for u in &uses {
            let Some(mut w) = u.warning() else {
                continue;
            };
            // An unused exception is often a misspelt source id.
            if let Some(ds) = u.exception.data_source.as_deref() {
                if u.outcome == exceptions::Outcome::Unused && !source_ids.contains(&ds) {
                    w.push_str(&format!(" (no data source is called `{ds}`"));
                    if let Some(s) = crate::diag::suggest(ds, source_ids.iter().copied()) {
                        w.push_str(&format!(": did you mean `{s}`?"));
                    }
                    w.push(')');
                }
            }
            report.warnings.push(w);
        }
        report.exceptions = Some(uses);
    }

    let mut state = match &state_path {
        Some(path) => Some(State::open_or_create(path)?),
        None => None,
    };
    let pending = match state.as_mut() {
        Some(state) => {
            let run = RunInfo::now(
                &report,
                as_of_time(args.inputs.as_of.is_some(), inputs.as_of),
                exceptions_path.as_deref(),
            );
            let mut pending = state.begin()?;
            pending.record(&mut report, &run)?;
            Some(pending)
        }
        None => None,
    };

    for w in &report.warnings {
        ui::warn(w);
    }
    let to_file = args.output.is_some();
    let style = output::Style {
        color: use_color(to_file),
        width: ui::table_width(to_file),
        only: args.only,
    };
    let started = std::time::Instant::now();
    emit_with(args.output.as_deref(), |out| {
        output::write_styled(&report, args.format, style, args.csv_style, out)
    })?;
    ui::phase(
        format_args!("wrote the {} report", args.format.id()),
        started,
    );
    // The run enters the history only once its report is out.
    if let Some(pending) = pending {
        pending.commit()?;
    }
    if args.format != Format::Table || args.output.is_some() {
        let mut extra = String::new();
        if report.history.is_some() {
            extra.push_str(&format!(
                ", {} new, {} resolved",
                report.count_status(Status::New),
                report.resolved.len()
            ));
        }
        if report.exceptions.is_some() {
            extra.push_str(&format!(", {} excepted", report.excepted.len()));
        }
        ui::info(format_args!(
            "{} findings{extra} ({} accounts, {} groups read)",
            report.findings.len(),
            report.accounts,
            report.groups
        ));
    }
    let tripped = report
        .findings
        .iter()
        .filter(|f| !args.fail_on_new_only || f.status == Some(Status::New))
        .filter(|f| !fail_on_used || crate::evidence::used(f) == Some(true))
        .any(|f| fail_on.trips(f.severity));
    // Tens of thousands of findings take a while to free one by one.
    crate::discard(report);
    Ok(if tripped { 1 } else { 0 })
}

/// Writes output to a file atomically, or to standard output.
pub fn emit(path: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), Error> {
    emit_with(path, |out| out.write_all(bytes))
}

/// [`emit`], with the output written by `write` as it comes.
pub fn emit_with(
    path: Option<&std::path::Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    match path {
        Some(p) => output::write_atomic_with(p, write)
            .map_err(|e| Error::Output(format!("{}: cannot write the report: {e}", p.display()))),
        None => {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            match write(&mut out).and_then(|_| out.flush()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An audit keeps the attributes its policies read and drops the rest;
    /// `explain` keeps them all, to show them.
    #[test]
    fn audits_keep_only_the_attributes_policies_read() {
        let dir = tempfile::tempdir().unwrap();
        let policies = dir.path().join("policies");
        std::fs::create_dir(&policies).unwrap();
        std::fs::write(
            policies.join("fil.toml"),
            "[source]\nid = \"fil\"\nname = \"Filserver\"\ncontroller = \"Socialnämnden\"\n\
             activity = \"socialtjanst\"\ndata_categories = [\"halsa\"]\n\
             data_subject_groups = [\"barn\"]\n\n[[grant]]\ngroup = '^FS-Las$'\nrole = \"Las\"\n\n\
             [[allow]]\nid = \"epost\"\nrole = \"Las\"\nwhen.mail = { regex = '@norrvik\\.se$' }\n",
        )
        .unwrap();
        let csv = dir.path().join("konton.csv");
        std::fs::write(
            &csv,
            "account,mail,telefon,group\nanna,anna@norrvik.se,0300-1234,FS-Las\n",
        )
        .unwrap();
        let inputs = Inputs {
            config: None,
            policies,
            csv: vec![csv],
            ldif: Vec::new(),
            ldap: None,
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            logs: Default::default(),
        };
        let audit = load(&inputs).unwrap();
        let (anna, names) = (&audit.inventory.accounts[0], audit.inventory.names());
        assert_eq!(anna.attr("mail", names), Some("anna@norrvik.se"));
        assert_eq!(anna.attr("telefon", names), None);
        // The allow reads `mail`, so it still covers anna's access.
        assert!(report_from(&audit, inputs.as_of).findings.is_empty());

        let shown = load_all(&inputs).unwrap();
        assert_eq!(
            shown.inventory.accounts[0].attr("telefon", shown.inventory.names()),
            Some("0300-1234")
        );
    }
}
