//! Allows compiled for the evaluation loop: roles, scopes, attribute names
//! and fixed values as interned symbols, `member_of` as group ids, so that
//! checking an access compares integers. Conditions this form does not
//! cover (typed attributes, mixed templates) fall back to
//! [`condition_holds`](super::condition_holds), which defines the meaning.

use regex::Regex;

use super::access::WalkState;
use crate::intern::Sym;
use crate::inventory::{Account, GroupId, Inventory};
use crate::policy::{Allow, Condition, Policy, Selector, Test};

enum Value {
    Fixed(Sym),
    Scope,
    Role,
    /// A template with other text around `{scope}`/`{role}`.
    Mixed(String),
}

enum Cond<'p> {
    /// Equals one of the values; `None` when no account has the attribute.
    Equals(Option<Sym>, Vec<Value>),
    Regex(Option<Sym>, &'p Regex),
    Other(&'p Condition),
}

pub struct CompiledAllow<'p> {
    roles: Option<Vec<Sym>>,
    scopes: Option<Vec<Sym>>,
    accounts: Vec<String>,
    conds: Vec<Cond<'p>>,
    /// `None`: no membership condition; `Some(ids)`: member of any of them.
    member_of: Option<Vec<GroupId>>,
}

pub struct CompiledPolicy<'p> {
    pub allows: Vec<CompiledAllow<'p>>,
    /// `separation_of_duties`: each set's distinct roles, in name order.
    pub sod: Vec<Vec<Sym>>,
    /// Whether some allow names accounts (and so needs the account's id
    /// in lower case).
    pub names_accounts: bool,
}

fn selector(s: &Selector) -> Option<Vec<Sym>> {
    match s {
        Selector::Any => None,
        Selector::Values(vs) => Some(vs.iter().map(|v| Sym::new(v.trim())).collect()),
    }
}

/// Whether an attribute is compared by its text (and not typed).
fn plain(attribute: &str) -> bool {
    !matches!(
        attribute,
        "enabled" | "expires" | "last_logon" | "display_name"
    )
}

fn compile_condition(c: &Condition) -> Cond<'_> {
    if !plain(&c.attribute) {
        return Cond::Other(c);
    }
    let attr = Sym::find(&c.attribute);
    match &c.test {
        Test::AnyOf(templates) => Cond::Equals(
            attr,
            templates
                .iter()
                .map(|t| match t.trim() {
                    "{scope}" => Value::Scope,
                    "{role}" => Value::Role,
                    t if t.contains('{') => Value::Mixed(t.to_string()),
                    t => Value::Fixed(Sym::new(t)),
                })
                .collect(),
        ),
        Test::Regex(re) => Cond::Regex(attr, re),
        _ => Cond::Other(c),
    }
}

fn compile_allow<'p>(allow: &'p Allow, inventory: &Inventory) -> CompiledAllow<'p> {
    CompiledAllow {
        roles: selector(&allow.role),
        scopes: selector(&allow.scope),
        accounts: allow
            .accounts
            .iter()
            .map(|a| a.trim().to_lowercase())
            .collect(),
        conds: allow.when.iter().map(compile_condition).collect(),
        member_of: (!allow.member_of.is_empty()).then(|| {
            allow
                .member_of
                .iter()
                .filter_map(|g| inventory.group(g))
                .collect()
        }),
    }
}

impl<'p> CompiledPolicy<'p> {
    pub fn new(policy: &'p Policy, inventory: &Inventory) -> Self {
        CompiledPolicy {
            allows: policy
                .allows
                .iter()
                .map(|a| compile_allow(a, inventory))
                .collect(),
            sod: policy
                .checks
                .separation_of_duties
                .iter()
                .map(|set| {
                    let distinct: std::collections::BTreeSet<&str> =
                        set.iter().map(String::as_str).collect();
                    distinct.into_iter().map(Sym::new).collect()
                })
                .collect(),
            names_accounts: policy.allows.iter().any(|a| !a.accounts.is_empty()),
        }
    }
}

impl CompiledAllow<'_> {
    /// Whether the allow covers (role, scope) for the account whose walk is
    /// in `state`. `lower_id` is the account id in lower case.
    pub fn covers(
        &self,
        account: &Account,
        lower_id: &str,
        role: Sym,
        scope: Sym,
        state: &WalkState,
    ) -> bool {
        if self.roles.as_ref().is_some_and(|r| !r.contains(&role)) {
            return false;
        }
        if self.scopes.as_ref().is_some_and(|s| !s.contains(&scope)) {
            return false;
        }
        if !self.accounts.is_empty() && !self.accounts.iter().any(|a| a == lower_id) {
            return false;
        }
        for cond in &self.conds {
            let holds = match cond {
                Cond::Equals(attr, values) => {
                    let Some(value) = attr.and_then(|a| account.attrs.get_sym(a)) else {
                        return false;
                    };
                    values.iter().any(|v| match v {
                        Value::Fixed(s) => *s == value,
                        Value::Scope => scope == value,
                        Value::Role => role == value,
                        Value::Mixed(t) => {
                            crate::policy::fill_template(t, role.as_str(), scope.as_str()).trim()
                                == value.as_str()
                        }
                    })
                }
                Cond::Regex(attr, re) => attr
                    .and_then(|a| account.attrs.get_sym(a))
                    .is_some_and(|v| re.is_match(v.as_str())),
                Cond::Other(c) => super::condition_holds(
                    account,
                    &c.attribute,
                    &c.test,
                    role.as_str(),
                    scope.as_str(),
                ),
            };
            if !holds {
                return false;
            }
        }
        match &self.member_of {
            None => true,
            Some(groups) => groups.iter().any(|&g| state.reached(g)),
        }
    }
}
