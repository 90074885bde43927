//! Interned strings: attribute names and values, roles and scopes are
//! stored once per process and referred to by a 32-bit [`Sym`], so that an
//! inventory of a million accounts stays small and comparisons in the
//! evaluation loop are integer compares.
//!
//! Interned text lives for the rest of the process (a command-line run).

use std::fmt;

use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::{Arc, LazyLock, RwLock};

/// An interned string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

#[derive(Default)]
struct Table {
    ids: FxHashMap<&'static str, u32>,
    strings: Vec<&'static str>,
}

static TABLE: LazyLock<RwLock<Table>> = LazyLock::new(|| RwLock::new(Table::default()));

impl Sym {
    /// The symbol for `text`, interning it if it is new.
    pub fn new(text: &str) -> Sym {
        if let Some(sym) = Sym::find(text) {
            return sym;
        }
        let mut table = TABLE.write().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = table.ids.get(text) {
            return Sym(id);
        }
        let stored: &'static str = Box::leak(text.to_owned().into_boxed_str());
        let id = u32::try_from(table.strings.len()).unwrap_or(u32::MAX);
        table.strings.push(stored);
        table.ids.insert(stored, id);
        Sym(id)
    }

    /// The symbol for `text` if it was interned before.
    pub fn find(text: &str) -> Option<Sym> {
        let table = TABLE.read().unwrap_or_else(|e| e.into_inner());
        table.ids.get(text).map(|&id| Sym(id))
    }

    pub fn as_str(self) -> &'static str {
        let table = TABLE.read().unwrap_or_else(|e| e.into_inner());
        table.strings.get(self.0 as usize).copied().unwrap_or("")
    }
}

impl From<&str> for Sym {
    fn from(text: &str) -> Sym {
        Sym::new(text)
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

    /// The attributes of these pairs (see [`Attrs::from_pairs`]), shared.
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

    /// The pairs, sorted by name.
    fn pairs(&self) -> &[(Sym, Sym)] {
        self.0.as_deref().unwrap_or_default()
    }

    /// The list of these pairs, sorted by name; later pairs replace
    /// earlier ones of the same name. Not shared with other accounts'.
    pub fn from_pairs(pairs: &[(Sym, Sym)]) -> Attrs {
        AttrLists::default().of(pairs)
    }

    /// These attributes with `updates` set on top (not shared).
    pub fn with(&self, updates: &[(Sym, Sym)]) -> Attrs {
        AttrLists::default().with(self, updates)
    }

    /// Sets an attribute (its value trimmed), replacing an earlier value.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        self.insert_sym(Attrs::name(name.as_ref()), Sym::new(value.as_ref().trim()));
    }

    /// The interned lower-case form of an attribute name.
    pub fn name(name: &str) -> Sym {
        if name
            .bytes()
            .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
        {
            Sym::new(&name.to_lowercase())
        } else {
            Sym::new(name)
        }
    }

    /// Sets an attribute by interned name (lower case) and value.
    pub fn insert_sym(&mut self, name: Sym, value: Sym) {
        *self = self.with(&[(name, value)]);
    }

    pub fn get(&self, name: &str) -> Option<&'static str> {
        let name = Sym::find(name)?;
        self.get_sym(name).map(Sym::as_str)
    }

    pub fn get_sym(&self, name: Sym) -> Option<Sym> {
        self.pairs()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn len(&self) -> usize {
        self.pairs().len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs().is_empty()
    }

    /// The attributes sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        let mut pairs: Vec<(&'static str, &'static str)> = self
            .pairs()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        pairs.sort();
        pairs.into_iter()
    }
}

impl fmt::Debug for Attrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl IntoIterator for &Attrs {
    type Item = (&'static str, &'static str);
    type IntoIter = std::vec::IntoIter<(&'static str, &'static str)>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter().collect::<Vec<_>>().into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable() {
        let a = Sym::new("Statistiker");
        assert_eq!(Sym::new("Statistiker"), a);
        assert_eq!(a.as_str(), "Statistiker");
        assert_ne!(Sym::new("statistiker"), a);
    }

    #[test]
    fn equal_attributes_share_one_list() {
        let mut lists = AttrLists::default();
        let (title, department) = (Attrs::name("title"), Attrs::name("Department"));
        let a = lists.of(&[
            (title, Sym::new("Biträdande enhetschef")),
            (department, Sym::new("IFO")),
        ]);
        let ifo = lists.of(&[(department, Sym::new("IFO"))]);
        let b = lists.with(&ifo, &[(title, Sym::new("Biträdande enhetschef"))]);
        assert_eq!(a, b);
        let (Some(shared_a), Some(shared_b)) = (&a.0, &b.0) else {
            panic!("both have attributes");
        };
        assert!(Arc::ptr_eq(shared_a, shared_b));
        let mut b = b;
        b.insert("title", "Enhetschef");
        assert_ne!(a, b);
        assert_eq!(a.get("title"), Some("Biträdande enhetschef"));
        assert_eq!(b.get("title"), Some("Enhetschef"));
        assert_eq!(b.get("department"), Some("IFO"));
    }

    #[test]
    fn attrs_replace_and_find() {
        let mut attrs = Attrs::new();
        attrs.insert("Title", "Ekonom");
        attrs.insert("title", "Statistiker");
        assert_eq!(attrs.get("title"), Some("Statistiker"));
        assert_eq!(attrs.len(), 1);
        assert_eq!(attrs.get("department"), None);
    }
}
