//! Properties of group closure and policy evaluation over random
//! inventories and policies.

use std::collections::BTreeSet;
use std::path::Path;

use behorig::evaluate::{allows_tried, evaluate, evaluate_with, Reasoning, Walker};
use behorig::findings::Rule;
use behorig::inventory::{AccountId, GroupId, Inventory, InventoryBuilder};
use behorig::policy::{parse_policy, Policy};
use chrono::NaiveDate;
use proptest::prelude::*;

const GROUPS: usize = 10;

#[derive(Debug, Clone)]
struct Org {
    /// (child, parent) nesting edges; cycles allowed.
    nesting: Vec<(usize, usize)>,
    /// Per account: department index and direct groups.
    accounts: Vec<(usize, Vec<usize>)>,
}

fn org() -> impl Strategy<Value = Org> {
    (
        prop::collection::vec((0..GROUPS, 0..GROUPS), 0..25),
        prop::collection::vec((0..3usize, prop::collection::vec(0..GROUPS, 0..4)), 1..12),
    )
        .prop_map(|(nesting, accounts)| Org { nesting, accounts })
}

const DEPARTMENTS: [&str; 3] = ["IFO", "VO", "GA"];

fn build(org: &Org) -> Inventory {
    build_with(org, |_, _, _| {})
}

/// [`build`], `more` setting what else each account (by its number) has.
fn build_with(
    org: &Org,
    mut more: impl FnMut(&mut InventoryBuilder, usize, AccountId),
) -> Inventory {
    let mut inv = InventoryBuilder::new();
    let origin = inv.origin("prop", None);
    let ids: Vec<GroupId> = (0..GROUPS)
        .map(|g| inv.intern_group(&format!("G{g}")))
        .collect();
    for &(child, parent) in &org.nesting {
        if child != parent {
            inv.add_nesting(ids[parent], ids[child], origin);
        }
    }
    for (i, (dept, groups)) in org.accounts.iter().enumerate() {
        let a = inv.account_id(&format!("a{i}"), &origin);
        inv.set_attr(a, "department", DEPARTMENTS[*dept]);
        more(&mut inv, i, a);
        for &g in groups {
            inv.add_memberships(a, &[ids[g]], origin);
        }
    }
    inv.finish()
}

/// Every group an account reaches with its distance, by naive relaxation.
fn naive_reach(inv: &Inventory, account: AccountId) -> Vec<Option<usize>> {
    let mut dist: Vec<Option<usize>> = vec![None; inv.groups.len()];
    for g in inv.accounts[account].groups() {
        dist[g.index()] = Some(1);
    }
    loop {
        let mut changed = false;
        for g in 0..inv.groups.len() {
            let Some(d) = dist[g] else { continue };
            for &p in &inv.groups[g].parents {
                if dist[p.index()].is_none_or(|old| old > d + 1) {
                    dist[p.index()] = Some(d + 1);
                    changed = true;
                }
            }
        }
        if !changed {
            return dist;
        }
    }
}

fn policy(grants: &[(usize, usize)], allows: &[(usize, Option<usize>)]) -> Policy {
    let mut text = String::from(
        "[source]\nid = \"s\"\nactivity = \"socialtjanst\"\ndata_categories = [\"halsa\"]\nscopes = [\"IFO\", \"VO\", \"GA\"]\n",
    );
    for (g, scope) in grants {
        text.push_str(&format!(
            "[[grant]]\ngroup = '^G{g}$'\nrole = \"R{}\"\nscope = \"{}\"\n",
            g % 2,
            DEPARTMENTS[*scope % 3]
        ));
    }
    for (i, (role, dept)) in allows.iter().enumerate() {
        text.push_str(&format!(
            "[[allow]]\nid = \"a{i}\"\nrole = \"R{}\"\n",
            role % 2
        ));
        match dept {
            Some(d) => text.push_str(&format!("when.department = \"{}\"\n", DEPARTMENTS[*d % 3])),
            None => text.push_str("when.department = \"{scope}\"\n"),
        }
    }
    parse_policy(Path::new("p.toml"), &text).expect("valid generated policy")
}

/// An allow of every kind the matcher knows, for `explain_agrees_with_the_audit`:
/// (role, scope, kind, k).
type AllowSpec = (usize, Option<usize>, usize, usize);

fn allow_spec() -> impl Strategy<Value = AllowSpec> {
    (
        0..3usize,
        prop::option::of(0..3usize),
        0..8usize,
        0..12usize,
    )
}

