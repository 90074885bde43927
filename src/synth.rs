//! Synthetic organisations of any size, for benchmarks and scale tests:
//! accounts across boards and units, role groups nested into access
//! groups, a catch-all group, a role export, one policy per data source,
//! and a fixed handful of planted violations, plus (at a chosen rate) one
//! planted violation on that share of the accounts, spread over the rules.
//! Everything else is allowed, so the findings are exactly
//! [`Written::expected`] at every size. Deterministic from the seed.
//! Written twice over: as CSV exports (memberships in a cell of the account
//! row, or as their own `account,group` export), and as an LDIF directory
//! (OpenLDAP schema, under [`BASE_DN`]) holding the same accounts, groups
//! and nesting, for the role export to be joined with.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::sources::ldif::write_line;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub accounts: usize,
    /// Data sources, one policy each (at least 6 for the planted cases).
    pub sources: usize,
    pub seed: u64,
    /// Accounts with a planted violation, in parts per million (300,000 is
    /// 30 %); 0 plants only the fixed handful of [`PLANTED`].
    pub finding_ppm: u32,
    /// How the CSV export carries memberships.
    pub memberships: Memberships,
}

impl Spec {
    /// `accounts` accounts over 30 data sources, seed 1, only the fixed
    /// planted violations, memberships in a cell of the account row.
    pub fn new(accounts: usize) -> Spec {
        Spec {
            accounts,
            sources: 30,
            seed: 1,
            finding_ppm: 0,
            memberships: Memberships::InCell,
        }
    }
}

/// How the CSV export carries memberships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memberships {
    /// A `group` cell on each account row, groups separated by `;`.
    InCell,
    /// Their own export, `medlemskap.csv`: one `account,group` row each,
    /// as `Get-ADGroupMember` loops and csvde write them.
    Export,
    /// Their own export, group by group (`group,account`), as the
    /// `Get-ADGroupMember` loop over the groups writes it: no two rows in
    /// a row name the same account.
    ExportByGroup,
}

/// Rewrites a membership export of `account,group` rows as `group,account`
/// rows ordered by group (byte order, each group's rows in the order they
/// had).
fn by_group(path: &Path) -> io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let mut rows: Vec<(&str, &str)> = text
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(','))
        .collect();
    rows.sort_by(|a, b| a.1.cmp(b.1));
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(out, "group,account")?;
    for (account, group) in rows {
        writeln!(out, "{group},{account}")?;
    }
    out.flush()
}

/// What was written.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Written {
    /// Accounts, nesting and role export.
    pub csv: Vec<PathBuf>,
    /// The same accounts, groups and nesting as a directory.
    pub ldif: PathBuf,
    /// The role export, which goes with the LDIF directory.
    pub roles: PathBuf,
    pub policies: PathBuf,
    pub memberships: usize,
    pub groups: usize,
    /// Bytes of CSV.
    pub bytes: u64,
    /// Bytes of LDIF.
    pub ldif_bytes: u64,
    /// The findings the audit must give, as [`PLANTED`] writes them,
    /// sorted: the fixed handful and those planted at the spec's rate.
    pub expected: Vec<String>,
}

/// The findings the planted violations give, as `rule source account group
/// role scope` with `-` for null: the same at every size.
pub const PLANTED: &[&str] = &[
    "broad-group sys04 - Alla externa Las GA",
    "disabled-account sys02 p-disabled - - -",
    "expired-account sys02 p-expired - - -",
    "inactive-account sys02 p-inactive - - -",
    "sod-conflict sys03 p-sod - - -",
    "too-many-accounts sys05 - - Admin *",
    "unauthorized-access sys01 p-mover - Las IFO",
    "unauthorized-access sys03 p-sod - Admin IFO",
    "unauthorized-access sys06 p-cycle - Las IFO",
    "unknown-account sys01 p-ghost - - -",
];

/// The date the synthetic organisation is meant to be audited on.
pub const AS_OF: &str = "2026-11-22";

/// The base DN of the LDIF directory; its people are under `ou=people`,
/// its groups under `ou=groups`.
pub const BASE_DN: &str = "dc=synth,dc=se";

