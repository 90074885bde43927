//! Why a finding holds, as data: what evaluation decided on the way to it.
//! For every access a finding is about, the path of groups (each with
//! where the membership is written) and the grant; for an access no allow
//! covers, every allow of the policy as the matcher tried it, with the
//! account's values. Evaluation records it on the finding; `explain`
//! renders it and decides nothing of its own.

use std::ops::ControlFlow;

use super::access::{GrantSource, WalkState};
use super::compiled::{Actual, CompiledAllow, Part};
use crate::intern::Sym;
use crate::inventory::{Account, GroupId};

/// The reasons of one finding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reasons {
    /// The accesses the finding is about: the one access of an access
    /// finding; every access on the source for a finding about the account
    /// (disabled, expired, inactive, conflicting roles), in role and scope
    /// order.
    pub accesses: Vec<AccessReason>,
    /// For an access no allow covers: every allow of the policy, in the
    /// policy's order, as the matcher tried it on the access.
    pub allows: Vec<AllowTried>,
    /// For a catch-all group: the policy's `broad_groups` patterns that
    /// match its name.
    pub patterns: Vec<String>,
}

/// One access of the account and what gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessReason {
    pub role: String,
    pub scope: String,
    /// The groups from the account's own group (or the finding's group) up
    /// to the group that holds the grant; empty for a role-export row that
    /// names the account.
    pub path: Vec<Step>,
    /// Where the grant is written; `None` for a group's accesses, which
    /// several grants may give.
    pub grant: Option<GrantSource>,
}

/// One group of a path and where the membership that leads into it is
/// written (file:line, or the server and the DN of the entry): the
/// account's membership for the first group, the nesting of the previous
/// group for the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub group: GroupId,
    pub from: Option<String>,
}

/// One allow tried on one access: its parts in the order the matcher tries
/// them. After a role or scope that does not match, nothing else of the
/// allow applies and no more parts are listed.
#[derive(Debug, Clone, PartialEq)]
pub struct AllowTried {
    /// The allow's place in its policy's `allows`.
    pub allow: usize,
    pub parts: Vec<Verdict>,
}

/// One part of an allow, whether it holds and what the account has.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub part: Part,
    pub holds: bool,
    pub actual: Actual,
}

impl AllowTried {
    /// Whether the allow covers the access.
    pub fn covers(&self) -> bool {
        self.parts.iter().all(|v| v.holds)
    }

    /// The first part that fails, if any.
    pub fn first_failure(&self) -> Option<&Verdict> {
        self.parts.iter().find(|v| !v.holds)
    }
}

/// Every allow tried on (role, scope) for the account whose walk is in
/// `state`, by the matcher that decides the audit.
pub(crate) fn tried(
    allows: &[CompiledAllow<'_>],
    account: &Account,
    lower_id: &str,
    role: Sym,
    scope: Sym,
    state: &WalkState,
) -> Vec<AllowTried> {
    allows
        .iter()
        .enumerate()
        .map(|(i, allow)| {
            let mut parts = Vec::new();
            allow.check(account, lower_id, role, scope, state, |part, holds| {
                parts.push(Verdict {
                    part,
                    holds,
                    actual: allow.actual(part, account, role, scope, state),
                });
                if !holds && matches!(part, Part::Role | Part::Scope) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            AllowTried { allow: i, parts }
        })
        .collect()
}
