//! The one matcher: whether an allow covers an access, decided by
//! [`CompiledAllow::check`] for evaluation and `explain` alike.
//!
//! Allows are compiled for the evaluation loop: roles, scopes, attribute
//! names and fixed values as interned symbols, `member_of` as group ids, so
//! that checking an access compares integers. Attribute names and values
//! are looked up, not interned: one that no account has is compiled as
//! such ([`Cond::Unset`], [`Value::Absent`]) and matches nothing. Conditions this form does not
//! cover (typed attributes, mixed templates) fall back to
//! [`condition_holds`](super::condition_holds). Selector values and
//! condition values are compared trimmed.

use std::ops::ControlFlow;

use chrono::NaiveDateTime;
use regex::Regex;

use super::access::WalkState;
use crate::intern::{Interner, Sym, Vocab};
use crate::inventory::{Account, Expiry, GroupId, Inventory};
use crate::policy::{Allow, Condition, Policy, Selector, Test};

enum Value {
    Fixed(Sym),
    /// A fixed value no account has: it matches none.
    Absent,
    Scope,
    Role,
    /// A template with other text around `{scope}`/`{role}`.
    Mixed(String),
}

enum Cond<'p> {
    /// The attribute (by its interned name) equals one of the values.
    Equals(Sym, Vec<Value>),
    Regex(Sym, &'p Regex),
    /// A plain attribute no account has: the condition holds for none.
    Unset,
    Other,
}

/// One part of an allow, in the order [`CompiledAllow::check`] tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Role,
    Scope,
    Accounts,
    /// A `when` condition, by its place in the allow's `when`.
    When(u32),
    MemberOf,
}

/// What the account has for a part of an allow.
#[derive(Debug, Clone, PartialEq)]
pub enum Actual {
    /// The access's role (for [`Part::Role`]).
    Role(String),
    /// The access's scope (for [`Part::Scope`]).
    Scope(String),
    /// The account's id (for [`Part::Accounts`]).
    Account(Box<str>),
    /// The attribute is not set on the account.
    Missing,
    Text(String),
    Bool(bool),
    Expiry(Expiry),
    Time(NaiveDateTime),
    /// The groups of `member_of` the account is a member of, directly or
    /// through nesting (for [`Part::MemberOf`]).
    Groups(Vec<String>),
}

pub struct CompiledAllow<'p> {
    allow: &'p Allow,
    /// The text of roles, scopes and attribute values.
    vocab: &'p Vocab<'p>,
    roles: Option<Vec<Sym>>,
    scopes: Option<Vec<Sym>>,
    accounts: Vec<String>,
    conds: Vec<(&'p Condition, Cond<'p>)>,
    /// `None`: no membership condition; `Some(groups)`: member of any of
    /// them (the groups the inventory has, with their names).
    member_of: Option<Vec<(GroupId, &'p str)>>,
}

pub struct CompiledPolicy<'p> {
    pub allows: Vec<CompiledAllow<'p>>,
    /// `separation_of_duties`: each set's distinct roles, in name order.
    pub sod: Vec<Vec<Sym>>,
    /// Whether some allow names accounts (and so needs the account's id
    /// in lower case).
    pub names_accounts: bool,
}

/// A selector's roles or scopes; one the evaluation has not seen, no
/// access has, and it is left out (a selector of such values alone
/// selects nothing).
fn selector(s: &Selector, vocab: &Vocab<'_>) -> Option<Vec<Sym>> {
    match s {
        Selector::Any => None,
        Selector::Values(vs) => Some(vs.iter().filter_map(|v| vocab.find(v.trim())).collect()),
    }
}

/// Whether an attribute is compared by its text (and not typed).
fn plain(attribute: &str) -> bool {
    !matches!(
        attribute,
        "enabled" | "expires" | "last_logon" | "display_name"
    )
}

