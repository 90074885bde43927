//! Evidence of use: after evaluation, the access logs are streamed once and
//! each finding is told whether the access it is about was used (events,
//! distinct records, first and last time). This stage sits between
//! evaluation and output.
//!
//! Memory does not grow with the log: counters are kept per (account,
//! data source, scope) only for the accounts findings are about (and the
//! accounts under `broad-group` and `too-many-accounts` findings), with
//! the distinct records of each as 64-bit hashes. Rows for accounts or
//! sources the audit does not know are counted into one warning. Record
//! ids leave this module only through [`events_for`], which `explain
//! --show-records` uses.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use chrono::{NaiveDate, NaiveDateTime};
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use serde::{Deserialize, Serialize};

use crate::findings::{Finding, Rule};
use crate::inventory::{AccountId, GroupId, Inventory};
// Names, sources and scopes are matched in lower case.
use crate::sources::access_log::{self, LogEvent};
use crate::sources::SourceError;
use crate::text::lowercase as fold;

/// How the access a finding is about was used, by the logs (`"use"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Usage {
    /// Log rows that count for the finding.
    pub events: u64,
    /// Distinct record ids among them.
    pub records: u64,
    /// The first and last of those rows (`YYYY-MM-DDTHH:MM:SS`).
    pub first: Option<String>,
    pub last: Option<String>,
    /// For findings about many accounts: how many of them have events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts_used: Option<u64>,
}

impl Usage {
    pub fn used(&self) -> bool {
        self.events > 0
    }
}

/// Whether a finding's access was used: `Some(true)` used, `Some(false)`
/// not used by logs that cover its source, `None` when nothing is known.
pub fn used(f: &Finding) -> Option<bool> {
    f.usage.as_ref()?.as_deref().map(Usage::used)
}

/// Reads `"use"` as present (`Some`) even when it is `null`, so that a
/// finding from JSON keeps "no log covers the source" apart from "no log
/// was read".
pub fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Usage>>, D::Error> {
    Option::<Usage>::deserialize(d).map(Some)
}

/// The access logs an audit reads and the window of evidence.
#[derive(Debug, Clone, Default)]
pub struct LogInputs {
    pub files: Vec<PathBuf>,
    /// Rows before this day are not evidence (they are still checked).
    pub since: Option<NaiveDate>,
}

/// What was read from the logs, for the report's `run` and the drafts.
#[derive(Debug, Clone, Default)]
pub struct LogSummary {
    pub files: Vec<String>,
    pub rows: u64,
    /// The first and last time among the rows in the window.
    pub first: Option<NaiveDateTime>,
    pub last: Option<NaiveDateTime>,
    pub since: Option<NaiveDate>,
    /// The counters behind the findings' evidence, for totals over many
    /// findings that count each log row once ([`LogSummary::union`]).
    /// Empty when the summary was read back from a report.
    index: EvidenceIndex,
}

impl LogSummary {
    /// A summary read back from a report's `run.access_logs` (no counters).
    pub fn from_report(
        since: Option<NaiveDate>,
        first: Option<NaiveDateTime>,
        last: Option<NaiveDateTime>,
    ) -> LogSummary {
        LogSummary {
            since,
            first,
            last,
            ..LogSummary::default()
        }
    }

    /// The days the evidence covers: from `--log-since` (or the first row)
    /// to the last row.
    pub fn window(&self) -> Option<(NaiveDate, NaiveDate)> {
        let last = self.last?.date();
        let first = match self.since {
            Some(since) => since,
            None => self.first?.date(),
        };
        Some((first.min(last), last))
    }

