//! `behorig draft`: a report to IMY or IVO for one data source, from a new
//! audit or from the JSON findings of an earlier one.

use std::collections::BTreeMap;

use crate::cli::{self, DraftArgs};
use crate::draft::{self, DraftError, DraftInput, Legal, Staff};
use crate::error::Error;
use crate::policy::{self, SourceMeta};

pub fn run(args: DraftArgs) -> Result<i32, Error> {
    let (config, sources, as_of, run_time, staff, findings) = match &args.findings {
        Some(path) => {
            let i = &args.inputs;
            if !i.csv.is_empty() || !i.ldif.is_empty() || i.ldap.is_some() || i.as_of.is_some() {
                return Err(Error::Usage(
                    "--findings replaces the audit: give either --findings or the audit's inputs (--csv, --ldif, --ldap, --as-of), not both"
                        .into(),
                ));
            }
            let config = cli::load_config(i.config.as_deref())?;
            let dir = cli::policy_dir(i.policies.as_deref(), config.as_ref());
            let policies = policy::load_dir(&dir).map_err(Error::Policy)?;
            let sources: Vec<SourceMeta> = policies.into_iter().map(|p| p.source).collect();
            let earlier = draft::input::read_findings(path).map_err(Error::Usage)?;
            let (as_of, run_time) = (earlier.as_of, earlier.as_of_time);
            (config, sources, as_of, run_time, None, earlier.findings)
        }
        None => {
            let inputs = args.inputs.resolve()?;
            let loaded = super::load(&inputs)?;
            let report = super::report_from(&loaded, inputs.as_of);
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            // The run's time of day only when the audit is of today.
            let run_time = args
                .inputs
                .as_of
                .is_none()
                .then(|| super::as_of_time(false, inputs.as_of));
            let staff: BTreeMap<String, Staff> = loaded
                .inventory
                .accounts
                .iter()
                .map(|a| {
                    (
                        a.id.to_string(),
                        Staff {
                            title: a.attr("title").map(str::to_string),
                            employment: a.attr("employee_type").map(str::to_string),
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
        history: &[],
    };
    let text = draft::draft(args.kind, args.format, &input).map_err(|e| match e {
        DraftError::Refused(m) | DraftError::Render(m) => Error::Usage(m),
    })?;
    super::emit(args.output.as_deref(), text.as_bytes())?;
    Ok(0)
}