fn compile_condition<'p>(c: &'p Condition, names: &Interner) -> Cond<'p> {
    if !plain(&c.attribute) {
        return Cond::Other;
    }
    let Some(attr) = names.find(&c.attribute) else {
        return match &c.test {
            Test::AnyOf(_) | Test::Regex(_) => Cond::Unset,
            _ => Cond::Other,
        };
    };
    match &c.test {
        Test::AnyOf(templates) => Cond::Equals(
            attr,
            templates
                .iter()
                .map(|t| match t.trim() {
                    "{scope}" => Value::Scope,
                    "{role}" => Value::Role,
                    t if t.contains('{') => Value::Mixed(t.to_string()),
                    t => names.find(t).map_or(Value::Absent, Value::Fixed),
                })
                .collect(),
        ),
        Test::Regex(re) => Cond::Regex(attr, re),
        _ => Cond::Other,
    }
}

fn compile_allow<'p>(
    allow: &'p Allow,
    inventory: &Inventory,
    vocab: &'p Vocab<'p>,
) -> CompiledAllow<'p> {
    CompiledAllow {
        allow,
        vocab,
        roles: selector(&allow.role, vocab),
        scopes: selector(&allow.scope, vocab),
        accounts: allow
            .accounts
            .iter()
            .map(|a| a.trim().to_lowercase())
            .collect(),
        conds: allow
            .when
            .iter()
            .map(|c| (c, compile_condition(c, inventory.names())))
            .collect(),
        member_of: (!allow.member_of.is_empty()).then(|| {
            allow
                .member_of
                .iter()
                .filter_map(|g| inventory.group(g).map(|id| (id, g.as_str())))
                .collect()
        }),
    }
}

impl<'p> CompiledPolicy<'p> {
    /// The policy compiled against the roles and scopes of `vocab` (an
    /// evaluation of `inventory`).
    pub fn new(policy: &'p Policy, inventory: &Inventory, vocab: &'p Vocab<'p>) -> Self {
        CompiledPolicy {
            allows: policy
                .allows
                .iter()
                .map(|a| compile_allow(a, inventory, vocab))
                .collect(),
            sod: policy
                .checks
                .role_sets(&crate::rules::SEPARATION_OF_DUTIES)
                .iter()
                .map(|set| {
                    let distinct: std::collections::BTreeSet<&str> =
                        set.iter().map(String::as_str).collect();
                    // A role no access has cannot be held.
                    distinct.into_iter().filter_map(|r| vocab.find(r)).collect()
                })
                .collect(),
            names_accounts: policy.allows.iter().any(|a| !a.accounts.is_empty()),
        }
    }
}

/// The account's value of an attribute, typed where the contract types it.
pub fn attribute_value(account: &Account, attribute: &str, names: &Interner) -> Actual {
    let typed = match attribute {
        "enabled" => Some(account.enabled.map(Actual::Bool)),
        "expires" => Some(account.expires.map(Actual::Expiry)),
        "last_logon" => Some(account.last_logon.map(Actual::Time)),
        _ => None,
    };
    match typed {
        Some(v) => v.unwrap_or(Actual::Missing),
        None => match account.attr(attribute, names) {
            Some(v) => Actual::Text(v.to_string()),
            None => Actual::Missing,
        },
    }
}