    /// The use of `source` by `wanted` (account, scope of a finding; `None`
    /// or `*` for the whole source), each log row counted once however
    /// many of the findings it counts for, and each record once however
    /// many accounts opened it. `None` when the counters are not at hand
    /// (a summary read back from a report).
    pub fn union<'a>(
        &self,
        source: &str,
        wanted: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    ) -> Option<Usage> {
        if !self.index.present {
            return None;
        }
        // Per account: `None` when every row of the source counts.
        let mut scopes: BTreeMap<String, Option<FxHashSet<String>>> = BTreeMap::new();
        for (account, scope) in wanted {
            let entry = scopes
                .entry(fold(account.trim()).into_owned())
                .or_insert_with(|| Some(FxHashSet::default()));
            match scope.map(str::trim) {
                None | Some("*") | Some("") => *entry = None,
                Some(s) => {
                    if let Some(set) = entry {
                        set.insert(fold(s).into_owned());
                    }
                }
            }
        }
        let source = fold(source.trim()).into_owned();
        let mut tally = Tally::default();
        for (account, wanted_scopes) in &scopes {
            let Some(counters) = self.index.counters.get(&(source.clone(), account.clone())) else {
                continue;
            };
            tally.add_account(counters.iter().filter_map(|(scope, c)| {
                let counts = match (wanted_scopes, scope) {
                    (None, _) | (_, RowScope::None) => true,
                    (Some(set), RowScope::Named(s)) => set.contains(s),
                    (Some(_), RowScope::Other) => false,
                };
                counts.then_some(c)
            }));
        }
        Some(tally.usage(true))
    }
}

/// Counters summed into one finding's (or one draft's) use: each counter
/// holds rows no other counter holds, so events add up; records are
/// distinct across counters and accounts.
#[derive(Default)]
struct Tally {
    events: u64,
    first: Option<NaiveDateTime>,
    last: Option<NaiveDateTime>,
    records: FxHashSet<u64>,
    accounts_used: u64,
}

impl Tally {
    /// Adds the counters of one account that count.
    fn add_account<'c>(&mut self, counters: impl IntoIterator<Item = &'c Counter>) {
        let mut any = false;
        for c in counters {
            any |= c.events > 0;
            self.events += c.events;
            self.first = match (self.first, c.first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            self.last = self.last.max(c.last);
            self.records.extend(c.records.iter().copied());
        }
        if any {
            self.accounts_used += 1;
        }
    }

    /// The use; `accounts_used` for findings about many accounts.
    fn usage(self, accounts_used: bool) -> Usage {
        Usage {
            events: self.events,
            records: self.records.len() as u64,
            first: self.first.map(format_time),
            last: self.last.map(format_time),
            accounts_used: accounts_used.then_some(self.accounts_used),
        }
    }
}

/// The scope of the log rows a counter holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RowScope {
    /// Rows without a scope: they count for every finding of the source.
    None,
    /// Rows whose scope no finding has.
    Other,
    /// Rows of this (folded) scope.
    Named(String),
}

/// The counters of [`attach`], kept for [`LogSummary::union`]: by (folded
/// source id, folded account name), one counter per scope of rows.
#[derive(Debug, Clone, Default)]
struct EvidenceIndex {
    present: bool,
    counters: FxHashMap<(String, String), Vec<(RowScope, Counter)>>,
}

pub fn format_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Scope slot of a row without a scope.
const NO_SCOPE: u32 = 0;
/// Scope slot of a row whose scope no finding has.
const OTHER_SCOPE: u32 = 1;

#[derive(Debug, Clone, Default)]
struct Counter {
    events: u64,
    first: Option<NaiveDateTime>,
    last: Option<NaiveDateTime>,
    records: FxHashSet<u64>,
}

/// One finding's accounts and the scope its rows must have.
struct Wanted {
    source: u32,
    accounts: Vec<u32>,
    /// `None`: every row of the source counts (the finding has no scope,
    /// or `*`).
    scope: Option<u32>,
}

/// Tells which counter a log row goes to.
struct Matcher {
    /// Folded account name → account slot.
    accounts: FxHashMap<String, u32>,
    /// The same by the hash of the name ([`name_hash`]), to look rows up
    /// with the hash computed once; the name is still compared.
    by_hash: FxHashMap<u64, Vec<u32>>,
    /// Folded names by slot.
    names: Vec<String>,
    /// Folded data source ids → slot.
    sources: FxHashMap<String, u32>,
    /// Folded scopes of findings → scope slot (from 2).
    scopes: FxHashMap<String, u32>,
    wanted: Vec<Wanted>,
}

