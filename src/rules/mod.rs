//! The rules: each is one module holding everything about it (its id and
//! title, whether it exposes data, its severity when it does not, its SARIF
//! help text, the check that finds it, the text `explain` gives for it and
//! what the remediation plan does about it), listed once in the table
//! below. Evaluation runs the checks; outputs, SARIF, `explain` and the
//! plan read the rest from here.
//!
//! Adding a rule: write its module (with the `[checks]` keys it reads, if
//! any, as [`Setting`]s in its `settings`), add one line to `rules!`
//! below, give it tests, and update the golden files and the README's
//! rule table.

pub mod explain;

use std::cell::OnceCell;

use chrono::NaiveDate;

use crate::evaluate::{AccessReason, CompiledAllow, Hit, Reasons, WalkState, Walker};
use crate::findings::{Classification, Finding, Severity};
use crate::intern::Sym;
use crate::inventory::{Account, AccountId, GroupId, Inventory};
use crate::policy::{Policy, Setting, SourceMeta};

/// Everything about one rule.
pub struct Def {
    /// The contract's rule id.
    pub id: &'static str,
    /// A short Swedish description for tables and reports.
    pub title_sv: &'static str,
    /// Whether the rule means that people outside the need-to-know circle
    /// can reach the data (the contract's `imy` rules).
    pub exposes_data: bool,
    /// The severity when the finding exposes no personal data.
    pub base_severity: Severity,
    /// What the rule means and what to do about it, in Swedish (SARIF).
    pub help_sv: &'static str,
    /// The `[checks]` keys the rule reads; the policy parser reads and
    /// checks them by their kind.
    pub settings: &'static [&'static Setting],
    /// How evaluation finds it.
    pub check: Check,
    /// The evidence `explain` shows for one of its findings.
    pub explain: fn(&mut String, &explain::Context<'_>),
    /// What the remediation plan does about one of its findings.
    pub remedy: Remedy,
}

/// What the remediation plan (`behorig plan`) does about a rule's finding.
pub enum Remedy {
    /// End the account's access to the finding's role and scope: the
    /// fewest memberships, nestings or role rows on its paths.
    CutAccess,
    /// End what the finding's group gives: its members or nestings.
    CutGroup,
    /// End every access the account has on the source (disabled and
    /// expired accounts keep none).
    CutAllAccess,
    /// Disable the account, or take its role rows out of the system's
    /// export (an account the directory does not know).
    DisableAccount,
    /// No change ends it by itself: the business decides. The text says
    /// why, in Swedish, for the plan's `not_fixable`.
    Decision(fn(&Finding) -> String),
}

/// Where in evaluation a rule's check runs.
pub enum Check {
    /// For every account with some access on a source, with that access.
    Account(fn(&AccountCx<'_>, &mut Vec<Finding>)),
    /// Once per source, after every account.
    Source(fn(&SourceCx<'_>, &mut SourceOut)),
}

macro_rules! rules {
    ($($variant:ident => $module:ident,)*) => {
        $(mod $module;)*

        /// The rule ids of the contract, in the order reports list them.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize,
            schemars::JsonSchema,
        )]
        #[serde(rename_all = "kebab-case")]
        pub enum Rule {
            $($variant,)*
        }

        impl Rule {
            pub const ALL: [Rule; [$(Rule::$variant,)*].len()] = [$(Rule::$variant,)*];

            /// Everything about the rule.
            pub fn def(self) -> &'static Def {
                match self {
                    $(Rule::$variant => &$module::DEF,)*
                }
            }
        }
    };
}

/// The `[checks]` keys evaluation itself reads, beside their rules.
pub use broad_group::BROAD_GROUPS;
pub use sod_conflict::SEPARATION_OF_DUTIES;

rules! {
    UnauthorizedAccess => unauthorized_access,
    UnknownAccount => unknown_account,
    BroadGroup => broad_group,
    DisabledAccount => disabled_account,
    ExpiredAccount => expired_account,
    TooManyAccounts => too_many_accounts,
    SodConflict => sod_conflict,
    InactiveAccount => inactive_account,
}

impl Rule {
    pub fn id(self) -> &'static str {
        self.def().id
    }

    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.id() == id)
    }

    /// Whether the rule means that people outside the need-to-know circle can
    /// reach the data (the contract's `imy` rules).
    pub fn exposes_data(self) -> bool {
        self.def().exposes_data
    }

    /// A short Swedish description for tables and reports.
    pub fn title_sv(self) -> &'static str {
        self.def().title_sv
    }

    /// What the rule means and what to do about it, in Swedish.
    pub fn help_sv(self) -> &'static str {
        self.def().help_sv
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// Classification of a rule's finding on a source, per the contract.
pub fn classify(rule: Rule, source: &SourceMeta) -> Vec<Classification> {
    if rule.exposes_data() && source.holds_personal_data() {
        if source.is_social_services() {
            vec![Classification::Imy, Classification::LexSarah]
        } else {
            vec![Classification::Imy]
        }
    } else {
        vec![Classification::Internal]
    }
}