const BOARDS: [&str; 3] = ["IFO", "VO", "GA"];
const TITLES: [[&str; 3]; 3] = [
    ["Socialsekreterare", "Familjebehandlare", "Administratör"],
    ["Undersköterska", "Biståndshandläggare", "Sjuksköterska"],
    ["Arbetsmarknadskonsulent", "Handläggare", "Studievägledare"],
];
const FIRST: [&str; 8] = [
    "Anna", "Erik", "Maria", "Lars", "Karin", "Åsa", "Björn", "Märta",
];
const LAST: [&str; 8] = [
    "Berg",
    "Lind",
    "Andersson",
    "Öberg",
    "Nilsson",
    "Sjöberg",
    "Wallin",
    "Håkansson",
];

/// splitmix64: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'å' | 'ä' => 'a',
            'ö' => 'o',
            'Å' | 'Ä' => 'A',
            'Ö' => 'O',
            c => c,
        })
        .collect()
}

struct AccountRow<'a> {
    account: &'a str,
    name: &'a str,
    department: &'a str,
    title: &'a str,
    enabled: bool,
    expires: &'a str,
    last_logon: &'a str,
    groups: &'a [String],
}

/// The directory side: account entries as they come, group entries at
/// the end, once every member is known.
struct Directory<W: Write> {
    out: W,
    groups: Vec<(String, Vec<u32>, Vec<usize>)>,
    index: HashMap<String, usize>,
    accounts: u32,
}

impl<W: Write> Directory<W> {
    fn new(mut out: W) -> io::Result<Self> {
        writeln!(
            out,
            "dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\n\
             dc: synth\no: Syntetisk kommun\n"
        )?;
        for ou in ["people", "groups"] {
            writeln!(
                out,
                "dn: ou={ou},{BASE_DN}\nobjectClass: organizationalUnit\nou: {ou}\n"
            )?;
        }
        Ok(Directory {
            out,
            groups: Vec::new(),
            index: HashMap::new(),
            accounts: 0,
        })
    }

    fn group(&mut self, name: &str) -> usize {
        if let Some(&g) = self.index.get(name) {
            return g;
        }
        self.groups.push((name.to_string(), Vec::new(), Vec::new()));
        self.index.insert(name.to_string(), self.groups.len() - 1);
        self.groups.len() - 1
    }

    fn account(&mut self, r: &AccountRow<'_>) -> io::Result<()> {
        let out = &mut self.out;
        writeln!(out, "dn: uid={},ou=people,{BASE_DN}", r.account)?;
        writeln!(
            out,
            "objectClass: inetOrgPerson\nobjectClass: shadowAccount"
        )?;
        writeln!(out, "uid: {}", r.account)?;
        write_line(out, "cn", r.name)?;
        write_line(out, "sn", r.name.rsplit(' ').next().unwrap_or(r.name))?;
        write_line(out, "departmentNumber", r.department)?;
        write_line(out, "title", r.title)?;
        writeln!(
            out,
            "employeeType: Tillsvidare\nmail: {}@exempel.se",
            r.account
        )?;
        if !r.enabled {
            writeln!(out, "pwdAccountLockedTime: 20260101000000Z")?;
        }
        if !r.expires.is_empty() {
            let day = chrono::NaiveDate::parse_from_str(r.expires, "%Y-%m-%d")
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
            writeln!(out, "shadowExpire: {}", (day - epoch).num_days())?;
        }
        if !r.last_logon.is_empty() {
            // "2026-10-05 09:13" -> 20261005091300Z
            let digits: String = r.last_logon.chars().filter(char::is_ascii_digit).collect();
            writeln!(out, "authTimestamp: {digits}00Z")?;
        }
        writeln!(out)?;
        let id = self.accounts;
        self.accounts += 1;
        for g in r.groups {
            let g = self.group(g);
            self.groups[g].1.push(id);
        }
        Ok(())
    }

    fn nest(&mut self, parent: &str, child: &str) {
        let child = self.group(child);
        let parent = self.group(parent);
        self.groups[parent].2.push(child);
    }

    /// Writes the groups; `uid` gives each account's uid by number.
    fn finish(mut self, uid: impl Fn(u32) -> String) -> io::Result<()> {
        let out = &mut self.out;
        for (n, (name, members, children)) in self.groups.iter().enumerate() {
            let dn = format!("cn={name},ou=groups,{BASE_DN}");
            write_line(out, "dn", &dn)?;
            if members.is_empty() && children.is_empty() {
                // groupOfNames needs a member.
                writeln!(out, "objectClass: posixGroup\ngidNumber: {}", 10_000 + n)?;
            } else {
                writeln!(out, "objectClass: groupOfNames")?;
            }
            write_line(out, "cn", name)?;
            for &m in members {
                writeln!(out, "member: uid={},ou=people,{BASE_DN}", uid(m))?;
            }
            for &c in children {
                write_line(
                    out,
                    "member",
                    &format!("cn={},ou=groups,{BASE_DN}", self.groups[c].0),
                )?;
            }
            writeln!(out)?;
        }
        out.flush()
    }
}