/// A policy whose allows use every kind of condition: templates, fixed
/// values, regexes, typed booleans, group membership and account lists,
/// written with the spacing and case a person might use.
fn varied_policy(grants: &[(usize, usize)], allows: &[AllowSpec]) -> Policy {
    let mut text = String::from(
        "[source]\nid = \"s\"\nactivity = \"socialtjanst\"\ndata_categories = [\"halsa\"]\nscopes = [\"IFO\", \"VO\", \"GA\"]\n",
    );
    for (g, scope) in grants {
        text.push_str(&format!(
            "[[grant]]\ngroup = '^G{g}$'\nrole = \"R{}\"\nscope = \"{}\"\n",
            g % 2,
            DEPARTMENTS[*scope % 3]
        ));
    }
    for (i, &(role, scope, kind, k)) in allows.iter().enumerate() {
        text.push_str(&format!("[[allow]]\nid = \"a{i}\"\n"));
        match role {
            0 => text.push_str("role = \"R0\"\n"),
            1 => text.push_str("role = [\" R1 \"]\n"),
            _ => text.push_str("role = \"*\"\n"),
        }
        if let Some(s) = scope {
            text.push_str(&format!("scope = \"{}\"\n", DEPARTMENTS[s]));
        }
        match kind {
            0 => text.push_str("when.department = \"{scope}\"\n"),
            1 => text.push_str(&format!("when.department = \" {} \"\n", DEPARTMENTS[k % 3])),
            2 => text.push_str("when.department = { regex = '^(IFO|VO)$' }\n"),
            3 => text.push_str(&format!("member_of = [\"G{}\"]\n", k % GROUPS)),
            4 => text.push_str(&format!("accounts = [\"a{k}\", \" A{} \"]\n", k + 1)),
            5 => text.push_str(&format!("when.enabled = {}\n", k % 2 == 0)),
            6 => text.push_str("when.title = \"{role}-{scope}\"\n"),
            _ => {}
        }
    }
    parse_policy(Path::new("p.toml"), &text).expect("valid generated policy")
}

