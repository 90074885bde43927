//! Interned strings: attribute names and values, roles and scopes are
//! stored once per process and referred to by a 32-bit [`Sym`], so that an
//! inventory of a million accounts stays small and comparisons in the
//! evaluation loop are integer compares.
//!
//! Interned text lives for the rest of the process (a command-line run).

use std::fmt;

use rustc_hash::FxHashMap;
use std::sync::{LazyLock, RwLock};

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

    /// The symbol's number, to store it among other numbers.
    pub(crate) fn to_raw(self) -> u32 {
        self.0
    }

    /// The symbol numbered `raw` by [`Sym::to_raw`].
    pub(crate) fn from_raw(raw: u32) -> Sym {
        Sym(raw)
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
/// The list is interned like a [`Sym`]: accounts with the same attributes
/// (a department, a title, an employment type) share one list, and an
/// account holds only a reference to it. Changing an account's attributes
/// gives it another list.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs(&'static [(Sym, Sym)]);

/// The interned attribute lists. Past `MAX_LISTS` distinct lists (accounts
/// whose attributes are all their own, an e-mail address say) new lists
/// are stored without being remembered: sharing them would not pay.
type List = &'static [(Sym, Sym)];
static LISTS: LazyLock<std::sync::Mutex<rustc_hash::FxHashSet<List>>> =
    LazyLock::new(Default::default);
const MAX_LISTS: usize = 1 << 16;

impl Attrs {
    pub fn new() -> Self {
        Attrs(&[])
    }

    /// The list of these pairs, sorted by name; later pairs replace
    /// earlier ones of the same name.
    pub fn from_pairs(pairs: &[(Sym, Sym)]) -> Attrs {
        let mut list: Vec<(Sym, Sym)> = Vec::with_capacity(pairs.len());
        for &(name, value) in pairs {
            match list.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => list.push((name, value)),
            }
        }
        list.sort_unstable_by_key(|(n, _)| *n);
        if list.is_empty() {
            return Attrs::new();
        }
        let mut lists = LISTS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&stored) = lists.get(list.as_slice()) {
            return Attrs(stored);
        }
        let stored: &'static [(Sym, Sym)] = Box::leak(list.into_boxed_slice());
        if lists.len() < MAX_LISTS {
            lists.insert(stored);
        }
        Attrs(stored)
    }

    /// These attributes with `updates` set on top.
    pub fn with(&self, updates: &[(Sym, Sym)]) -> Attrs {
        if updates.is_empty() {
            return *self;
        }
        if self.0.is_empty() {
            return Attrs::from_pairs(updates);
        }
        let mut pairs = self.0.to_vec();
        pairs.extend_from_slice(updates);
        Attrs::from_pairs(&pairs)
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
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The attributes sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
        let mut pairs: Vec<(&'static str, &'static str)> = self
            .0
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
        let mut a = Attrs::new();
        a.insert("title", "Biträdande enhetschef");
        a.insert("department", "IFO");
        let mut b = Attrs::new();
        b.insert("Department", "IFO");
        b.insert("title", "Biträdande enhetschef");
        assert_eq!(a, b);
        assert!(std::ptr::eq(a.0, b.0));
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