/// The CSV side: account rows, with their groups in a cell or as rows of
/// their own export.
struct CsvAccounts {
    accounts: BufWriter<File>,
    memberships: Option<BufWriter<File>>,
}

impl CsvAccounts {
    fn new(accounts: &Path, memberships: Option<&Path>) -> io::Result<Self> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(accounts)?);
        let memberships = match memberships {
            Some(path) => {
                writeln!(
                    out,
                    "account,display_name,department,title,employee_type,enabled,expires,last_logon,mail"
                )?;
                let mut m = BufWriter::with_capacity(1 << 20, File::create(path)?);
                writeln!(m, "account,group")?;
                Some(m)
            }
            None => {
                writeln!(
                    out,
                    "account,display_name,department,title,employee_type,enabled,expires,last_logon,mail,group"
                )?;
                None
            }
        };
        Ok(CsvAccounts {
            accounts: out,
            memberships,
        })
    }

    /// Writes one account; returns its memberships.
    fn account(&mut self, r: &AccountRow<'_>) -> io::Result<usize> {
        write!(
            self.accounts,
            "{},{},{},{},Tillsvidare,{},{},{},{}@exempel.se",
            r.account,
            r.name,
            r.department,
            r.title,
            if r.enabled { "true" } else { "false" },
            r.expires,
            r.last_logon,
            r.account,
        )?;
        match &mut self.memberships {
            Some(m) => {
                writeln!(self.accounts)?;
                for g in r.groups {
                    writeln!(m, "{},{g}", r.account)?;
                }
            }
            None => writeln!(self.accounts, ",\"{}\"", r.groups.join(";"))?,
        }
        Ok(r.groups.len())
    }

    fn finish(mut self) -> io::Result<()> {
        self.accounts.flush()?;
        if let Some(m) = &mut self.memberships {
            m.flush()?;
        }
        Ok(())
    }
}

/// The kinds of violation planted at the spec's rate, in turn.
const PLANTED_KINDS: usize = 6;

fn policy(n: usize) -> String {
    let id = format!("sys{n:02}");
    let mut p = format!(
        "[source]\nid = \"{id}\"\nname = \"System {n:02}\"\ncontroller = \"Socialnämnden\"\n\
         activity = \"socialtjanst\"\ndata_categories = [\"halsa\", \"personnummer\"]\n\
         data_subject_groups = [\"barn\"]\nscopes = [\"IFO\", \"VO\", \"GA\"]\n\n\
         [[grant]]\ngroup = '^SG-Sys{n:02}-(?P<scope>IFO|VO|GA)-(?P<role>Las|Skriv|Admin)$'\n\n\
         [[allow]]\nid = \"egen-namnd\"\nrole = [\"Las\", \"Skriv\"]\nscope = \"*\"\n\
         when.department = \"{{scope}}\"\n"
    );
    if n == 5 {
        p.push_str(
            "\n[[allow]]\nid = \"administratorer\"\nrole = \"Admin\"\n\
             accounts = [\"p-adm1\", \"p-adm2\", \"p-adm3\"]\nmax_accounts = 2\n",
        );
    }
    p.push_str(
        "\n[checks]\ninactive_days = 90\nbroad_groups = ['^Alla anst(a|ä)llda$', '^Alla externa$']\n\
         separation_of_duties = [[\"Skriv\", \"Admin\"]]\n",
    );
    p
}

