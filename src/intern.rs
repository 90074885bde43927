//! Interned strings: attribute names and values, roles, scopes and the
//! names of sources are stored once per inventory and referred to by a
//! 32-bit [`Sym`], so that an inventory of a million accounts stays small
//! and comparisons in the evaluation loop are integer compares.
//!
//! The [`Interner`] belongs to the inventory and goes with it. A `Sym`
//! means something only to the interner that gave it: its text is read
//! back through that interner ([`Interner::text`]), or through the
//! [`Vocab`] of an evaluation, which adds the policies' own roles and
//! scopes above the inventory's strings.

use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashSet};

/// An interned string: a number in its [`Interner`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sym({})", self.0)
    }
}

/// Strings, each stored once, by number.
#[derive(Clone, Default)]
pub struct Interner {
    /// Every string, one after the other.
    text: String,
    /// Where each string ends in `text`; it starts where the one before
    /// ends.
    ends: Vec<usize>,
    /// The strings' numbers, by their text.
    ids: HashTable<u32>,
}

impl fmt::Debug for Interner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Interner({} strings)", self.ends.len())
    }
}

fn hash(text: &str) -> u64 {
    FxBuildHasher.hash_one(text)
}

/// The string numbered `id` of `text`, whose strings end at `ends`.
fn span<'t>(text: &'t str, ends: &[usize], id: u32) -> &'t str {
    let i = id as usize;
    let start = match i {
        0 => 0,
        _ => ends.get(i - 1).copied().unwrap_or(0),
    };
    let end = ends.get(i).copied().unwrap_or(start);
    text.get(start..end).unwrap_or("")
}

impl Interner {
    pub fn new() -> Self {
        Interner::default()
    }

    /// How many strings it holds.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn span(&self, id: u32) -> &str {
        span(&self.text, &self.ends, id)
    }

    /// The symbol for `text`, interning it if it is new.
    pub fn intern(&mut self, text: &str) -> Sym {
        let h = hash(text);
        if let Some(&id) = self.ids.find(h, |&id| self.span(id) == text) {
            return Sym(id);
        }
        let id = u32::try_from(self.ends.len()).unwrap_or(u32::MAX);
        self.text.push_str(text);
        self.ends.push(self.text.len());
        let Interner { text, ends, ids } = self;
        ids.insert_unique(h, id, |&id| hash(span(text, ends, id)));
        Sym(id)
    }

    /// The symbol for `text` if it was interned before.
    pub fn find(&self, text: &str) -> Option<Sym> {
        self.ids
            .find(hash(text), |&id| self.span(id) == text)
            .map(|&id| Sym(id))
    }

    /// The text of a symbol this interner gave ("" for another's).
    pub fn text(&self, sym: Sym) -> &str {
        self.span(sym.0)
    }
}

/// The strings of one evaluation: the inventory's, and above them the
/// roles and scopes that only the policies name. A role named by both has
/// the inventory's symbol, so that a role compares equal to an attribute
/// value of the same text (`when.title = "{role}"`).
#[derive(Clone, Debug)]
pub struct Vocab<'a> {
    base: &'a Interner,
    own: Interner,
}

impl<'a> Vocab<'a> {
    pub fn new(base: &'a Interner) -> Self {
        Vocab {
            base,
            own: Interner::new(),
        }
    }

    /// The inventory's strings.
    pub fn base(&self) -> &'a Interner {
        self.base
    }

    fn offset(&self) -> u32 {
        u32::try_from(self.base.len()).unwrap_or(u32::MAX)
    }

    /// The symbol for `text`, adding it above the inventory's if new.
    pub fn intern(&mut self, text: &str) -> Sym {
        match self.base.find(text) {
            Some(sym) => sym,
            None => Sym(self.offset().saturating_add(self.own.intern(text).0)),
        }
    }

    /// The symbol for `text` if the inventory or this evaluation has it.
    pub fn find(&self, text: &str) -> Option<Sym> {
        self.base.find(text).or_else(|| {
            self.own
                .find(text)
                .map(|s| Sym(self.offset().saturating_add(s.0)))
        })
    }

    pub fn text(&self, sym: Sym) -> &str {
        match sym.0.checked_sub(self.offset()) {
            Some(own) => self.own.text(Sym(own)),
            None => self.base.text(sym),
        }
    }
}

