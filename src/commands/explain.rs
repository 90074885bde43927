//! `behorig explain FINDING_ID`: runs the audit, picks one finding by its id
//! (or a unique prefix) and shows its evidence: the account and its
//! attributes, every group on the path to the grant, where the grant is
//! written, and for each allow of the policy the conditions that held and
//! the ones that failed.

use std::fmt::Write as _;

use crate::cli::ExplainArgs;
use crate::error::Error;
use crate::findings::Finding;

pub fn run(args: ExplainArgs) -> Result<i32, Error> {
    let wanted = args.finding_id.trim().to_lowercase();
    if wanted.is_empty() || !wanted.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Usage(format!(
            "`{}` is not a finding id\n  help: ids are hexadecimal, as in the first column of `behorig audit` (8 characters are enough)",
            args.finding_id
        )));
    }
    let inputs = args.inputs.resolve()?;
    if args.show_records && inputs.logs.files.is_empty() {
        return Err(Error::Usage(
            "--show-records lists events of the access logs: give --access-log FILE (or `access_logs` under [audit])"
                .into(),
        ));
    }
    let loaded = super::load_all(&inputs)?;
    let mut report = super::report_from(&loaded, inputs.as_of);
    super::attach_evidence(&mut report, &loaded.inventory, &inputs)?;
    let matches: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.id.starts_with(&wanted))
        .collect();
    let finding = match matches.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::Usage(format!(
                "no finding `{wanted}` in this audit (as of {}, {} findings)\n  help: explain needs the same inputs and --as-of as the audit that showed the id; ids are in the first column of `behorig audit`",
                inputs.as_of,
                report.findings.len()
            )))
        }
        many => {
            return Err(Error::Usage(format!(
                "`{wanted}` matches {} findings: {}\n  help: give more characters of the id",
                many.len(),
                many.iter()
                    .map(|f| f.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    };
    let mut text =
        crate::rules::explain::explain(&loaded.policies, &loaded.inventory, &report, finding);
    usage_section(&mut text, finding);
    if args.show_records {
        let sources: Vec<String> = report.sources.iter().map(|s| s.id.clone()).collect();
        let events = crate::evidence::events_for(
            finding,
            &sources,
            &loaded.inventory,
            &report.members,
            &inputs.logs,
        )?;
        records_section(&mut text, &events);
    }
    super::emit(None, text.as_bytes())?;
    Ok(0)
}

/// What the access logs say about the finding: counts only.
fn usage_section(out: &mut String, finding: &Finding) {
    let Some(usage) = &finding.usage else {
        return;
    };
    let _ = writeln!(out, "\nAnvändning enligt åtkomstloggarna");
    match usage {
        None => {
            let _ = writeln!(out, "  ingen logg täcker {}", finding.data_source);
        }
        Some(u) if u.events == 0 => {
            let _ = writeln!(out, "  inga händelser: behörigheten har inte använts");
        }
        Some(u) => {
            let _ = writeln!(
                out,
                "  {} händelser, {} olika poster, {} – {}",
                u.events,
                u.records,
                u.first.as_deref().unwrap_or("?"),
                u.last.as_deref().unwrap_or("?")
            );
            if let Some(n) = u.accounts_used {
                let _ = writeln!(out, "  {n} av kontona har använt behörigheten");
            }
        }
    }
}

/// The finding's events, records included (`--show-records`).
fn records_section(out: &mut String, events: &[crate::evidence::Event]) {
    let _ = writeln!(out, "\nHändelser ({})", events.len());
    for e in events {
        let _ = writeln!(
            out,
            "  {}  {}  {}  {}  {}",
            crate::evidence::format_time(e.time),
            crate::text::escape_controls(&e.account),
            crate::text::escape_controls(if e.scope.is_empty() { "-" } else { &e.scope }),
            crate::text::escape_controls(if e.action.is_empty() { "-" } else { &e.action }),
            crate::text::escape_controls(&e.record)
        );
    }
}
