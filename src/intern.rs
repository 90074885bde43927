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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs(Vec<(Sym, Sym)>);

impl Attrs {
    pub fn new() -> Self {
        Attrs(Vec::new())
    }

    /// Sets an attribute (its value trimmed), replacing an earlier value.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        let name = name.as_ref();
        let name = if name
            .bytes()
            .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
        {
            Sym::new(&name.to_lowercase())
        } else {
            Sym::new(name)
        };
        self.insert_sym(name, Sym::new(value.as_ref().trim()));
    }

    /// Makes room for exactly `n` more attributes: an export's rows all
    /// have the same columns, and a million accounts' spare slots add up.
    pub fn reserve_exact(&mut self, n: usize) {
        self.0.reserve_exact(n);
    }

    /// Sets an attribute by interned name (lower case) and value.
    pub fn insert_sym(&mut self, name: Sym, value: Sym) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
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
    fn attrs_replace_and_find() {
        let mut attrs = Attrs::new();
        attrs.insert("Title", "Ekonom");
        attrs.insert("title", "Statistiker");
        assert_eq!(attrs.get("title"), Some("Statistiker"));
        assert_eq!(attrs.len(), 1);
        assert_eq!(attrs.get("department"), None);
    }
}