/// Attributes of an account: (name, value) pairs, names lower case.
///
/// Accounts with the same attributes (a department, a title, an
/// employment type) share one list when their source puts them in through
/// [`AttrLists`], as the inventory's builder does: an account holds only a
/// reference to it. Changing an account's attributes gives it another
/// list.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Attrs(Option<Arc<[(Sym, Sym)]>>);

/// The attribute lists of an inventory being read, to share equal ones.
/// Past `MAX_LISTS` distinct lists (accounts whose attributes are all their
/// own, an e-mail address say) new lists are not remembered: sharing them
/// would not pay.
#[derive(Debug, Default)]
pub struct AttrLists {
    lists: FxHashSet<Arc<[(Sym, Sym)]>>,
}

const MAX_LISTS: usize = 1 << 16;

impl AttrLists {
    /// The attributes of this sorted list, shared with an equal one.
    fn share(&mut self, list: Vec<(Sym, Sym)>) -> Attrs {
        if list.is_empty() {
            return Attrs::new();
        }
        if let Some(stored) = self.lists.get(list.as_slice()) {
            return Attrs(Some(Arc::clone(stored)));
        }
        let stored: Arc<[(Sym, Sym)]> = list.into();
        if self.lists.len() < MAX_LISTS {
            self.lists.insert(Arc::clone(&stored));
        }
        Attrs(Some(stored))
    }

    /// The attributes of these (name, value) pairs, shared; later pairs
    /// replace earlier ones of the same name.
    pub fn of(&mut self, pairs: &[(Sym, Sym)]) -> Attrs {
        self.share(Attrs::sorted(&[], pairs))
    }

    /// `attrs` with `updates` set on top, shared.
    pub fn with(&mut self, attrs: &Attrs, updates: &[(Sym, Sym)]) -> Attrs {
        if updates.is_empty() {
            return attrs.clone();
        }
        self.share(Attrs::sorted(attrs.pairs(), updates))
    }
}

impl Attrs {
    pub fn new() -> Self {
        Attrs(None)
    }

    /// `base` with `updates` on top, sorted by name; later pairs replace
    /// earlier ones of the same name.
    fn sorted(base: &[(Sym, Sym)], updates: &[(Sym, Sym)]) -> Vec<(Sym, Sym)> {
        let mut list: Vec<(Sym, Sym)> = Vec::with_capacity(base.len() + updates.len());
        for &(name, value) in base.iter().chain(updates) {
            match list.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => list.push((name, value)),
            }
        }
        list.sort_unstable_by_key(|(n, _)| *n);
        list
    }

    /// The pairs, sorted by name's symbol.
    pub fn pairs(&self) -> &[(Sym, Sym)] {
        self.0.as_deref().unwrap_or_default()
    }

    pub fn get_sym(&self, name: Sym) -> Option<Sym> {
        self.pairs()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// The value of an attribute, by its lower-case name, read through
    /// the interner of the inventory the attributes belong to.
    pub fn get<'n>(&self, name: &str, names: &'n Interner) -> Option<&'n str> {
        let name = names.find(name)?;
        self.get_sym(name).map(|v| names.text(v))
    }

    pub fn len(&self) -> usize {
        self.pairs().len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs().is_empty()
    }

    /// The attributes as text, sorted by name.
    pub fn texts<'n>(&self, names: &'n Interner) -> Vec<(&'n str, &'n str)> {
        let mut pairs: Vec<(&str, &str)> = self
            .pairs()
            .iter()
            .map(|&(n, v)| (names.text(n), names.text(v)))
            .collect();
        pairs.sort();
        pairs
    }
}