/// Severity of a rule's finding on a source, per the contract, before a
/// policy's own override.
pub fn default_severity(rule: Rule, source: &SourceMeta) -> Severity {
    let imy = rule.exposes_data() && source.holds_personal_data();
    if imy && source.is_sensitive() {
        Severity::Critical
    } else if imy {
        Severity::High
    } else {
        rule.def().base_severity
    }
}

/// What a finding is about, besides its rule and source.
#[derive(Default)]
pub struct Subject<'a> {
    pub account: Option<&'a str>,
    pub role: Option<String>,
    pub scope: Option<String>,
    pub group: Option<&'a str>,
    /// What else tells findings of the rule apart in the fingerprint when
    /// there is no account (the allow of `too-many-accounts`).
    pub extra_key: Option<&'a str>,
}

/// A finding of `rule` on the policy's source, with its id, severity and
/// classification.
pub fn finding(
    policy: &Policy,
    rule: Rule,
    subject: Subject<'_>,
    via: Vec<String>,
    message: String,
) -> Finding {
    let source = &policy.source;
    let Subject {
        account,
        role,
        scope,
        group,
        extra_key,
    } = subject;
    Finding {
        id: Finding::fingerprint(
            rule,
            &source.id,
            account.or(extra_key),
            role.as_deref(),
            scope.as_deref(),
            group,
        ),
        rule,
        data_source: source.id.clone(),
        account: account.map(str::to_string),
        group: group.map(str::to_string),
        accounts: None,
        role,
        scope,
        via,
        severity: policy
            .severity
            .get(&rule)
            .copied()
            .unwrap_or_else(|| default_severity(rule, source)),
        classification: classify(rule, source),
        message,
        allow: None,
        roles: Vec::new(),
        grant: None,
        grant_at: None,
        reasons: None,
        status: None,
        first_seen: None,
        usage: None,
        used_since_last_run: None,
    }
}

/// A path of groups as findings' messages write it.
pub fn path_text(via: &[String]) -> String {
    if via.is_empty() {
        "direkt tilldelning".to_string()
    } else {
        via.join(" → ")
    }
}

/// One account with its accesses on one source, for the account checks.
pub struct AccountCx<'a> {
    pub policy: &'a Policy,
    pub walker: &'a Walker<'a>,
    pub state: &'a WalkState,
    pub account_id: AccountId,
    pub account: &'a Account,
    /// The account's id in lower case (where an allow names accounts).
    lower_id: &'a str,
    /// Every access the account has on the source.
    pub hits: &'a [Hit],
    /// The accesses no allow of the policy covers (indices into `hits`).
    pub uncovered: &'a [u32],
    /// The policy's allows, compiled for the matcher.
    allows: &'a [CompiledAllow<'a>],
    /// `separation_of_duties`: each set's distinct roles.
    pub sod: &'a [Vec<Sym>],
    /// Days since the last logon, when it is known.
    pub idle_days: Option<i64>,
    pub as_of: NaiveDate,
    shortest: OnceCell<Vec<String>>,
}

