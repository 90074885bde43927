//! `behorig history`: the runs recorded in a state file, newest first, with
//! how many findings each found new, still there, and gone.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use serde_json::{json, Value};

use crate::cli::{HistoryArgs, HistoryFormat};
use crate::error::Error;
use crate::state::{RunRow, State};

pub fn run(args: HistoryArgs) -> Result<i32, Error> {
    // The flag, else `state` under [audit], as `audit` finds it.
    let path = match args.state {
        Some(path) => path,
        None => crate::cli::load_config(args.config.as_deref())?
            .and_then(|c| c.audit.state)
            .ok_or_else(|| {
                Error::Usage(
                    "no state file: give --state FILE, or set `state` under [audit] in behorig.toml"
                        .into(),
                )
            })?,
    };
    let mut state = State::open(&path)?;
    let runs = state.runs()?;
    let bytes = match args.format {
        HistoryFormat::Json => {
            let doc = json!({"runs": runs.iter().map(RunRow::to_json).collect::<Vec<Value>>()});
            let mut out = serde_json::to_vec_pretty(&doc)
                .map_err(|e| Error::Output(format!("cannot render JSON: {e}")))?;
            out.push(b'\n');
            out
        }
        HistoryFormat::Table => render_table(&path.display().to_string(), &runs).into_bytes(),
    };
    super::emit(None, &bytes)?;
    Ok(0)
}

fn render_table(file: &str, runs: &[RunRow]) -> String {
    if runs.is_empty() {
        return format!("{file}: inga körningar registrerade\n");
    }
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(80)
        .force_no_tty();
    table.set_header(vec![
        "Nr",
        "Per",
        "Kördes (UTC)",
        "Nya",
        "Kvar",
        "Åtgärdade",
        "Undantag",
    ]);
    let num = |n: i64| Cell::new(n).set_alignment(CellAlignment::Right);
    for r in runs {
        table.add_row(vec![
            num(r.id),
            Cell::new(minutes(&r.as_of)),
            Cell::new(minutes(&r.ran_at)),
            num(r.new),
            num(r.persisting),
            num(r.resolved),
            num(r.excepted),
        ]);
    }
    format!(
        "{file}: {} körning{}, senaste först (Nya + Kvar = fynd i körningen)\n{table}\n",
        runs.len(),
        if runs.len() == 1 { "" } else { "ar" }
    )
}

/// `2026-11-21T06:00:00` → `2026-11-21 06:00`.
fn minutes(time: &str) -> String {
    time.replace('T', " ").chars().take(16).collect()
}
