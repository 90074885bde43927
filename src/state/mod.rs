//! The history of runs (`--state FILE`, SQLite): the last stage of an audit
//! with history. It compares a report's findings with those of the previous
//! recorded run (by their stable ids) to mark each one `new` or
//! `persisting` with its `first_seen`, lists the findings that are gone as
//! `resolved`, and records the run.
//!
//! Each run is one `BEGIN IMMEDIATE` transaction, committed only after the
//! report has been written: a run that dies at any point leaves the history
//! as it was, and a second run against the same file waits for the first
//! (up to [`DEFAULT_WAIT`]) instead of interleaving with it.

mod finding_json;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDateTime;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::findings::{Finding, Severity, Status};
use crate::report::{Report, RunContext, TrendPoint};

/// How long a run waits for another run that holds the state file.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// The format of `first_seen` and of a run's as-of time.
pub const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    ran_at       TEXT NOT NULL,
    as_of        TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    inputs       TEXT NOT NULL,
    policies     TEXT NOT NULL,
    exceptions   TEXT,
    summary      TEXT NOT NULL,
    findings     INTEGER NOT NULL,
    new          INTEGER NOT NULL,
    persisting   INTEGER NOT NULL,
    resolved     INTEGER NOT NULL,
    excepted     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    run_id     INTEGER NOT NULL REFERENCES runs(id),
    finding_id TEXT NOT NULL,
    status     TEXT NOT NULL,
    excepted   INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (run_id, finding_id)
);
";

/// A problem with the state file; the message names the file.
#[derive(Debug)]
pub struct StateError(pub String);

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// An open state file.
pub struct State {
    conn: Connection,
    path: PathBuf,
    wait: Duration,
}

/// A file that went into a run, with the SHA-256 of its content.
#[derive(Debug, Clone)]
pub struct FileHash {
    pub file: String,
    pub sha256: Option<String>,
}

impl FileHash {
    pub fn of(file: &str) -> FileHash {
        let sha256 = std::fs::read(file).ok().map(|bytes| {
            Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        });
        FileHash {
            file: file.to_string(),
            sha256,
        }
    }

    fn to_json(&self) -> Value {
        json!({"file": self.file, "sha256": self.sha256})
    }
}

/// What a run records besides its findings.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// When the run ran (UTC, RFC 3339).
    pub ran_at: String,
    /// The audit's as-of date-time: `first_seen` of its new findings.
    pub as_of: NaiveDateTime,
    /// Files and servers read (never a password).
    pub inputs: Vec<String>,
    pub policies: Vec<FileHash>,
    pub exceptions: Option<FileHash>,
}

impl RunInfo {
    /// The record of a run that ran now, of `report`'s inputs and policies,
    /// as of `as_of`, with the exceptions file `exceptions`.
    pub fn now(
        report: &crate::report::Report,
        as_of: NaiveDateTime,
        exceptions: Option<&Path>,
    ) -> RunInfo {
        RunInfo {
            ran_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            as_of,
            inputs: report.inputs.clone(),
            policies: report
                .policy_files
                .iter()
                .map(|f| FileHash::of(f))
                .collect(),
            exceptions: exceptions.map(|p| FileHash::of(&p.display().to_string())),
        }
    }
}

/// One recorded run, as `history` lists it.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: i64,
    pub ran_at: String,
    pub as_of: String,
    pub tool_version: String,
    pub inputs: Value,
    pub policies: Value,
    pub exceptions: Value,
    pub summary: Value,
    pub findings: i64,
    pub new: i64,
    pub persisting: i64,
    pub resolved: i64,
    pub excepted: i64,
}

impl RunRow {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "ran_at": self.ran_at,
            "as_of": self.as_of,
            "tool_version": self.tool_version,
            "findings": self.findings,
            "new": self.new,
            "persisting": self.persisting,
            "resolved": self.resolved,
            "excepted": self.excepted,
            "summary": self.summary,
            "inputs": self.inputs,
            "policies": self.policies,
            "exceptions": self.exceptions,
        })
    }
}

/// Removes `user:password@` from URLs so that no secret is recorded.
pub fn redact(input: &str) -> String {
    let Some(scheme_end) = input.find("://") else {
        return input.to_string();
    };
    let rest = &input[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &input[..scheme_end + 3], &rest[at + 1..]),
        None => input.to_string(),
    }
}