impl<'a> AccountCx<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        policy: &'a Policy,
        walker: &'a Walker<'a>,
        state: &'a WalkState,
        account_id: AccountId,
        account: &'a Account,
        lower_id: &'a str,
        hits: &'a [Hit],
        uncovered: &'a [u32],
        allows: &'a [CompiledAllow<'a>],
        sod: &'a [Vec<Sym>],
        idle_days: Option<i64>,
        as_of: NaiveDate,
    ) -> Self {
        AccountCx {
            policy,
            walker,
            state,
            account_id,
            account,
            lower_id,
            hits,
            uncovered,
            allows,
            sod,
            idle_days,
            as_of,
            shortest: OnceCell::new(),
        }
    }

    /// The reasons of a finding about one access: its path and grant, and
    /// every allow of the policy as the matcher tried it.
    pub fn access_reasons(&self, hit: &Hit) -> Reasons {
        Reasons {
            accesses: vec![self.walker.access_reason(self.account_id, self.state, hit)],
            allows: crate::evaluate::tried_allows(
                self.allows,
                self.account,
                self.lower_id,
                hit.role,
                hit.scope,
                self.state,
            ),
            patterns: Vec::new(),
        }
    }

    /// The reasons of a finding about the account on the source: every
    /// access it has there, each with its path and grant, in role and
    /// scope order.
    pub fn account_reasons(&self) -> Reasons {
        let mut accesses: Vec<AccessReason> = self
            .hits
            .iter()
            .map(|h| self.walker.access_reason(self.account_id, self.state, h))
            .collect();
        accesses.sort_by(|a, b| (&a.role, &a.scope).cmp(&(&b.role, &b.scope)));
        Reasons {
            accesses,
            ..Reasons::default()
        }
    }

    /// A finding of `rule` about the account on the source, with every
    /// access it has there as its reasons.
    pub fn account_finding(&self, rule: Rule, via: Vec<String>, message: String) -> Finding {
        let mut f = finding(
            self.policy,
            rule,
            Subject {
                account: Some(&self.account.id),
                ..Subject::default()
            },
            via,
            message,
        );
        if self.walker.keeps_reasons() {
            f.reasons = Some(Box::new(self.account_reasons()));
        }
        f
    }

    /// The group path of the shortest way the account reaches any access
    /// on the source: what account-level rules point at.
    pub fn shortest(&self) -> &[String] {
        self.shortest.get_or_init(|| {
            self.hits
                .iter()
                .min_by(|a, b| {
                    let text = |s| self.walker.text(s);
                    (a.depth, text(a.role), text(a.scope)).cmp(&(
                        b.depth,
                        text(b.role),
                        text(b.scope),
                    ))
                })
                .map(|h| self.walker.via_names(&self.state.path(h.group)))
                .unwrap_or_default()
        })
    }
}

/// One source after every account, for the source checks.
pub struct SourceCx<'a> {
    pub policy: &'a Policy,
    /// The policy's place among the policies the walker knows.
    pub p_index: usize,
    pub inventory: &'a Inventory,
    pub walker: &'a Walker<'a>,
    /// Per allow: how many accounts it covers.
    pub under_allow: &'a [usize],
    /// Per allow with `max_accounts`: the accounts it covers.
    pub allow_members: &'a [Vec<AccountId>],
    /// The groups the policy's `broad_groups` patterns match, with the
    /// accounts under them counted.
    pub broad: &'a [GroupId],
}

/// What a source check produces.
#[derive(Default)]
pub struct SourceOut {
    pub findings: Vec<Finding>,
    /// The accounts of a finding (by finding id) that counts them.
    pub members: Vec<(String, Vec<AccountId>)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_round_trip() {
        for rule in Rule::ALL {
            assert_eq!(Rule::from_id(rule.id()), Some(rule));
        }
    }

    #[test]
    fn every_rule_has_its_texts() {
        for rule in Rule::ALL {
            let def = rule.def();
            assert!(!def.title_sv.is_empty(), "{}", def.id);
            assert!(def.help_sv.len() > 40, "{}", def.id);
        }
    }
}
