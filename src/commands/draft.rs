//! `behorig draft`: a report to IMY or IVO for one data source, from a new
//! audit or from the JSON findings of an earlier one.

use crate::cli::{self, DraftArgs};
use crate::draft::{self, DraftError, DraftInput, Legal};
use crate::error::Error;
use crate::policy::{self, SourceMeta};

pub fn run(mut args: DraftArgs) -> Result<i32, Error> {
    args.output = super::output_target(args.output.as_deref())?;
    let (config, sources, as_of, findings) = match &args.findings {
        Some(path) => {
            let i = &args.inputs;
            if !i.csv.is_empty()
                || !i.ldif.is_empty()
                || i.ldap.is_some()
                || i.as_of.is_some()
                || !i.access_log.is_empty()
            {
                return Err(Error::Usage(
                    "--findings replaces the audit: give either --findings or the audit's inputs (--csv, --ldif, --ldap, --as-of, --access-log), not both"
                        .into(),
                ));
            }
            let config = cli::load_config(i.config.as_deref())?;
            let dir = cli::policy_dir(i.policies.as_deref(), config.as_ref());
            let policies = policy::load_dir(&dir).map_err(Error::Policy)?;
            let sources: Vec<SourceMeta> = policies.into_iter().map(|p| p.source).collect();
            let (as_of, findings) = draft::input::read_findings(path).map_err(Error::Usage)?;
            (config, sources, as_of, findings)
        }
        None => {
            let inputs = args.inputs.resolve()?;
            let report = super::build_report(&inputs)?;
            for w in &report.warnings {
                crate::say!("warning: {w}");
            }
            (inputs.config, report.sources, report.as_of, report.findings)
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
    };
    let text = draft::draft(args.kind, args.format, &input).map_err(|e| match e {
        DraftError::Refused(m) | DraftError::Render(m) => Error::Usage(m),
    })?;
    super::emit(args.output.as_deref(), text.as_bytes())?;
    Ok(0)
}