impl State {
    /// Opens the state file, creating it owner-only (0600) when it does not
    /// exist.
    pub fn open_or_create(path: &Path) -> Result<State, StateError> {
        Self::check_path(path)?;
        if !path.exists() {
            create_owner_only(path).map_err(|e| {
                StateError(format!(
                    "{}: cannot create the state file: {e}",
                    path.display()
                ))
            })?;
        }
        Self::open(path)
    }

    /// Refuses a `--state` path that cannot be this run's history: a
    /// folder, or an existing file others can read or write. Nothing is
    /// created or opened.
    pub fn check_path(path: &Path) -> Result<(), StateError> {
        if path.is_dir() {
            return Err(StateError(format!(
                "{}: is a folder, not a state file\n  help: name the file, e.g. --state {}",
                path.display(),
                path.join("state.db").display()
            )));
        }
        if path.exists() {
            Self::refuse_shared(path)?;
        }
        refuse_other_owner(path)
    }

    /// Refuses a state file that others than its owner can read or write:
    /// it holds every finding, with account names, and a file others can
    /// write could hide findings from the next run.
    #[cfg(unix)]
    pub fn refuse_shared(path: &Path) -> Result<(), StateError> {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| {
                StateError(format!(
                    "{}: cannot read the state file: {e}",
                    path.display()
                ))
            })?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(StateError(format!(
            "{}: the state file can be read or written by others (mode {:o})\n  help: run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )));
        }
        Ok(())
    }

    #[cfg(not(unix))]
    pub fn refuse_shared(_path: &Path) -> Result<(), StateError> {
        Ok(())
    }

    /// Opens an existing state file (read and write, so that a run that
    /// was killed midway is rolled back first).
    pub fn open(path: &Path) -> Result<State, StateError> {
        if !path.is_file() {
            return Err(StateError(format!(
                "{}: no such state file\n  help: `behorig audit --state {}` creates it on its first run",
                path.display(),
                path.display()
            )));
        }
        Self::refuse_shared(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| {
            StateError(format!(
                "{}: cannot open the state file: {e}",
                path.display()
            ))
        })?;
        let wait = hooks::lock_wait().unwrap_or(DEFAULT_WAIT);
        conn.busy_timeout(wait).map_err(|e| {
            StateError(format!(
                "{}: cannot open the state file: {e}",
                path.display()
            ))
        })?;
        Ok(State {
            conn,
            path: path.to_path_buf(),
            wait,
        })
    }

    /// Checks, or on a new file sets up, the schema. Runs inside the
    /// caller's transaction.
    fn ensure_schema(conn: &Connection) -> Result<Result<(), String>, rusqlite::Error> {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        if version == 0 && tables == 0 {
            conn.execute_batch(SCHEMA)?;
            conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            return Ok(Ok(()));
        }
        if version == SCHEMA_VERSION {
            return Ok(Ok(()));
        }
        if version > SCHEMA_VERSION {
            return Ok(Err(format!(
                "was written by a newer behorig (state format {version}, this version reads {SCHEMA_VERSION})"
            )));
        }
        Ok(Err(
            "is an SQLite database, but not a behorig state file".to_string()
        ))
    }

    /// Starts recording a run: takes the write lock (waiting for another
    /// run if need be) and reads the previous run.
    pub fn begin(&mut self) -> Result<Pending<'_>, StateError> {
        let path = self.path.clone();
        let wait = self.wait;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| {
                StateError(format!(
                    "{}: {}",
                    path.display(),
                    describe_open_error(&e, wait)
                ))
            })?;
        let fail = |doing: &str, e: rusqlite::Error| -> StateError {
            if is_busy(&e) || e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
                return StateError(format!(
                    "{}: {}",
                    path.display(),
                    describe_open_error(&e, wait)
                ));
            }
            StateError(format!(
                "{}: cannot {doing} the state file: {e}",
                path.display()
            ))
        };
        match Self::ensure_schema(&tx).map_err(|e| fail("read", e))? {
            Ok(()) => {}
            Err(problem) => {
                return Err(StateError(format!(
                    "{}: {problem}\n  help: give a new file name to start a history",
                    path.display()
                )))
            }
        }
        let previous: Option<(i64, String)> = tx
            .query_row(
                "SELECT id, as_of FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| fail("read", e))?;
        let mut previous_findings: Vec<(String, String, String)> = Vec::new();
        if let Some((id, _)) = &previous {
            let mut stmt = tx
                .prepare(
                    "SELECT finding_id, first_seen, data FROM findings WHERE run_id = ?1 ORDER BY rowid",
                )
                .map_err(|e| fail("read", e))?;
            let rows = stmt
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| fail("read", e))?;
            for row in rows {
                previous_findings.push(row.map_err(|e| fail("read", e))?);
            }
        }
        Ok(Pending {
            tx,
            path,
            previous,
            previous_findings,
        })
    }

    /// Every recorded run, newest first.
    pub fn runs(&mut self) -> Result<Vec<RunRow>, StateError> {
        let path = self.path.clone();
        let wait = self.wait;
        let fail = |e: rusqlite::Error| -> StateError {
            StateError(format!(
                "{}: {}",
                path.display(),
                describe_open_error(&e, wait)
            ))
        };
        // A read transaction: a run that is being written is not seen half.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(fail)?;
        match Self::check_schema_read_only(&tx).map_err(fail)? {
            Ok(true) => {}
            // Created by a run that did not complete: no runs yet.
            Ok(false) => return Ok(Vec::new()),
            Err(problem) => return Err(self_schema_error(&path, problem)),
        }
        let mut stmt = tx
            .prepare(
                "SELECT id, ran_at, as_of, tool_version, inputs, policies, exceptions, summary,
                        findings, new, persisting, resolved, excepted
                 FROM runs ORDER BY id DESC",
            )
            .map_err(fail)?;
        let parse = |s: Option<String>| -> Value {
            s.and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or(Value::Null)
        };
        let rows = stmt
            .query_map([], |r| {
                Ok(RunRow {
                    id: r.get(0)?,
                    ran_at: r.get(1)?,
                    as_of: r.get(2)?,
                    tool_version: r.get(3)?,
                    inputs: parse(r.get(4)?),
                    policies: parse(r.get(5)?),
                    exceptions: parse(r.get(6)?),
                    summary: parse(r.get(7)?),
                    findings: r.get(8)?,
                    new: r.get(9)?,
                    persisting: r.get(10)?,
                    resolved: r.get(11)?,
                    excepted: r.get(12)?,
                })
            })
            .map_err(fail)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row.map_err(fail)?);
        }
        Ok(out)
    }

    /// `Ok(true)` for a state file, `Ok(false)` for an empty database.
    fn check_schema_read_only(conn: &Connection) -> Result<Result<bool, String>, rusqlite::Error> {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        Ok(match version {
            SCHEMA_VERSION => Ok(true),
            0 if tables == 0 => Ok(false),
            v if v > SCHEMA_VERSION => Err(format!(
                "was written by a newer behorig (state format {v}, this version reads {SCHEMA_VERSION})"
            )),
            _ => Err("is an SQLite database, but not a behorig state file".into()),
        })
    }
}