/// The accounts under a group, directly or through nested groups.
fn accounts_under(inventory: &Inventory, group: GroupId) -> Vec<AccountId> {
    let mut reached = vec![false; inventory.groups.len()];
    let mut queue = vec![group];
    reached[group.index()] = true;
    while let Some(g) = queue.pop() {
        for &child in &inventory.groups[g].children {
            if !reached[child.index()] {
                reached[child.index()] = true;
                queue.push(child);
            }
        }
    }
    inventory
        .accounts
        .iter()
        .enumerate()
        .filter(|(_, a)| a.groups().any(|g| reached[g.index()]))
        .map(|(i, _)| AccountId::at(i))
        .collect()
}

impl Matcher {
    /// The matcher of `findings` on the audit's `sources`; `members` gives
    /// the accounts of `too-many-accounts` findings.
    fn new(
        findings: &[&Finding],
        sources: &[String],
        inventory: &Inventory,
        members: &BTreeMap<String, Vec<AccountId>>,
    ) -> Matcher {
        let mut m = Matcher {
            accounts: FxHashMap::default(),
            by_hash: FxHashMap::default(),
            names: Vec::new(),
            sources: sources
                .iter()
                .enumerate()
                .map(|(i, s)| (fold(s).into_owned(), i as u32))
                .collect(),
            scopes: FxHashMap::default(),
            wanted: Vec::with_capacity(findings.len()),
        };
        let mut under: FxHashMap<GroupId, Vec<AccountId>> = FxHashMap::default();
        for f in findings {
            let source = m.source(&f.data_source).unwrap_or(u32::MAX);
            let names: Vec<String> = match (&f.account, f.rule) {
                (Some(a), _) => vec![a.clone()],
                (None, Rule::BroadGroup) => {
                    match f.group.as_deref().and_then(|g| inventory.group(g)) {
                        Some(g) => under
                            .entry(g)
                            .or_insert_with(|| accounts_under(inventory, g))
                            .iter()
                            .map(|&a| inventory.accounts[a].id.to_string())
                            .collect(),
                        None => Vec::new(),
                    }
                }
                (None, _) => members
                    .get(&f.id)
                    .map(|ids| {
                        ids.iter()
                            .map(|&a| inventory.accounts[a].id.to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            let accounts: Vec<u32> = names
                .iter()
                .map(|n| {
                    let next = m.accounts.len() as u32;
                    *m.accounts.entry(fold(n).into_owned()).or_insert(next)
                })
                .collect();
            let scope = match f.scope.as_deref().map(str::trim) {
                None | Some("*") | Some("") => None,
                Some(s) => {
                    let next = m.scopes.len() as u32 + 2;
                    Some(*m.scopes.entry(fold(s).into_owned()).or_insert(next))
                }
            };
            for (name, slot) in names.iter().zip(&accounts) {
                let name = fold(name).into_owned();
                if m.names.len() <= *slot as usize {
                    m.by_hash.entry(name_hash(&name)).or_default().push(*slot);
                    m.names.push(name);
                }
            }
            m.wanted.push(Wanted {
                source,
                accounts,
                scope,
            });
        }
        m
    }

    fn source(&self, id: &str) -> Option<u32> {
        self.sources.get(fold(id.trim()).as_ref()).copied()
    }

    /// The slot of the account whose folded name is `folded`, of hash
    /// `hash`.
    fn account(&self, folded: &str, hash: u64) -> Option<u32> {
        self.by_hash
            .get(&hash)?
            .iter()
            .copied()
            .find(|&slot| self.names[slot as usize] == folded)
    }

    fn scope(&self, scope: &str) -> u32 {
        if scope.is_empty() {
            return NO_SCOPE;
        }
        self.scopes
            .get(fold(scope).as_ref())
            .copied()
            .unwrap_or(OTHER_SCOPE)
    }
}

fn name_hash(name: &str) -> u64 {
    let mut h = FxHasher::default();
    name.hash(&mut h);
    h.finish()
}

/// The account name in a log's `DOMAIN\\name` or `name@domain`, as
/// Windows logs and journal systems write the user: the part without the
/// domain. `None` for a name without a domain.
fn without_domain(name: &str) -> Option<&str> {
    let short = match (name.rfind('\\'), name.find('@')) {
        (Some(i), _) => &name[i + 1..],
        (None, Some(i)) => &name[..i],
        (None, None) => return None,
    };
    (!short.is_empty()).then_some(short)
}

fn record_hash(record: &str) -> u64 {
    let mut h = FxHasher::default();
    record.hash(&mut h);
    h.finish()
}

/// Rows the audit cannot place, for one warning.
#[derive(Default)]
struct Unplaced {
    /// Rows whose account is named with its domain and was found by the
    /// name without it.
    qualified: u64,
    qualified_example: Option<String>,
    accounts: u64,
    account_example: Option<String>,
    sources: u64,
    source_example: Option<String>,
}

/// Reads the access logs and puts the evidence on every finding of
/// `findings`. `sources` are the audit's data source ids; `members` the
/// accounts of `too-many-accounts` findings. Returns what was read and the
/// warnings; a row that cannot be read is an error (no report).
pub fn attach(
    findings: &mut [Finding],
    sources: &[String],
    inventory: &Inventory,
    members: &BTreeMap<String, Vec<AccountId>>,
    logs: &LogInputs,
) -> Result<(LogSummary, Vec<String>), SourceError> {
    let refs: Vec<&Finding> = findings.iter().collect();
    let matcher = Matcher::new(&refs, sources, inventory, members);
    let since = logs.since.map(|d| d.and_time(chrono::NaiveTime::MIN));
    let mut counters: FxHashMap<(u32, u32, u32), Counter> = FxHashMap::default();
    let mut covered = vec![false; sources.len()];
    let mut unplaced = Unplaced::default();
    let known = known_names(inventory);
    let mut summary = LogSummary {
        since: logs.since,
        ..LogSummary::default()
    };
    for path in &logs.files {
        let rows = access_log::read_file(path, |e: &LogEvent<'_>| {
            let Some(source) = matcher.source(e.data_source) else {
                unplaced.sources += 1;
                if unplaced.source_example.is_none() {
                    unplaced.source_example = Some(e.data_source.to_string());
                }
                return;
            };
            covered[source as usize] = true;
            let folded = fold(e.account);
            let mut hash = name_hash(&folded);
            let mut account = matcher.account(&folded, hash);
            if account.is_none() && !known.contains(&hash) {
                // `NORRVIK\anna.berg` or `anna.berg@norrvik.se` for the
                // directory's `anna.berg`.
                if let Some(short) = without_domain(&folded) {
                    let short_hash = name_hash(short);
                    let short_account = matcher.account(short, short_hash);
                    if short_account.is_some() || known.contains(&short_hash) {
                        account = short_account;
                        hash = short_hash;
                        unplaced.qualified += 1;
                        if unplaced.qualified_example.is_none() {
                            unplaced.qualified_example = Some(e.account.to_string());
                        }
                    }
                }
            }
            if account.is_none() && !known.contains(&hash) {
                unplaced.accounts += 1;
                if unplaced.account_example.is_none() {
                    unplaced.account_example = Some(e.account.to_string());
                }
                return;
            }
            if since.is_some_and(|s| e.time < s) {
                return;
            }
            summary.first = Some(summary.first.map_or(e.time, |t| t.min(e.time)));
            summary.last = Some(summary.last.map_or(e.time, |t| t.max(e.time)));
            let Some(account) = account else {
                return;
            };
            let c = counters
                .entry((account, source, matcher.scope(e.scope)))
                .or_default();
            c.events += 1;
            c.first = Some(c.first.map_or(e.time, |t| t.min(e.time)));
            c.last = Some(c.last.map_or(e.time, |t| t.max(e.time)));
            if !e.record.is_empty() {
                c.records.insert(record_hash(e.record));
            }
        })?;
        summary.rows += rows;
        summary.files.push(path.display().to_string());
    }
    // The counters of each (account, source), for the findings to sum.
    let mut by_account: FxHashMap<(u32, u32), Vec<(u32, &Counter)>> = FxHashMap::default();
    for ((account, source, scope), c) in &counters {
        by_account
            .entry((*account, *source))
            .or_default()
            .push((*scope, c));
    }
    for (f, wanted) in findings.iter_mut().zip(&matcher.wanted) {
        if wanted.source == u32::MAX || !covered[wanted.source as usize] {
            f.usage = Some(None);
            continue;
        }
        let mut tally = Tally::default();
        for &account in &wanted.accounts {
            let Some(list) = by_account.get(&(account, wanted.source)) else {
                continue;
            };
            tally.add_account(list.iter().filter_map(|(scope, c)| match wanted.scope {
                Some(want) if *scope != NO_SCOPE && *scope != want => None,
                _ => Some(*c),
            }));
        }
        let usage = tally.usage(f.account.is_none());
        f.usage = Some(Some(Box::new(usage)));
    }
    // The counters stay for totals over many findings (the drafts).
    let scope_names: FxHashMap<u32, &str> = matcher
        .scopes
        .iter()
        .map(|(name, slot)| (*slot, name.as_str()))
        .collect();
    let source_names: FxHashMap<u32, &str> = matcher
        .sources
        .iter()
        .map(|(name, slot)| (*slot, name.as_str()))
        .collect();
    let mut index = EvidenceIndex {
        present: true,
        counters: FxHashMap::default(),
    };
    for ((account, source, scope), c) in counters {
        let scope = match scope {
            NO_SCOPE => RowScope::None,
            OTHER_SCOPE => RowScope::Other,
            slot => RowScope::Named(scope_names.get(&slot).copied().unwrap_or("").to_string()),
        };
        let key = (
            source_names.get(&source).copied().unwrap_or("").to_string(),
            matcher.names[account as usize].clone(),
        );
        index.counters.entry(key).or_default().push((scope, c));
    }
    summary.index = index;
    let mut warnings = Vec::new();
    if unplaced.qualified > 0 {
        warnings.push(format!(
            "access logs: {} row(s) name the account with its domain (e.g. `{}`): counted for the directory's account of the name without the domain",
            unplaced.qualified,
            unplaced.qualified_example.as_deref().unwrap_or("")
        ));
    }
    if unplaced.accounts > 0 {
        warnings.push(format!(
            "access logs: {} row(s) name accounts the inventory does not have (e.g. `{}`): not counted",
            unplaced.accounts,
            unplaced.account_example.as_deref().unwrap_or("")
        ));
    }
    if unplaced.sources > 0 {
        warnings.push(format!(
            "access logs: {} row(s) name data sources no policy describes (e.g. `{}`): not counted",
            unplaced.sources,
            unplaced.source_example.as_deref().unwrap_or("")
        ));
    }
    Ok((summary, warnings))
}

/// One logged event of a finding, for `explain --show-records`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub time: NaiveDateTime,
    pub account: String,
    pub scope: String,
    pub action: String,
    pub record: String,
}

/// The inventory's accounts by the hash of their folded names: a set
/// small enough to stay in cache, where the inventory's own index would
/// reach into every account's record for each row. It tells rows of
/// accounts the audit does not know apart.
fn known_names(inventory: &Inventory) -> FxHashSet<u64> {
    inventory
        .accounts
        .iter()
        .map(|a| name_hash(&fold(a.id.trim())))
        .collect()
}

/// The events that count for `finding`, in log order: the only place
/// record ids are given out.
pub fn events_for(
    finding: &Finding,
    sources: &[String],
    inventory: &Inventory,
    members: &BTreeMap<String, Vec<AccountId>>,
    logs: &LogInputs,
) -> Result<Vec<Event>, SourceError> {
    let matcher = Matcher::new(&[finding], sources, inventory, members);
    let Some(wanted) = matcher.wanted.first() else {
        return Ok(Vec::new());
    };
    let since = logs.since.map(|d| d.and_time(chrono::NaiveTime::MIN));
    let known = known_names(inventory);
    let mut events = Vec::new();
    for path in &logs.files {
        access_log::read_file(path, |e: &LogEvent<'_>| {
            if matcher.source(e.data_source) != Some(wanted.source) {
                return;
            }
            if since.is_some_and(|s| e.time < s) {
                return;
            }
            let folded = fold(e.account);
            let mine = matcher.accounts.contains_key(folded.as_ref())
                || without_domain(&folded).is_some_and(|short| {
                    matcher.accounts.contains_key(short) && !known.contains(&name_hash(&folded))
                });
            if !mine {
                return;
            }
            let scope = matcher.scope(e.scope);
            if let Some(want) = wanted.scope {
                if scope != NO_SCOPE && scope != want {
                    return;
                }
            }
            events.push(Event {
                time: e.time,
                account: e.account.to_string(),
                scope: e.scope.to_string(),
                action: e.action.to_string(),
                record: e.record.to_string(),
            });
        })?;
    }
    Ok(events)
}
