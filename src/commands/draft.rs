//! `behorig draft`: a report to IMY or IVO for one data source, from a new
//! audit or from the JSON findings of an earlier one.

use std::collections::BTreeMap;

use crate::cli::{self, DraftArgs};
use crate::draft::{self, DraftInput, HistoryRun, Legal, Staff};
use crate::error::Error;
use crate::policy::{self, SourceMeta};
use crate::state::{RunInfo, State};

pub fn run(mut args: DraftArgs) -> Result<i32, Error> {
    args.output = super::output_target(args.output.as_deref())?;
    let (config, sources, as_of, run_time, staff, findings, runs, logs) = match &args.findings {
        Some(path) => {
            let i = &args.inputs;
            if !i.csv.is_empty()
                || !i.ldif.is_empty()
                || i.ldap.is_some()
                || i.as_of.is_some()
                || args.state.is_some()
                || !i.access_log.is_empty()
            {
                return Err(Error::Usage(
                    "--findings replaces the audit: give either --findings or the audit's inputs (--csv, --ldif, --ldap, --as-of, --state, --access-log), not both"
                        .into(),
                ));
            }
            let config = cli::load_config(i.config.as_deref())?;
            let dir = cli::policy_dir(i.policies.as_deref(), config.as_ref());
            let policies = policy::load_dir(&dir).map_err(Error::Policy)?;
            let sources: Vec<SourceMeta> = policies.into_iter().map(|p| p.source).collect();
            let earlier = draft::input::read_findings(path).map_err(Error::Findings)?;
            let (as_of, run_time) = (earlier.as_of, earlier.as_of_time);
            let runs: Vec<HistoryRun> = earlier
                .runs
                .into_iter()
                .map(|as_of| HistoryRun { as_of })
                .collect();
            (
                config,
                sources,
                as_of,
                run_time,
                None,
                earlier.findings,
                runs,
                earlier.logs,
            )
        }
        None => {
            let inputs = args.inputs.resolve()?;
            let loaded = super::load(&inputs)?;
            let mut report =
                super::report_reasoned(&loaded, inputs.as_of, crate::evaluate::Reasoning::Skip);
            super::attach_evidence(&mut report, &loaded.inventory, &inputs)?;
            let as_of_time = super::as_of_time(args.inputs.as_of.is_some(), inputs.as_of);
            let runs = match &args.state {
                Some(path) => history(path, &mut report, as_of_time)?,
                None => Vec::new(),
            };
            for w in &report.warnings {
                crate::ui::warn(w);
            }
            // The run's time of day only when the audit is of today.
            let run_time = args.inputs.as_of.is_none().then_some(as_of_time);
            let names = loaded.inventory.names();
            let staff: BTreeMap<String, Staff> = loaded
                .inventory
                .accounts
                .iter()
                .map(|a| {
                    (
                        a.id.to_string(),
                        Staff {
                            title: a.attr("title", names).map(str::to_string),
                            employment: a.attr("employee_type", names).map(str::to_string),
                        },
                    )
                })
                .collect();
            let (as_of, sources, findings) = (report.as_of, report.sources, report.findings);
            (
                inputs.config,
                sources,
                as_of,
                run_time,
                Some(staff),
                findings,
                runs,
                report.logs,
            )
        }
    };
    let Some(source) = sources.iter().find(|s| s.id == args.source) else {
        let mut known: Vec<&str> = sources.iter().map(|s| s.id.as_str()).collect();
        known.sort_unstable();
        return Err(Error::Usage(format!(
            "unknown source `{}`: the policies describe {}",
            args.source,
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let legal = Legal::load(config.as_ref().and_then(|c| c.drafts.legal.as_deref()))
        .map_err(Error::Config)?;
    let input = DraftInput {
        config: config.as_ref(),
        source,
        findings: &findings,
        as_of,
        legal: &legal,
        no_names: args.no_names,
        run_time,
        staff: staff.as_ref(),
        history: &runs,
        logs: logs.as_ref(),
    };
    let text = draft::draft(args.kind, args.format, &input)?;
    super::emit(args.output.as_deref(), text.as_bytes())?;
    Ok(0)
}

/// Marks the findings new or persisting against the history of runs, as
/// `audit --state` would, and returns the recorded runs. The draft's run is
/// never written: the transaction is dropped, which leaves the history as
/// it was.
fn history(
    path: &std::path::Path,
    report: &mut crate::report::Report,
    as_of: chrono::NaiveDateTime,
) -> Result<Vec<HistoryRun>, Error> {
    let mut state = State::open(path)?;
    let run = RunInfo::now(report, as_of, None);
    let mut pending = state.begin()?;
    pending.record(report, &run)?;
    drop(pending);
    Ok(report
        .trend
        .iter()
        .filter_map(|t| {
            chrono::NaiveDateTime::parse_from_str(&t.as_of, crate::state::TIME_FORMAT).ok()
        })
        .map(|as_of| HistoryRun { as_of })
        .collect())
}