fn self_schema_error(path: &Path, problem: String) -> StateError {
    StateError(format!(
        "{}: {problem}\n  help: `behorig audit --state {}` records runs in it",
        path.display(),
        path.display()
    ))
}

fn describe_open_error(e: &rusqlite::Error, wait: Duration) -> String {
    if is_busy(e) {
        format!(
            "another behorig run is using the state file (waited {} s)\n  help: runs that share a state file must not overlap: schedule them apart, or give each its own --state",
            wait.as_secs_f64().round()
        )
    } else if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
        "not a behorig state file (not an SQLite database)\n  help: give a new file name to start a history, or the file an earlier `audit --state` wrote".to_string()
    } else {
        format!("cannot use the state file: {e}")
    }
}

/// Refuses a run whose user is not the history's owner: the state file
/// (or, for a new one, its folder, when the run is root's) belongs to
/// another user. SQLite would leave a journal owned by this run's user
/// beside the file, which the scheduled runs (as the owner) could not
/// open, and a state file created by root in the service user's folder
/// would lock that user out.
#[cfg(target_os = "linux")]
fn refuse_other_owner(path: &Path) -> Result<(), StateError> {
    use std::os::unix::fs::MetadataExt;
    // The process's effective user owns its own /proc entry.
    let Ok(me) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return Ok(());
    };
    let (what, owner) = match std::fs::metadata(path) {
        Ok(m) => ("state file", m.uid()),
        Err(_) if me == 0 => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            match std::fs::metadata(dir) {
                Ok(m) => ("folder of the state file", m.uid()),
                Err(_) => return Ok(()),
            }
        }
        Err(_) => return Ok(()),
    };
    if owner == me {
        return Ok(());
    }
    let owner_name = user_name(owner);
    let name = owner_name.clone().unwrap_or_else(|| owner.to_string());
    Err(StateError(format!(
        "{}: the {what} belongs to the user {name} (uid {owner}), and this run is {} (uid {me}): \
         the history would get files its owner's runs cannot open\n  \
         help: run behorig as {name}, e.g. `runuser -u {} -- behorig audit ...`, or give another --state",
        path.display(),
        user_name(me).unwrap_or_else(|| me.to_string()),
        owner_name.as_deref().unwrap_or("OWNER"),
    )))
}