impl fmt::Debug for Attrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.pairs().iter().map(|(n, v)| (n, v)))
            .finish()
    }
}

impl Interner {
    /// The interned lower-case form of an attribute name.
    pub fn attr_name(&mut self, name: &str) -> Sym {
        self.intern(&crate::text::lowercase(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable() {
        let mut names = Interner::new();
        let a = names.intern("Statistiker");
        assert_eq!(names.intern("Statistiker"), a);
        assert_eq!(names.text(a), "Statistiker");
        assert_ne!(names.intern("statistiker"), a);
        assert_eq!(
            names.find("statistiker").map(|s| names.text(s)),
            Some("statistiker")
        );
        assert_eq!(names.find("Ekonom"), None);
        let empty = names.intern("");
        assert_eq!(names.text(empty), "");
        assert_eq!(names.find(""), Some(empty));
    }

    #[test]
    fn many_strings_survive_the_table_growing() {
        let mut names = Interner::new();
        let syms: Vec<Sym> = (0..10_000)
            .map(|i| names.intern(&format!("konto{i}")))
            .collect();
        for (i, &s) in syms.iter().enumerate() {
            assert_eq!(names.text(s), format!("konto{i}"));
            assert_eq!(names.find(&format!("konto{i}")), Some(s));
        }
        assert_eq!(names.len(), 10_000);
    }

    #[test]
    fn an_evaluation_adds_its_own_strings_above_the_inventory() {
        let mut names = Interner::new();
        let las = names.intern("Läs");
        let mut vocab = Vocab::new(&names);
        assert_eq!(
            vocab.intern("Läs"),
            las,
            "a role the inventory has keeps its symbol"
        );
        let admin = vocab.intern("Admin");
        assert_ne!(admin, las);
        assert_eq!(vocab.text(admin), "Admin");
        assert_eq!(vocab.text(las), "Läs");
        assert_eq!(vocab.find("Admin"), Some(admin));
        assert_eq!(vocab.intern("Admin"), admin);
        assert_eq!(
            names.find("Admin"),
            None,
            "the inventory's strings stay as they were"
        );
    }

    #[test]
    fn equal_attributes_share_one_list() {
        let mut names = Interner::new();
        let mut lists = AttrLists::default();
        let (title, department) = (names.attr_name("title"), names.attr_name("Department"));
        let (bitr, ifo) = (names.intern("Biträdande enhetschef"), names.intern("IFO"));
        let a = lists.of(&[(title, bitr), (department, ifo)]);
        let only_ifo = lists.of(&[(department, ifo)]);
        let b = lists.with(&only_ifo, &[(title, bitr)]);
        assert_eq!(a, b);
        let (Some(shared_a), Some(shared_b)) = (&a.0, &b.0) else {
            panic!("both have attributes");
        };
        assert!(Arc::ptr_eq(shared_a, shared_b));
        let chef = names.intern("Enhetschef");
        let b = lists.with(&b, &[(title, chef)]);
        assert_ne!(a, b);
        assert_eq!(a.get("title", &names), Some("Biträdande enhetschef"));
        assert_eq!(b.get("title", &names), Some("Enhetschef"));
        assert_eq!(b.get("department", &names), Some("IFO"));
    }

    #[test]
    fn attrs_replace_and_find() {
        let mut names = Interner::new();
        let (title, upper) = (names.attr_name("title"), names.attr_name("Title"));
        assert_eq!(title, upper);
        let (ekonom, stat) = (names.intern("Ekonom"), names.intern("Statistiker"));
        let mut lists = AttrLists::default();
        let attrs = lists.of(&[(title, ekonom)]);
        let attrs = lists.with(&attrs, &[(title, stat)]);
        assert_eq!(attrs.get("title", &names), Some("Statistiker"));
        assert_eq!(attrs.len(), 1);
        assert_eq!(attrs.get("department", &names), None);
        assert_eq!(attrs.texts(&names), vec![("title", "Statistiker")]);
    }
}
