//! The policy vocabulary: ASCII keys for the data categories and groups of
//! data subjects of IMY's breach form, with the form's own words.

/// A key of the vocabulary with the words IMY's form uses for it.
pub struct Term {
    pub key: &'static str,
    pub label: &'static str,
    /// Special categories (GDPR art. 9) and data on offences (art. 10).
    pub special: bool,
}

const fn term(key: &'static str, label: &'static str, special: bool) -> Term {
    Term {
        key,
        label,
        special,
    }
}

/// Kinds of personal data, in the order of the form.
pub const DATA_CATEGORIES: &[Term] = &[
    term("etniskt_ursprung", "Etniskt ursprung", true),
    term("politiska_asikter", "Politiska åsikter", true),
    term(
        "religios_overtygelse",
        "Religiös eller filosofisk övertygelse",
        true,
    ),
    term("fackforeningsmedlemskap", "Medlemskap i fackförening", true),
    term("genetiska", "Genetiska", true),
    term("biometriska", "Biometriska", true),
    term("halsa", "Hälsa", true),
    term("sexualliv", "Sexualliv eller sexuell läggning", true),
    term("uppgift_om_brott", "Uppgift om brott", true),
    term("personnummer", "Personnummer", false),
    term("ekonomisk", "Ekonomisk eller finansiell information", false),
    term("officiella_dokument", "Officiella dokument", false),
    term("lokaliseringsuppgifter", "Lokaliseringsuppgifter", false),
    term("kommunikationsloggar", "Kommunikationsloggar", false),
    term("metadata", "Metadata om kommunikation", false),
    term("identifierande", "Identifierande information", false),
    term("kontaktinformation", "Kontaktinformation", false),
    term("okand", "Okänd", false),
    term("ovrigt", "Övrigt", false),
];

/// Groups of data subjects, in the order of the form.
pub const DATA_SUBJECT_GROUPS: &[Term] = &[
    term("anstallda", "Anställda", false),
    term("anvandare", "Användare", false),
    term("kunder", "Kunder", false),
    term("prenumeranter", "Prenumeranter", false),
    term("medlemmar", "Medlemmar", false),
    term("militar", "Militär", false),
    term("patienter", "Patienter", false),
    term("barn", "Barn", true),
    term("skolelever", "Skolelever", false),
    term("studerande", "Studerande", false),
    term(
        "utsatta_personer",
        "Utsatta personer (t.ex. skyddad identitet)",
        true,
    ),
    term(
        "ovriga_sarskilt_utsatta",
        "Övriga som drabbas särskilt hårt",
        false,
    ),
    term("kan_inte_ange", "Kan inte ange", false),
    term("ovrigt", "Övrigt", false),
];

/// Other spellings accepted for a key (Swedish letters, the form's longer
/// wording).
const ALIASES: &[(&str, &str)] = &[
    ("hälsa", "halsa"),
    ("halsodata", "halsa"),
    (
        "religios_eller_filosofisk_overtygelse",
        "religios_overtygelse",
    ),
    ("medlemskap_i_fackforening", "fackforeningsmedlemskap"),
    ("sexualliv_eller_sexuell_laggning", "sexualliv"),
    ("ekonomisk_information", "ekonomisk"),
    ("metadata_om_kommunikation", "metadata"),
    ("identifierande_information", "identifierande"),
    ("anställda", "anstallda"),
    ("användare", "anvandare"),
    ("utsatta", "utsatta_personer"),
    (
        "ovriga_som_drabbas_sarskilt_hart",
        "ovriga_sarskilt_utsatta",
    ),
];

/// The canonical term for a key or one of its aliases.
pub fn lookup(terms: &'static [Term], key: &str) -> Option<&'static Term> {
    let canonical = ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map(|(_, k)| *k)
        .unwrap_or(key);
    terms.iter().find(|t| t.key == canonical)
}

/// The activities a source can belong to.
pub const ACTIVITIES: &[(&str, &str)] = &[
    ("socialtjanst", "Socialtjänst"),
    ("lss", "Verksamhet enligt LSS"),
    ("halso_och_sjukvard", "Hälso- och sjukvård"),
    ("skola", "Skola"),
    ("annan", "Annan verksamhet"),
];