/// Writes the organisation into `dir`: `konton.csv`, `nastling.csv`,
/// `roller.csv` and `policies/`.
pub fn write(spec: &Spec, dir: &Path) -> io::Result<Written> {
    let sources = spec.sources.max(6);
    let mut rng = Rng(spec.seed);
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies)?;
    for n in 1..=sources {
        std::fs::write(policies.join(format!("sys{n:02}.toml")), policy(n))?;
    }

    let units = (spec.accounts / 150).max(1);
    let accounts_path = dir.join("konton.csv");
    let memberships_path = dir.join("medlemskap.csv");
    let mut out = CsvAccounts::new(
        &accounts_path,
        (spec.memberships != Memberships::InCell).then_some(memberships_path.as_path()),
    )?;
    let mut memberships = 0;
    let mut roles = BufWriter::new(File::create(dir.join("roller.csv"))?);
    writeln!(roles, "account,data_source,role,scope")?;
    let ldif_path = dir.join("katalog.ldif");
    let mut directory =
        Directory::new(BufWriter::with_capacity(1 << 20, File::create(&ldif_path)?))?;
    let mut groups: Vec<String> = Vec::with_capacity(8);
    let mut account = String::new();
    let mut name = String::new();
    let mut logon = String::new();
    // The rate's draws come from their own stream, so that the rest of the
    // organisation is the same at every rate.
    let mut planting = Rng(spec.seed ^ 0x0F1D_1265);
    let mut planted_n = 0usize;
    let mut expected: Vec<String> = PLANTED.iter().map(|s| s.to_string()).collect();
    for i in 0..spec.accounts {
        let b = i % 3;
        let board = BOARDS[b];
        let t = rng.below(3);
        let title = TITLES[b][t];
        let unit = rng.below(units);
        account.clear();
        let _ = write!(account, "u{i:07}");
        name.clear();
        let _ = write!(
            name,
            "{} {}",
            FIRST[rng.below(FIRST.len())],
            LAST[rng.below(LAST.len())]
        );
        logon.clear();
        let _ = write!(
            logon,
            "2026-{:02}-{:02} {:02}:{:02}",
            10 + rng.below(2),
            1 + rng.below(28),
            7 + rng.below(10),
            rng.below(60)
        );
        groups.clear();
        groups.push(format!("SG-{board}-Personal"));
        groups.push(format!("SG-{board}-Enhet-{unit:04}"));
        groups.push(format!("R-{board}-{}", ascii(title)));
        let mut picked = [0usize; 4];
        let mut roles_of = ["Las"; 4];
        for k in 0..4 {
            let mut j = 1 + rng.below(sources);
            while picked[..k].contains(&j) || j == 5 {
                j = 1 + (j % sources);
            }
            picked[k] = j;
            roles_of[k] = if rng.below(2) == 0 { "Las" } else { "Skriv" };
            groups.push(format!("SG-Sys{j:02}-{board}-{}", roles_of[k]));
        }
        let planted_kind = (planting.below(1_000_000) < spec.finding_ppm as usize).then(|| {
            planted_n += 1;
            (planted_n - 1) % PLANTED_KINDS
        });
        let (mut enabled, mut expires, mut last_logon) = (true, "", logon.as_str());
        let j = picked[0];
        match planted_kind {
            // Moved to another board, still in one of its access groups.
            Some(0) => {
                let other = BOARDS[(b + 1) % 3];
                groups[3] = format!("SG-Sys{j:02}-{other}-{}", roles_of[0]);
                expected.push(format!(
                    "unauthorized-access sys{j:02} {account} - {} {other}",
                    roles_of[0]
                ));
            }
            // Disabled, expired or inactive, with access to one source only.
            Some(kind @ 1..=3) => {
                groups.truncate(4);
                groups.remove(2);
                let rule = match kind {
                    1 => {
                        enabled = false;
                        "disabled-account"
                    }
                    2 => {
                        expires = "2020-01-01";
                        "expired-account"
                    }
                    _ => {
                        last_logon = "2020-01-01 08:00";
                        "inactive-account"
                    }
                };
                expected.push(format!("{rule} sys{j:02} {account} - - -"));
                // The role export gives the first unit's members System 02.
                if unit == 0 && j != 2 {
                    expected.push(format!("{rule} sys02 {account} - - -"));
                }
            }
            // Writing and administering the same source.
            Some(4) => {
                groups[3] = format!("SG-Sys{j:02}-{board}-Skriv");
                groups.push(format!("SG-Sys{j:02}-{board}-Admin"));
                expected.push(format!("sod-conflict sys{j:02} {account} - - -"));
                expected.push(format!(
                    "unauthorized-access sys{j:02} {account} - Admin {board}"
                ));
            }
            // A role in the source's own export for an account the
            // directory does not have.
            Some(_) => {
                writeln!(roles, "x{i:07},sys{j:02},Las,{board}")?;
                expected.push(format!("unknown-account sys{j:02} x{i:07} - - -"));
            }
            None => {}
        }
        let row = AccountRow {
            account: &account,
            name: &name,
            department: board,
            title,
            enabled,
            expires,
            last_logon,
            groups: &groups,
        };
        memberships += out.account(&row)?;
        directory.account(&row)?;
        if i % 10 == 0 && planted_kind.is_none() {
            writeln!(roles, "{account},sys01,Las,{board}")?;
        }
    }

    // The planted violations.
    // (account, department, enabled, expires, last logon, groups)
    type Planted<'a> = (&'a str, &'a str, bool, &'a str, &'a str, Vec<String>);
    let planted: Vec<Planted<'_>> = vec![
        (
            "p-mover",
            "VO",
            true,
            "",
            "2026-11-20 08:00",
            vec!["SG-VO-Personal".into(), "SG-Sys01-IFO-Las".into()],
        ),
        (
            "p-disabled",
            "IFO",
            false,
            "",
            "2026-11-20 08:00",
            vec!["SG-Sys02-IFO-Las".into()],
        ),
        (
            "p-expired",
            "IFO",
            true,
            "2020-01-01",
            "2026-11-20 08:00",
            vec!["SG-Sys02-IFO-Las".into()],
        ),
        (
            "p-inactive",
            "IFO",
            true,
            "",
            "2020-01-01 08:00",
            vec!["SG-Sys02-IFO-Las".into()],
        ),
        (
            "p-sod",
            "IFO",
            true,
            "",
            "2026-11-20 08:00",
            vec!["SG-Sys03-IFO-Skriv".into(), "SG-Sys03-IFO-Admin".into()],
        ),
        (
            "p-ext",
            "GA",
            true,
            "",
            "2026-11-20 08:00",
            vec!["Alla externa".into()],
        ),
        (
            "p-adm1",
            "IFO",
            true,
            "",
            "2026-11-20 08:00",
            vec!["SG-Sys05-IFO-Admin".into()],
        ),
        (
            "p-adm2",
            "IFO",
            true,
            "",
            "2026-11-20 08:00",
            vec!["SG-Sys05-IFO-Admin".into()],
        ),
        (
            "p-adm3",
            "IFO",
            true,
            "",
            "2026-11-20 08:00",
            vec!["SG-Sys05-IFO-Admin".into()],
        ),
        (
            "p-cycle",
            "VO",
            true,
            "",
            "2026-11-20 08:00",
            vec!["SG-C1".into()],
        ),
    ];
    for (account, department, enabled, expires, last_logon, groups) in &planted {
        let row = AccountRow {
            account,
            name: "Planterad Avvikelse",
            department,
            title: "Handläggare",
            enabled: *enabled,
            expires,
            last_logon,
            groups,
        };
        memberships += out.account(&row)?;
        directory.account(&row)?;
    }
    writeln!(roles, "p-ghost,sys01,Las,IFO")?;
    for b in BOARDS {
        writeln!(roles, ",sys02,Las,{b}")?;
    }
    out.finish()?;
    if spec.memberships == Memberships::ExportByGroup {
        by_group(&memberships_path)?;
    }
    roles.flush()?;
    drop(roles);
    // Role-export rows for whole units (group holders).
    let roles_text = std::fs::read_to_string(dir.join("roller.csv"))?.replace(
        "account,data_source,role,scope",
        "account,group,data_source,role,scope",
    );
    let mut fixed = String::with_capacity(roles_text.len() + 64);
    for (n, line) in roles_text.lines().enumerate() {
        if n == 0 {
            fixed.push_str(line);
        } else if let Some(rest) = line.strip_prefix(',') {
            let board = rest.rsplit(',').next().unwrap_or("IFO");
            let _ = write!(fixed, ",SG-{board}-Enhet-0000,{rest}");
        } else if let Some((account, rest)) = line.split_once(',') {
            let _ = write!(fixed, "{account},,{rest}");
        }
        fixed.push('\n');
    }
    std::fs::write(dir.join("roller.csv"), fixed)?;

    let mut pairs: Vec<(String, String)> = Vec::new();
    for (b, board) in BOARDS.iter().enumerate() {
        pairs.push(("Alla anställda".into(), format!("SG-{board}-Personal")));
        for (t, title) in TITLES[b].iter().enumerate() {
            let j = (t * 7 + b) % sources + 1;
            let j = if j == 5 { 6 } else { j };
            pairs.push((
                format!("SG-Sys{j:02}-{board}-Las"),
                format!("R-{board}-{}", ascii(title)),
            ));
        }
    }
    for (parent, child) in [
        ("SG-Sys04-GA-Las", "Alla externa"),
        ("SG-C2", "SG-C1"),
        ("SG-C1", "SG-C2"),
        ("SG-Sys06-IFO-Las", "SG-C2"),
    ] {
        pairs.push((parent.into(), child.into()));
    }
    let mut nesting = BufWriter::new(File::create(dir.join("nastling.csv"))?);
    writeln!(nesting, "group,member_group")?;
    for (parent, child) in &pairs {
        writeln!(nesting, "{parent},{child}")?;
        directory.nest(parent, child);
    }
    nesting.flush()?;
    drop(nesting);
    let generated = spec.accounts as u32;
    directory.finish(|m| {
        if m < generated {
            format!("u{m:07}")
        } else {
            planted[(m - generated) as usize].0.to_string()
        }
    })?;

    let mut csv = vec![accounts_path];
    if spec.memberships != Memberships::InCell {
        csv.push(memberships_path);
    }
    csv.extend([dir.join("nastling.csv"), dir.join("roller.csv")]);
    expected.sort();
    let mut bytes = 0;
    for f in &csv {
        bytes += std::fs::metadata(f)?.len();
    }
    Ok(Written {
        csv,
        ldif_bytes: std::fs::metadata(&ldif_path)?.len(),
        ldif: ldif_path,
        roles: dir.join("roller.csv"),
        policies,
        memberships,
        groups: 3 * (units + 1 + 3) + sources * 9 + 4,
        bytes,
        expected,
    })
}

