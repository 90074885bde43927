//! `behorig plan`: the changes that end the findings, proven on a copy of
//! the inventory before they are printed.

use crate::cli::PlanArgs;
use crate::error::Error;
use crate::plan::{self, render};

pub fn run(mut args: PlanArgs) -> Result<i32, Error> {
    args.output = super::output_target(args.output.as_deref())?;
    let inputs = args.inputs.resolve()?;
    let exceptions_path = args.exceptions.clone().or_else(|| {
        inputs
            .config
            .as_ref()
            .and_then(|c| c.audit.exceptions.clone())
    });
    let exceptions = match &exceptions_path {
        Some(path) => crate::exceptions::load(path).map_err(Error::Exceptions)?,
        None => Vec::new(),
    };
    let loaded = super::load(&inputs)?;
    let known: Vec<&str> = loaded
        .policies
        .iter()
        .map(|p| p.source.id.as_str())
        .collect();
    for s in &args.source {
        if !known.contains(&s.as_str()) {
            let mut message = format!("no policy describes a data source called `{s}`");
            if let Some(near) = crate::diag::suggest(s, known.iter().copied()) {
                message.push_str(&format!(": did you mean `{near}`?"));
            } else {
                message.push_str(&format!(": the sources are {}", known.join(", ")));
            }
            return Err(Error::Usage(message));
        }
    }
    let plan = plan::plan_except(
        &loaded.policies,
        &loaded.inventory,
        inputs.as_of,
        &args.source,
        &exceptions,
    )
    .map_err(|e| {
        Error::Output(format!(
            "the plan failed its own proof and was not written: {}",
            e.0
        ))
    })?;
    let bytes = render::render(&plan, args.format).map_err(Error::Usage)?;
    super::emit(args.output.as_deref(), &bytes)?;
    let fixed: usize = plan.changes.iter().map(|c| c.fixes.len()).sum();
    eprintln!(
        "{} changes end {fixed} findings ({} need a decision, {} not fixable); after the plan: {} findings, {} allowed accesses lost",
        plan.changes.len(),
        plan.needs_decision.len(),
        plan.not_fixable.len(),
        plan.after.findings,
        plan.after.allowed_access_lost
    );
    Ok(0)
}