fn ids(policies: &[Policy], inv: &Inventory, rule: Option<Rule>) -> BTreeSet<String> {
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
    evaluate(policies, inv, as_of)
        .findings
        .into_iter()
        .filter(|f| rule.is_none_or(|r| f.rule == r))
        .map(|f| f.id)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn closure_terminates_and_equals_the_naive_fixpoint(org in org()) {
        let inv = build(&org);
        let p = policy(&[], &[]);
        let refs = [&p];
        let walker = Walker::new(&inv, &refs);
        let mut state = walker.state();
        for a in (0..inv.accounts.len()).map(AccountId::at) {
            walker.walk(a, &mut state);
            let naive = naive_reach(&inv, a);
            for (g, d) in naive.iter().enumerate() {
                let g = GroupId::at(g);
                prop_assert_eq!(state.reached(g), d.is_some(), "group {:?}", g);
                if let Some(d) = d {
                    // The path kept is a shortest one.
                    prop_assert_eq!(state.path(g).len(), *d);
                }
            }
        }
    }

    /// For every access of every account, the audit flags it exactly when
    /// every allow of the source, as `explain` shows them, names a
    /// condition that fails; a flagged access never has an allow that
    /// covers it, and an access that is not flagged has one.
    #[test]
    fn explain_agrees_with_the_audit(
        org in org(),
        enabled in prop::collection::vec(any::<bool>(), 12),
        titles in prop::collection::vec((0..2usize, 0..3usize), 12),
        grants in prop::collection::vec((0..GROUPS, 0..3usize), 1..6),
        allows in prop::collection::vec(allow_spec(), 0..5),
    ) {
        let inv = build_with(&org, |inv, i, a| {
            inv.edit_account(a).enabled = Some(enabled[i % enabled.len()]);
            let (r, s) = titles[i % titles.len()];
            inv.set_attr(a, "title", &format!("R{r}-{}", DEPARTMENTS[s]));
        });
        let policy = varied_policy(&grants, &allows);
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
        let findings: Vec<_> = evaluate(std::slice::from_ref(&policy), &inv, as_of)
            .findings
            .into_iter()
            .filter(|f| f.rule == Rule::UnauthorizedAccess)
            .collect();
        // What explain shows for a finding is what evaluation recorded on
        // it: every allow of the policy, each with a failing part.
        for f in &findings {
            let reasons = f.reasons.as_deref().expect("a finding of the run has its reasons");
            prop_assert_eq!(reasons.allows.len(), policy.allows.len());
            for t in &reasons.allows {
                prop_assert!(
                    t.first_failure().is_some(),
                    "{} is flagged, but its reasons show allow {} covering it",
                    f.id, policy.allows[t.allow].id
                );
            }
            prop_assert_eq!(reasons.accesses.len(), 1);
            prop_assert_eq!(Some(&reasons.accesses[0].role), f.role.as_ref());
            prop_assert_eq!(Some(&reasons.accesses[0].scope), f.scope.as_ref());
        }
        let flagged: BTreeSet<(String, String, String)> = findings
            .into_iter()
            .map(|f| (
                f.account.unwrap_or_default(),
                f.role.unwrap_or_default(),
                f.scope.unwrap_or_default(),
            ))
            .collect();
        let refs = [&policy];
        let walker = Walker::new(&inv, &refs);
        let mut state = walker.state();
        let mut seen = 0;
        for a in (0..inv.accounts.len()).map(AccountId::at) {
            walker.walk(a, &mut state);
            let accesses = walker.collect(a, &state).remove(&0).unwrap_or_default();
            for (role, scope) in accesses.keys() {
                let tried = allows_tried(&policy, &inv, a, &state, role, scope);
                prop_assert_eq!(tried.len(), policy.allows.len());
                let key = (inv.accounts[a].id.to_string(), role.clone(), scope.clone());
                let is_flagged = flagged.contains(&key);
                if is_flagged {
                    seen += 1;
                    for t in &tried {
                        prop_assert!(
                            t.first_failure().is_some(),
                            "{:?} is flagged, but the matcher shows allow {} covering it", key, policy.allows[t.allow].id
                        );
                    }
                } else {
                    prop_assert!(
                        tried.iter().any(|t| t.first_failure().is_none()),
                        "{:?} is not flagged, but explain names a failure for every allow", key
                    );
                }
            }
        }
        // Every finding is about an access explain looked at.
        prop_assert_eq!(seen, flagged.len());
    }

    /// An audit whose output shows no reasons skips them: its findings
    /// are those of the evaluation that records them, field for field and
    /// in the same order, without the reasons.
    #[test]
    fn skipping_the_reasons_changes_no_finding(
        org in org(),
        enabled in prop::collection::vec(any::<bool>(), 12),
        grants in prop::collection::vec((0..GROUPS, 0..3usize), 1..6),
        allows in prop::collection::vec(allow_spec(), 0..5),
    ) {
        let inv = build_with(&org, |inv, i, a| {
            inv.edit_account(a).enabled = Some(enabled[i % enabled.len()]);
        });
        let policies = [varied_policy(&grants, &allows)];
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
        let kept = evaluate(&policies, &inv, as_of).findings;
        let skipped = evaluate_with(&policies, &inv, as_of, Reasoning::Skip).findings;
        // Every rule but `too-many-accounts` (which counts) records reasons.
        prop_assert!(kept
            .iter()
            .filter(|f| f.rule != Rule::TooManyAccounts)
            .all(|f| f.reasons.is_some()));
        prop_assert!(skipped.iter().all(|f| f.reasons.is_none()));
        let json = |f: &[behorig::findings::Finding]| serde_json::to_string(f).expect("JSON");
        prop_assert_eq!(json(&skipped), json(&kept));
    }

    #[test]
    fn adding_an_allow_never_adds_a_finding(
        org in org(),
        grants in prop::collection::vec((0..GROUPS, 0..3usize), 1..6),
        allows in prop::collection::vec((0..2usize, prop::option::of(0..3usize)), 0..3),
        extra in (0..2usize, prop::option::of(0..3usize)),
    ) {
        let inv = build(&org);
        let before = ids(&[policy(&grants, &allows)], &inv, None);
        let mut more = allows.clone();
        more.push(extra);
        let after = ids(&[policy(&grants, &more)], &inv, None);
        prop_assert!(after.is_subset(&before), "new findings: {:?}", after.difference(&before).collect::<Vec<_>>());
    }

    #[test]
    fn removing_a_membership_never_adds_unauthorized_access(
        org in org(),
        grants in prop::collection::vec((0..GROUPS, 0..3usize), 1..6),
        allows in prop::collection::vec((0..2usize, prop::option::of(0..3usize)), 0..3),
        pick in any::<prop::sample::Index>(),
    ) {
        let policies = [policy(&grants, &allows)];
        let before = ids(&policies, &build(&org), Some(Rule::UnauthorizedAccess));
        let mut smaller = org.clone();
        let edges = smaller.nesting.len() + smaller.accounts.iter().map(|a| a.1.len()).sum::<usize>();
        if edges > 0 {
            let mut k = pick.index(edges);
            if k < smaller.nesting.len() {
                smaller.nesting.remove(k);
            } else {
                k -= smaller.nesting.len();
                for (_, groups) in &mut smaller.accounts {
                    if k < groups.len() {
                        groups.remove(k);
                        break;
                    }
                    k -= groups.len();
                }
            }
        }
        let after = ids(&policies, &build(&smaller), Some(Rule::UnauthorizedAccess));
        prop_assert!(after.is_subset(&before));
    }
}

#[test]
fn a_million_level_nesting_chain_is_walked_without_recursion() {
    let mut inv = InventoryBuilder::new();
    let origin = inv.origin("chain", None);
    let n = 1_000_000;
    let mut prev = inv.intern_group("G0");
    let a = inv.account_id("anna", &origin);
    inv.add_memberships(a, &[prev], origin);
    for i in 1..n {
        let g = inv.intern_group(&format!("G{i}"));
        inv.add_nesting(g, prev, origin);
        prev = g;
    }
    // The top of the chain closes a cycle back to the bottom.
    let bottom = inv.group("G0").expect("G0");
    inv.add_nesting(bottom, prev, origin);
    let inv = inv.finish();
    let p = parse_policy(
        Path::new("p.toml"),
        &format!(
            "[source]\nid = \"s\"\n[[grant]]\ngroup = '^G{}$'\nrole = \"Las\"\n",
            n - 1
        ),
    )
    .expect("policy");
    let found = ids(
        std::slice::from_ref(&p),
        &inv,
        Some(Rule::UnauthorizedAccess),
    );
    assert_eq!(found.len(), 1);
}