/// A synthetic access log (see [`write_access_log`]).
#[derive(Debug, Clone)]
pub struct AccessLog {
    pub path: PathBuf,
    pub rows: usize,
    pub bytes: u64,
}

/// The planted use in a synthetic access log: `p-mover`'s unauthorized
/// read access to `sys01` in IFO was used this many times, on this many
/// records.
pub const PLANTED_USE: (u64, u64) = (7, 3);

/// Writes an access log of `rows` rows for the organisation of `spec`
/// into `dir` (`atkomstlogg.csv`, about 95 bytes a row): its accounts
/// opening records in its data sources and scopes, the planted use of
/// [`PLANTED_USE`], and one row of an account the directory does not
/// have. Deterministic from the seed.
pub fn write_access_log(spec: &Spec, rows: usize, dir: &Path) -> io::Result<AccessLog> {
    let sources = spec.sources.max(6);
    let mut rng = Rng(spec.seed ^ 0x5EED_1065);
    let path = dir.join("atkomstlogg.csv");
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
    writeln!(out, "account,data_source,time,scope,action,record,client")?;
    let (events, records) = PLANTED_USE;
    let every = (rows / (events as usize + 2)).max(1);
    let mut planted = 0u64;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 10, 1)
        .unwrap_or_default()
        .and_time(chrono::NaiveTime::MIN);
    let mut line = String::with_capacity(128);
    for i in 0..rows {
        let time = start + chrono::Duration::seconds((i as i64 * 50 * 86_400) / rows.max(1) as i64);
        let time = time.format("%Y-%m-%dT%H:%M:%S");
        line.clear();
        if i % every == every / 2 && planted < events {
            let _ = write!(
                line,
                "p-mover,sys01,{time},IFO,visa journalanteckning,AR-2026-P{:03},10.0.0.1",
                planted % records
            );
            planted += 1;
        } else if i == rows / 2 {
            let _ = write!(line, "p-gone,sys02,{time},VO,visa,AR-2026-X0001,10.0.0.2");
        } else {
            let _ = write!(
                line,
                "u{:07},sys{:02},{time},{},visa journalanteckning,AR-2026-{:08},10.{}.{}.{}",
                rng.below(spec.accounts.max(1)),
                1 + rng.below(sources),
                BOARDS[rng.below(3)],
                rng.below(100_000_000),
                rng.below(256),
                rng.below(256),
                rng.below(256)
            );
        }
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    let bytes = std::fs::metadata(&path)?.len();
    Ok(AccessLog { path, rows, bytes })
}