#[cfg(not(target_os = "linux"))]
fn refuse_other_owner(_path: &Path) -> Result<(), StateError> {
    Ok(())
}

/// The name of the user `uid` in /etc/passwd.
#[cfg(target_os = "linux")]
fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?;
        (id.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

#[cfg(unix)]
fn create_owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        // Another run created it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_owner_only(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .open(path)
        .map(|_| ())
}

/// A run being recorded: the write lock is held until [`Pending::commit`];
/// dropping it leaves the history as it was.
pub struct Pending<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
    previous: Option<(i64, String)>,
    /// (id, first_seen, finding as JSON) of the previous run.
    previous_findings: Vec<(String, String, String)>,
}

impl Pending<'_> {
    fn fail(&self, e: rusqlite::Error) -> StateError {
        StateError(format!(
            "{}: cannot write the state file: {e}",
            self.path.display()
        ))
    }

    /// Marks every finding (and excepted finding) `new` or `persisting`
    /// with its `first_seen`, fills `resolved` and the run context, and
    /// writes the run. The trend includes this run.
    pub fn record(&mut self, report: &mut Report, run: &RunInfo) -> Result<(), StateError> {
        let as_of = run.as_of.format(TIME_FORMAT).to_string();
        if let Some((id, previous)) = &self.previous {
            if previous.as_str() > as_of.as_str() {
                report.warnings.push(format!(
                    "{}: this run is as of {as_of}, before run {id} (as of {previous}): findings are compared with the run recorded last, so ages may look negative",
                    self.path.display()
                ));
            }
        }
        let before: HashMap<&str, &str> = self
            .previous_findings
            .iter()
            .map(|(id, first, _)| (id.as_str(), first.as_str()))
            .collect();
        let mark = |f: &mut Finding| match before.get(f.id.as_str()) {
            Some(first) => {
                f.status = Some(Status::Persisting);
                f.first_seen = Some((*first).to_string());
            }
            None => {
                f.status = Some(Status::New);
                f.first_seen = Some(as_of.clone());
            }
        };
        report.findings.iter_mut().for_each(mark);
        report.excepted.iter_mut().for_each(mark);
        // Use the access logs show after the previous run's as-of time.
        if let Some((_, previous)) = &self.previous {
            for f in report.findings.iter_mut().chain(report.excepted.iter_mut()) {
                if let Some(Some(usage)) = &f.usage {
                    let after = usage
                        .last
                        .as_deref()
                        .is_some_and(|last| last > previous.as_str());
                    f.used_since_last_run = Some(after);
                }
            }
        }
        let now: std::collections::HashSet<&str> = report
            .findings
            .iter()
            .chain(report.excepted.iter())
            .map(|f| f.id.as_str())
            .collect();
        let mut resolved = Vec::new();
        for (id, first, data) in &self.previous_findings {
            if now.contains(id.as_str()) {
                continue;
            }
            let mut f = finding_json::parse(data).ok_or_else(|| {
                StateError(format!(
                    "{}: the previous run's finding `{id}` cannot be read\n  help: the file may have been written by another version of behorig; give a new file name to start a history",
                    self.path.display()
                ))
            })?;
            f.status = None;
            f.first_seen = Some(first.clone());
            resolved.push(f);
        }
        report.resolved = resolved;
        report.resolved.sort_by(|a, b| {
            a.data_source
                .cmp(&b.data_source)
                .then_with(|| a.report_cmp(b))
        });

        let new = report
            .findings
            .iter()
            .filter(|f| f.status == Some(Status::New))
            .count();
        let persisting = report.findings.len() - new;
        let summary = report.summary_json();
        self.tx
            .execute(
                "INSERT INTO runs (ran_at, as_of, tool_version, inputs, policies, exceptions, summary,
                                   findings, new, persisting, resolved, excepted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    run.ran_at,
                    as_of,
                    env!("CARGO_PKG_VERSION"),
                    json!(run.inputs.iter().map(|i| redact(i)).collect::<Vec<_>>()).to_string(),
                    Value::Array(run.policies.iter().map(FileHash::to_json).collect()).to_string(),
                    run.exceptions.as_ref().map(|e| e.to_json().to_string()),
                    summary.to_string(),
                    report.findings.len() as i64,
                    new as i64,
                    persisting as i64,
                    report.resolved.len() as i64,
                    report.excepted.len() as i64,
                ],
            )
            .map_err(|e| self.fail(e))?;
        let run_id = self.tx.last_insert_rowid();
        {
            let mut stmt = self
                .tx
                .prepare(
                    "INSERT INTO findings (run_id, finding_id, status, excepted, first_seen, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(|e| self.fail(e))?;
            for (f, excepted) in report
                .findings
                .iter()
                .map(|f| (f, false))
                .chain(report.excepted.iter().map(|f| (f, true)))
            {
                let data = serde_json::to_string(f).map_err(|e| {
                    StateError(format!(
                        "{}: cannot record finding `{}`: {e}",
                        self.path.display(),
                        f.id
                    ))
                })?;
                let status = match f.status {
                    Some(Status::Persisting) => "persisting",
                    _ => "new",
                };
                stmt.execute(params![
                    run_id,
                    f.id,
                    status,
                    excepted,
                    f.first_seen.as_deref().unwrap_or(as_of.as_str()),
                    data
                ])
                .map_err(|e| {
                    StateError(format!(
                        "{}: cannot write the state file: {e}",
                        self.path.display()
                    ))
                })?;
            }
        }
        report.trend = self.trend()?;
        report.history = Some(RunContext {
            run_id,
            as_of: run.as_of,
            previous_run: self
                .previous
                .as_ref()
                .map(|(id, as_of)| (*id, as_of.clone())),
        });
        Ok(())
    }

    fn trend(&self) -> Result<Vec<TrendPoint>, StateError> {
        let mut stmt = self
            .tx
            .prepare("SELECT as_of, findings, summary FROM runs ORDER BY id")
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (as_of, findings, summary) = row.map_err(|e| self.fail(e))?;
            let summary: Value = serde_json::from_str(&summary).unwrap_or(Value::Null);
            let mut by_severity = BTreeMap::new();
            if let Some(m) = summary.get("by_severity").and_then(Value::as_object) {
                for (k, v) in m {
                    if let (Some(s), Some(n)) = (Severity::from_id(k), v.as_u64()) {
                        by_severity.insert(s, n as usize);
                    }
                }
            }
            out.push(TrendPoint {
                as_of,
                findings: findings.max(0) as usize,
                by_severity,
            });
        }
        Ok(out)
    }

    /// Makes the run part of the history.
    pub fn commit(self) -> Result<(), StateError> {
        hooks::pause_before_commit();
        let path = self.path.clone();
        self.tx.commit().map_err(|e| {
            StateError(format!(
                "{}: cannot write the state file: {e}",
                path.display()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials_in_urls() {
        assert_eq!(
            redact("ldap://svc:hemligt@dc1.example.se:389/dc=x"),
            "ldap://dc1.example.se:389/dc=x"
        );
        assert_eq!(redact("konton.csv"), "konton.csv");
        assert_eq!(redact("ldaps://dc1:636"), "ldaps://dc1:636");
    }
}

/// What the tests steer a run with, read from the environment only in
/// builds with the `test-hooks` feature (the tests' builds): release
/// builds wait for the lock as long as [`DEFAULT_WAIT`] and never pause.
mod hooks {
    use std::time::Duration;

    #[cfg(feature = "test-hooks")]
    fn millis(name: &str) -> Option<Duration> {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
    }

    /// `BEHORIG_STATE_WAIT_MS`: how long to wait for another run's lock.
    pub fn lock_wait() -> Option<Duration> {
        #[cfg(feature = "test-hooks")]
        {
            millis("BEHORIG_STATE_WAIT_MS")
        }
        #[cfg(not(feature = "test-hooks"))]
        {
            None
        }
    }

    /// `BEHORIG_TEST_PAUSE_BEFORE_COMMIT_MS`: stops the run with
    /// everything written but not committed, so that tests can kill it or
    /// start another run there.
    pub fn pause_before_commit() {
        #[cfg(feature = "test-hooks")]
        if let Some(pause) = millis("BEHORIG_TEST_PAUSE_BEFORE_COMMIT_MS") {
            crate::say!("state: run written, not yet committed");
            std::thread::sleep(pause);
        }
    }
}