impl<'p> CompiledAllow<'p> {
    /// The allow as written in the policy.
    pub fn allow(&self) -> &'p Allow {
        self.allow
    }

    /// Decides the allow for (role, scope) of the account whose walk is in
    /// `state`: tries its parts in order (role, scope, accounts, each
    /// `when`, `member_of`) and tells `each` whether each one holds,
    /// stopping when `each` breaks. The allow covers the access when every
    /// part holds. `lower_id` is the account id in lower case.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn check<F>(
        &self,
        account: &Account,
        lower_id: &str,
        role: Sym,
        scope: Sym,
        state: &WalkState,
        mut each: F,
    ) where
        F: FnMut(Part, bool) -> ControlFlow<()>,
    {
        if each(
            Part::Role,
            self.roles.as_ref().is_none_or(|r| r.contains(&role)),
        )
        .is_break()
        {
            return;
        }
        if each(
            Part::Scope,
            self.scopes.as_ref().is_none_or(|s| s.contains(&scope)),
        )
        .is_break()
        {
            return;
        }
        if !self.accounts.is_empty()
            && each(Part::Accounts, self.accounts.iter().any(|a| a == lower_id)).is_break()
        {
            return;
        }
        let text = |sym: Sym| self.vocab.text(sym);
        for (i, (c, cond)) in self.conds.iter().enumerate() {
            let holds = match cond {
                Cond::Equals(attr, values) => match account.attrs.get_sym(*attr) {
                    None => false,
                    Some(value) => values.iter().any(|v| match v {
                        Value::Fixed(s) => *s == value,
                        Value::Absent => false,
                        Value::Scope => scope == value,
                        Value::Role => role == value,
                        Value::Mixed(t) => {
                            crate::policy::fill_template(t, text(role), text(scope)).trim()
                                == text(value)
                        }
                    }),
                },
                Cond::Regex(attr, re) => account
                    .attrs
                    .get_sym(*attr)
                    .is_some_and(|v| re.is_match(text(v))),
                Cond::Unset => false,
                Cond::Other => super::condition_holds(
                    account,
                    &c.attribute,
                    &c.test,
                    (text(role), text(scope)),
                    self.vocab.base(),
                ),
            };
            if each(Part::When(i as u32), holds).is_break() {
                return;
            }
        }
        if let Some(groups) = &self.member_of {
            let _ = each(
                Part::MemberOf,
                groups.iter().any(|&(g, _)| state.reached(g)),
            );
        }
    }

    /// Whether the allow covers the access (see [`check`](Self::check)).
    #[inline]
    pub fn covers(
        &self,
        account: &Account,
        lower_id: &str,
        role: Sym,
        scope: Sym,
        state: &WalkState,
    ) -> bool {
        let mut covered = true;
        self.check(account, lower_id, role, scope, state, |_, holds| {
            if holds {
                ControlFlow::Continue(())
            } else {
                covered = false;
                ControlFlow::Break(())
            }
        });
        covered
    }

    /// What the account has for one part of the allow.
    pub fn actual(
        &self,
        part: Part,
        account: &Account,
        role: Sym,
        scope: Sym,
        state: &WalkState,
    ) -> Actual {
        match part {
            Part::Role => Actual::Role(self.vocab.text(role).to_string()),
            Part::Scope => Actual::Scope(self.vocab.text(scope).to_string()),
            Part::Accounts => Actual::Account(account.id.clone()),
            Part::When(i) => match self.allow.when.get(i as usize) {
                Some(c) => attribute_value(account, &c.attribute, self.vocab.base()),
                None => Actual::Missing,
            },
            Part::MemberOf => Actual::Groups(
                self.member_of
                    .iter()
                    .flatten()
                    .filter(|&&(g, _)| state.reached(g))
                    .map(|&(_, name)| name.to_string())
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::findings::Rule;
    use crate::inventory::InventoryBuilder;
    use crate::policy::parse_policy;

    /// The unauthorized accesses, as (role, scope), under `policy` of an
    /// inventory of one account `anna` (title `Handläggare`) in `group`.
    fn audit(group: &str, policy: &str) -> (Vec<(String, String)>, crate::inventory::Inventory) {
        let mut builder = InventoryBuilder::new();
        let origin = builder.origin("konton.csv", Some(2));
        let group = builder.intern_group(group);
        let anna = builder.account_id("anna", &origin);
        builder.set_attr(anna, "title", "Handläggare");
        builder.add_memberships(anna, &[group], origin);
        let inventory = builder.finish();
        let policy = parse_policy(Path::new("p.toml"), policy).expect("policy");
        let as_of = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).expect("date");
        let found = crate::evaluate::evaluate(&[policy], &inventory, as_of)
            .findings
            .iter()
            .filter(|f| f.rule == Rule::UnauthorizedAccess)
            .map(|f| {
                (
                    f.role.clone().unwrap_or_default(),
                    f.scope.clone().unwrap_or_default(),
                )
            })
            .collect();
        (found, inventory)
    }

    /// The number of unauthorized accesses of `anna` in `SG-Las` under an
    /// allow for `when.<attribute> = value`, and the inventory.
    fn flagged(attribute: &str, value: &str) -> (usize, crate::inventory::Inventory) {
        let policy = format!(
            "[source]\nid = \"s\"\n[[grant]]\ngroup = '^SG-Las$'\nrole = \"Las\"\n[[allow]]\nwhen.{attribute} = \"{value}\"\n"
        );
        let (found, inventory) = audit("SG-Las", &policy);
        (found.len(), inventory)
    }

    #[test]
    fn a_value_no_account_has_matches_nothing_and_is_not_interned() {
        assert_eq!(flagged("title", "Handläggare").0, 0);
        let absent = "Titel som ingen i katalogen har";
        let (count, inventory) = flagged("title", absent);
        assert_eq!(count, 1);
        assert_eq!(inventory.names().find(absent), None);
        // An attribute no account has.
        let (count, inventory) = flagged("kostnadsstalle_som_saknas", "Handläggare");
        assert_eq!(count, 1);
        assert_eq!(inventory.names().find("kostnadsstalle_som_saknas"), None);
    }

    fn unauthorized(policy: &str) -> Vec<(String, String)> {
        audit("SG-Handläggare-IFO", policy).0
    }

    const GRANT: &str =
        "[source]\nid = \"s\"\n[[grant]]\ngroup = '^SG-(?P<role>[^-]+)-(?P<scope>.+)$'\n";

    #[test]
    fn a_role_named_by_a_group_compares_equal_to_an_attribute_of_its_text() {
        // The role `Handläggare` comes from the group's name; the
        // inventory has the same text as anna's title.
        let policy = format!("{GRANT}[[allow]]\nwhen.title = \"{{role}}\"\n");
        assert_eq!(unauthorized(&policy), Vec::<(String, String)>::new());
        let policy = format!("{GRANT}[[allow]]\nwhen.title = \"{{scope}}\"\n");
        assert_eq!(
            unauthorized(&policy),
            [("Handläggare".to_string(), "IFO".to_string())]
        );
    }

    #[test]
    fn roles_and_scopes_only_the_policy_names_are_matched_by_text() {
        // Neither `Admin` nor `VO` is a string of the inventory.
        let grant = "[source]\nid = \"s\"\n[[grant]]\ngroup = '^SG-Handläggare-IFO$'\nrole = \"Admin\"\nscope = \"VO\"\n";
        let covered = format!("{grant}[[allow]]\nrole = \"Admin\"\nscope = \"VO\"\n");
        assert_eq!(unauthorized(&covered), Vec::<(String, String)>::new());
        let other_role = format!("{grant}[[allow]]\nrole = \"Läs\"\n");
        assert_eq!(
            unauthorized(&other_role),
            [("Admin".to_string(), "VO".to_string())]
        );
        let mixed = format!("{grant}[[allow]]\nwhen.title = \"{{role}}-{{scope}}\"\n");
        assert_eq!(unauthorized(&mixed).len(), 1);
    }

    #[test]
    fn two_inventories_of_one_process_keep_their_own_strings() {
        let mut a = InventoryBuilder::new();
        let mut b = InventoryBuilder::new();
        let (ifo, vo) = (a.intern("IFO"), b.intern("VO"));
        assert_eq!(ifo, vo, "each inventory numbers its strings from the start");
        let (a, b) = (a.finish(), b.finish());
        assert_eq!(a.text(ifo), "IFO");
        assert_eq!(b.text(vo), "VO");
        assert_eq!(a.names().find("VO"), None);
    }
}
