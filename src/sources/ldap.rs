//! LDAP directories (Active Directory, OpenLDAP, Samba AD) read over a
//! verified TLS connection, or a Kerberos-sealed one, into directory
//! entries, which [`directory`](super::directory) maps to the inventory.
//!
//! The protocol is the `ldap3` crate's, over rustls. One thread drives
//! the connection: the paged search, each next page asked for as soon as
//! a page ends, entries decoded as they come and handed on in batches
//! through a short queue; this thread maps them. A full queue stops the
//! reading, so memory stays at a few batches however large the directory.
//!
//! The read fails closed: a refused or lost connection, a failed bind, a
//! time-out, the read's deadline, a size or time limit, a paged search
//! that stops before its last page or pages without end, references
//! without end and an entry that cannot be decoded all end the audit with
//! a [`SourceError`] naming the server (exit 3), never with a partial
//! inventory. Set-up mistakes (a URL that does not parse, plain `ldap://`
//! to a remote host, a missing password, unreadable certificate or keytab
//! files, settings out of range) end it before anything is sent, as
//! usage errors (exit 2). Search continuation references (AD's
//! DomainDnsZones, Configuration...) are other naming contexts: they are
//! skipped, and the run says so on stderr.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ldap3::asn1::{StructureTag, PL};
use ldap3::controls::{PagedResults, RawControl};
use ldap3::{LdapConn, LdapConnSettings, LdapError, Scope};

use crate::config::LdapConfig;
use crate::error::Error;
use crate::inventory::InventoryBuilder;
use crate::sources::directory::{self, DirEntry, Mapping};
use crate::sources::SourceError;

#[cfg(feature = "kerberos")]
mod kerberos;
mod tls;

const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";
/// The object classes of the entries a read maps: accounts, contacts,
/// computers and AD's foreign security principals (what a group can name
/// as a member), then groups.
const ACCOUNT_CLASSES: [&str; 4] = ["user", "person", "posixAccount", "foreignSecurityPrincipal"];
const GROUP_CLASSES: [&str; 4] = ["group", "groupOfNames", "groupOfUniqueNames", "posixGroup"];

/// How long a directory read may take unless `deadline_s` says otherwise:
/// ample for a nightly run over hundreds of thousands of entries, and
/// still done before the working day when a server stalls.
pub const DEFAULT_DEADLINE_S: u64 = 2 * 60 * 60;
/// The largest `timeout_s` and `deadline_s` taken: a day.
const MAX_SECONDS: u64 = 24 * 60 * 60;
/// Search continuation references one read may skip. AD sends a handful
/// (DomainDnsZones, ForestDnsZones, Configuration); more is a server in
/// a loop.
const MAX_REFERENCES: usize = 10_000;
/// Entries one read may hold: far beyond a municipality's directory.
const MAX_ENTRIES: usize = 10_000_000;
/// Bytes of attribute values one read may hold.
const MAX_READ_BYTES: usize = 8 << 30;
/// Pages in a row that bring no entry: a server repeating its cookie.
const MAX_EMPTY_PAGES: usize = 100;

/// `(|(objectClass=a)(objectClass=b)...)`.
fn any_class(classes: &[&str]) -> String {
    let mut f = String::from("(|");
    for c in classes {
        f.push_str("(objectClass=");
        f.push_str(c);
        f.push(')');
    }
    f.push(')');
    f
}

/// Every entry a read maps.
fn filter() -> String {
    let mut all = ACCOUNT_CLASSES.to_vec();
    all.extend(GROUP_CLASSES);
    any_class(&all)
}

/// The read's two searches: the accounts and what else can be a member,
/// then the groups. Groups come last so that their members are known when
/// they come, and in pages of their own, sized by their bytes: one group
/// can hold tens of thousands of members. (The first filter cannot say
/// "not a group": a server that lacks one of the group classes evaluates
/// a filter on it as undefined, and the negation of undefined matches
/// nothing. An entry that is both comes in the first search and is
/// skipped in the second.)
fn searches() -> [(String, Paging, &'static [&'static str]); 2] {
    [
        (any_class(&ACCOUNT_CLASSES), Paging::Configured, &[]),
        (any_class(&GROUP_CLASSES), Paging::BySize, &ACCOUNT_CLASSES),
    ]
}

/// How a search's first page is sized.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Paging {
    /// `page_size` from the start.
    Configured,
    /// [`MIN_PAGE`] entries first, then as many as fit [`PAGE_BYTES`].
    BySize,
}

/// The search filter and attributes of a directory read, for tools that
/// want to dump the same data (the benchmark compares against them): the
/// attributes the mapping reads and those in `keep`, or every attribute
/// (`*`) when `keep` is `None`. An audit asks only for what its policies
/// read: less to send, and no personal data it has no use for.
pub fn search_request(mapping: &Mapping, keep: Option<&[String]>) -> (String, Vec<String>) {
    let mut attrs = match keep {
        None => vec!["*".to_string()],
        Some(names) => names.to_vec(),
    };
    attrs.extend(mapping.search_attributes());
    attrs.sort();
    attrs.dedup();
    (filter(), attrs)
}

/// The settings of `[ldap]`, with the contract's defaults where the
/// configuration is absent.
fn effective(config: Option<&LdapConfig>) -> LdapConfig {
    match config {
        Some(c) => c.clone(),
        None => LdapConfig {
            tls_verify_hostname: true,
            page_size: 1000,
            timeout_s: 30,
            ..LdapConfig::default()
        },
    }
}

/// The scheme (lower case), host (without brackets) and port, if one is
/// written, of an `ldap://`/`ldaps://` URL.
fn url_host(url: &str) -> Option<(String, String, Option<String>)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (host, after) = inner.split_once(']').unwrap_or((inner, ""));
        (host, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    Some((
        scheme.to_ascii_lowercase(),
        host.to_string(),
        port.filter(|p| !p.is_empty()).map(str::to_string),
    ))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// The server as messages show it: the URL without any user part.
fn server_name(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{host}{path}")
}

/// A set-up mistake: nothing was sent to the server (exit 2).
fn setup(e: SourceError) -> Error {
    Error::Usage(e.to_string())
}

fn read_password(config: &LdapConfig, server: &str) -> Result<Option<String>, Error> {
    if let Some(var) = &config.password_env {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(v)),
            _ => Err(setup(SourceError::new(
                server,
                format!("the bind password is not set: the environment variable `{var}` is empty or unset"),
            )
            .with_help(format!("export {var} before running, or use `password_file` in [ldap]")))),
        };
    }
    if let Some(path) = &config.password_file {
        warn_if_shared(path);
        let text = crate::text::read_bounded(path, 64 * 1024).map_err(|e| {
            setup(
                SourceError::new(
                    server,
                    format!("cannot read the password file `{}`: {e}", path.display()),
                )
                .with_help("check `password_file` in [ldap]"),
            )
        })?;
        let pw = text.trim_end_matches(['\n', '\r']).to_string();
        if pw.is_empty() {
            return Err(setup(SourceError::new(
                server,
                format!("the password file `{}` is empty", path.display()),
            )));
        }
        return Ok(Some(pw));
    }
    Ok(None)
}

/// How the read proves who it is, checked before anything is sent.
enum Auth {
    /// A simple bind with a DN and its password.
    Simple { dn: String, password: String },
    /// No bind: loopback test servers that allow anonymous reads.
    Anonymous,
    /// SASL GSSAPI with the credential cache, or the keytab's principal.
    #[cfg_attr(not(feature = "kerberos"), allow(dead_code))]
    Kerberos {
        keytab: Option<std::path::PathBuf>,
        principal: Option<String>,
    },
}

fn auth(config: &LdapConfig, server: &str) -> Result<Auth, Error> {
    match config.auth.as_deref().unwrap_or("simple") {
        "simple" => {}
        "kerberos" => {
            if config.bind_dn.is_some()
                || config.password_env.is_some()
                || config.password_file.is_some()
            {
                return Err(setup(SourceError::new(
                    server,
                    "`auth = \"kerberos\"` takes no `bind_dn` and no password",
                )
                .with_help("remove `bind_dn`, `password_env` and `password_file` from [ldap]: Kerberos proves who behorig is with the keytab or the credential cache")));
            }
            if config.keytab.is_some() != config.principal.is_some() {
                return Err(setup(
                    SourceError::new(server, "`keytab` and `principal` go together")
                        .with_help("name both in [ldap], e.g. keytab = \"/etc/behorig/behorig.keytab\" and principal = \"svc-behorig@EXAMPLE.SE\", or neither to use the credential cache"),
                ));
            }
            if !cfg!(feature = "kerberos") {
                return Err(setup(SourceError::new(
                    server,
                    "this behorig was built without Kerberos support",
                )
                .with_help("build with `cargo build --release --features kerberos`, or use `auth = \"simple\"`")));
            }
            return Ok(Auth::Kerberos {
                keytab: config.keytab.clone(),
                principal: config.principal.clone(),
            });
        }
        other => {
            return Err(setup(
                SourceError::new(server, format!("unknown `auth = \"{other}\"` in [ldap]"))
                    .with_help(
                        "write auth = \"simple\" (bind_dn and a password) or auth = \"kerberos\"",
                    ),
            ));
        }
    }
    if config.keytab.is_some() || config.principal.is_some() {
        return Err(setup(
            SourceError::new(server, "`keytab` and `principal` are for Kerberos")
                .with_help("add auth = \"kerberos\" to [ldap], or remove `keytab` and `principal`"),
        ));
    }
    let password = read_password(config, server)?;
    match (&config.bind_dn, password) {
        (Some(dn), Some(password)) => Ok(Auth::Simple {
            dn: dn.clone(),
            password,
        }),
        // A DN with an empty password is an anonymous bind that succeeds
        // and may then see only part of the directory.
        (Some(dn), None) => Err(setup(
            SourceError::new(server, format!("no password for the bind as `{dn}`"))
                .with_help("set `password_env` or `password_file` in [ldap]"),
        )),
        (None, _) => Ok(Auth::Anonymous),
    }
}

/// The deadline of the whole read and the wait for one answer.
#[derive(Clone, Copy)]
struct Clock {
    deadline: Instant,
    deadline_s: u64,
    timeout: Duration,
}

impl Clock {
    /// The wait allowed for the next answer: the time-out, or what is
    /// left of the read if that is less.
    fn wait(&self, server: &str) -> Result<Duration, SourceError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.passed(server));
        }
        Ok(left.min(self.timeout))
    }

    fn check(&self, server: &str) -> Result<(), SourceError> {
        if Instant::now() >= self.deadline {
            return Err(self.passed(server));
        }
        Ok(())
    }

    fn passed(&self, server: &str) -> SourceError {
        SourceError::new(
            server,
            format!("the directory read did not finish within its deadline of {} s", self.deadline_s),
        )
        .with_help("the server kept the read going without end, or is very slow: check the server, or raise `deadline_s` in [ldap]")
    }
}

/// Reads the directory at `url` into the inventory.
pub fn read(
    url: &str,
    config: Option<&LdapConfig>,
    mapping: &Mapping,
    inventory: &mut InventoryBuilder,
) -> Result<(), Error> {
    let config = effective(config);
    let server = server_name(url);
    let help_url = "write ldaps://host:636, or ldap://host:389 with `starttls = true` in [ldap]";
    let Some((scheme, host, port)) = url_host(url) else {
        return Err(setup(
            SourceError::new(&server, "not an LDAP URL").with_help(help_url),
        ));
    };
    if let Err(e) = url::Url::parse(url) {
        return Err(setup(
            SourceError::new(&server, format!("the URL does not parse: {e}")).with_help(help_url),
        ));
    }
    let kerberos = config.auth.as_deref() == Some("kerberos");
    match scheme.as_str() {
        "ldaps" => {}
        // Kerberos seals a plain connection itself.
        "ldap" if config.starttls || kerberos || is_loopback(&host) => {}
        "ldap" => {
            return Err(setup(SourceError::new(
                &server,
                "refusing to send credentials and personal data over plain `ldap://` to a host that is not loopback",
            )
            .with_help("use ldaps://, or set `starttls = true` in [ldap]")));
        }
        _ => {
            return Err(setup(
                SourceError::new(&server, format!("unknown URL scheme `{scheme}`"))
                    .with_help(help_url),
            ));
        }
    }
    if let Some(p) = &port {
        if p.parse::<u16>().is_err() {
            return Err(setup(
                SourceError::new(&server, format!("the port `{p}` is not a port number"))
                    .with_help("write ldaps://host:636 or ldap://host:389"),
            ));
        }
    }
    if host.is_empty() {
        return Err(setup(
            SourceError::new(&server, "the URL names no host").with_help(help_url),
        ));
    }
    for (key, value) in [
        ("timeout_s", config.timeout_s),
        ("deadline_s", config.deadline_s),
    ] {
        if value > MAX_SECONDS {
            return Err(setup(
                SourceError::new(
                    &server,
                    format!("`{key} = {value}` in [ldap] is more than a day"),
                )
                .with_help(format!("write a `{key}` of at most {MAX_SECONDS} seconds")),
            ));
        }
    }
    let auth = auth(&config, &server)?;
    let mut config = config;
    if kerberos && scheme == "ldap" {
        // On a sealed connection the LDAP library reads one SASL buffer
        // at a time and loses the messages after the first of a buffer
        // when the next buffer has already come: one entry a page keeps
        // a single buffer in flight.
        config.page_size = 1;
    }
    #[cfg(feature = "kerberos")]
    if let Auth::Kerberos { keytab, .. } = &auth {
        kerberos::prepare(keytab.as_deref(), &server)?;
    }
    let uses_tls = scheme == "ldaps" || config.starttls;
    let tls = if uses_tls {
        Some(tls::client_config(&config, &server).map_err(setup)?)
    } else {
        None
    };
    let deadline_s = if config.deadline_s == 0 {
        DEFAULT_DEADLINE_S
    } else {
        config.deadline_s
    };
    let clock = Clock {
        deadline: Instant::now() + Duration::from_secs(deadline_s),
        deadline_s,
        timeout: Duration::from_secs(config.timeout_s.max(1)),
    };

    let mut settings = LdapConnSettings::new().set_conn_timeout(clock.wait(&server)?);
    if let Some(tls) = tls {
        settings = settings.set_config(tls);
    }
    if scheme == "ldap" && config.starttls {
        settings = settings.set_starttls(true);
    }
    let panics = PanicCapture::install();
    let result = (|| -> Result<(), Error> {
        let mut conn = LdapConn::with_settings(settings, url)
            .map_err(|e| ldap_error(&server, "cannot connect", &e, &clock, &panics))?;
        bind(
            &mut conn,
            &auth,
            &server,
            &host,
            scheme == "ldaps",
            &clock,
            &panics,
        )?;
        session(conn, &server, &config, clock, &panics, mapping, inventory)?;
        Ok(())
    })();
    drop(panics);
    result
}

fn bind(
    conn: &mut LdapConn,
    auth: &Auth,
    server: &str,
    host: &str,
    over_tls: bool,
    clock: &Clock,
    panics: &PanicCapture,
) -> Result<(), Error> {
    let _ = (host, over_tls);
    match auth {
        Auth::Anonymous => Ok(()),
        Auth::Simple { dn, password } => {
            let result = conn
                .with_timeout(clock.wait(server)?)
                .simple_bind(dn, password)
                .map_err(|e| ldap_error(server, "the bind failed", &e, clock, panics))?;
            if result.rc != 0 {
                return Err(SourceError::new(
                    server,
                    format!("the bind as `{dn}` failed (result {}{})", result.rc, detail(&result.text)),
                )
                .with_help("check `bind_dn` and the password; Active Directory also needs TLS for simple binds")
                .into());
            }
            Ok(())
        }
        #[cfg(feature = "kerberos")]
        Auth::Kerberos { principal, .. } => kerberos::bind(
            conn,
            principal.as_deref(),
            server,
            host,
            clock.wait(server)?,
        ),
        #[cfg(not(feature = "kerberos"))]
        Auth::Kerberos { .. } => Ok(()),
    }
}

fn detail(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// Describes an error of the LDAP library for a user, with a help line.
fn ldap_error(
    server: &str,
    what: &str,
    e: &LdapError,
    clock: &Clock,
    panics: &PanicCapture,
) -> SourceError {
    use std::io::ErrorKind;
    if let Some(why) = panics.take() {
        return SourceError::new(
            server,
            format!("{what}: the server sent a message that is not valid LDAP ({why})"),
        )
        .with_help("the server, or something between it and behorig, sent bytes that are not LDAP: check the URL's port and scheme (ldaps:// for TLS)");
    }
    match e {
        LdapError::Timeout { .. } => {
            if Instant::now() >= clock.deadline {
                return clock.passed(server);
            }
            SourceError::new(
                server,
                format!("{what}: no answer within {} s", clock.timeout.as_secs()),
            )
            .with_help("the server did not answer within `timeout_s`: check the server, or raise `timeout_s` in [ldap]")
        }
        LdapError::Io { source } => match source.kind() {
            ErrorKind::ConnectionRefused => SourceError::new(server, format!("{what}: {source}"))
                .with_help("check the URL and the port, and that the server is running"),
            ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe => lost(server, what, &source.to_string()),
            ErrorKind::InvalidData | ErrorKind::Other
                if source.to_string().contains("decoding error") =>
            {
                SourceError::new(server, format!("{what}: the server sent a message that is not valid LDAP"))
                    .with_help("the server, or something between it and behorig, sent bytes that are not LDAP: check the URL's port and scheme (ldaps:// for TLS)")
            }
            _ if tls::is_tls_io_error(source) => tls::handshake_error(server, &source.to_string()),
            _ => SourceError::new(server, format!("{what}: {source}"))
                .with_help("check the server and the [ldap] settings"),
        },
        LdapError::Rustls { source } => tls::handshake_error(server, &source.to_string()),
        LdapError::DNSName { source } => SourceError::new(
            server,
            format!("cannot connect: the host is not a name a certificate can hold: {source}"),
        )
        .with_help("write the server's DNS name in the URL"),
        LdapError::LdapResult { result } => SourceError::new(
            server,
            format!("{what}: the server refused (result {}{})", result.rc, detail(&result.text)),
        )
        .with_help(if what == "cannot connect" {
            "the server refused StartTLS: use ldaps://, or enable TLS on the server"
        } else {
            "check the server and the [ldap] settings"
        }),
        LdapError::EndOfStream | LdapError::ResultRecv { .. } | LdapError::OpSend { .. } => {
            lost(server, what, "the connection ended")
        }
        other => SourceError::new(server, format!("{what}: {other}"))
            .with_help("check the server and the [ldap] settings"),
    }
}

fn lost(server: &str, what: &str, why: &str) -> SourceError {
    SourceError::new(server, format!("{what}: the connection was lost ({why})"))
        .with_help("the server, or something between it and behorig, closed the connection: run the audit again")
}

/// The LDAP library stops on some malformed messages by panicking in the
/// task that reads the connection; that task ends and the read sees the
/// connection gone. While a read runs, such panics are kept as the reason
/// instead of being printed; any other panic is printed as before.
struct PanicCapture {
    caught: Arc<Mutex<Option<String>>>,
    previous: Arc<PanicHook>,
}

type PanicHook = dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync;

impl PanicCapture {
    fn install() -> Self {
        let caught: Arc<Mutex<Option<String>>> = Arc::default();
        let slot = caught.clone();
        let previous: Arc<PanicHook> = Arc::from(std::panic::take_hook());
        let forward = previous.clone();
        std::panic::set_hook(Box::new(move |info| {
            let in_library = info.location().is_some_and(|l| {
                let file = l.file();
                file.contains("ldap3") || file.contains("lber")
            });
            if in_library {
                let why = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "an unreadable message".into());
                if let Ok(mut slot) = slot.lock() {
                    slot.get_or_insert(why);
                }
            } else {
                forward(info);
            }
        }));
        PanicCapture { caught, previous }
    }

    fn take(&self) -> Option<String> {
        self.caught.lock().ok().and_then(|mut s| s.take())
    }
}

impl Drop for PanicCapture {
    fn drop(&mut self) {
        let previous = self.previous.clone();
        std::panic::set_hook(Box::new(move |info| previous(info)));
    }
}

/// Reads the directory over a connection that is ready for searches:
/// the whole paged search, then the ranged values it announced.
fn session(
    mut conn: LdapConn,
    server: &str,
    config: &LdapConfig,
    clock: Clock,
    panics: &PanicCapture,
    mapping: &Mapping,
    inventory: &mut InventoryBuilder,
) -> Result<(), SourceError> {
    let page_size = if config.page_size == 0 {
        1000
    } else {
        config.page_size
    };
    let base_dn = match config.base_dn.clone().filter(|b| !b.trim().is_empty()) {
        Some(b) => b,
        None => naming_context(&mut conn, server, &clock, panics)?,
    };

    // The connection is read on its own thread, which asks for the next
    // page as soon as a page has come and hands the decoded entries on in
    // batches through a short queue; this thread maps them. When the
    // mapping falls behind, the queue fills, the reader stops reading and
    // TCP holds the server back: memory stays at a few batches.
    let (_, attrs) = search_request(mapping, inventory.keep.as_deref());
    let progress = Progress::new();
    let mut builder = directory::Builder::new(mapping);
    let mut ranged = Vec::new();
    let mut count = 0usize;
    let source: Arc<str> = Arc::from(server);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<DirEntry>>(QUEUE_BATCHES);
    let references = std::thread::scope(|scope| -> Result<Skipped, SourceError> {
        let conn = &mut conn;
        let base_dn = &base_dn;
        let attrs = &attrs;
        let reader = std::thread::Builder::new()
            .name("ldap-reader".into())
            .spawn_scoped(scope, move || {
                let mut batch = Vec::with_capacity(BATCH_ENTRIES);
                let mut batch_bytes = 0usize;
                let mut read = ReadTotals::default();
                let mut hand_on = |entry: DirEntry| {
                    batch_bytes += entry
                        .attrs
                        .iter()
                        .flat_map(|(_, v)| v)
                        .map(|v| v.len() + VALUE_OVERHEAD)
                        .sum::<usize>();
                    batch.push(entry);
                    if (batch.len() >= BATCH_ENTRIES || batch_bytes >= BATCH_BYTES)
                        && tx
                            .send(std::mem::replace(
                                &mut batch,
                                Vec::with_capacity(BATCH_ENTRIES),
                            ))
                            .is_err()
                    {
                        return Err(SourceError::new(server, "the read was abandoned"));
                    }
                    if batch.is_empty() {
                        batch_bytes = 0;
                    }
                    Ok(())
                };
                for (filter, paging, skip) in searches() {
                    paged_search(
                        conn,
                        server,
                        base_dn,
                        (&filter, paging, skip),
                        attrs,
                        page_size,
                        &clock,
                        panics,
                        &source,
                        &mut read,
                        &mut hand_on,
                    )?;
                }
                let skipped = read.skipped;
                if tx.send(batch).is_err() {
                    return Err(SourceError::new(server, "the read was abandoned"));
                }
                Ok(skipped)
            })
            .map_err(|e| SourceError::new(server, format!("cannot start the reader: {e}")))?;
        let mut mapped = Ok(());
        'batches: for batch in rx.iter() {
            for entry in batch {
                count += 1;
                progress.tick(count);
                if entry
                    .attrs
                    .iter()
                    .any(|(k, _)| k.as_bytes().contains(&b';') && k.contains(";range="))
                {
                    ranged.push(entry);
                } else if let Err(e) = builder.add(entry, inventory) {
                    mapped = Err(e);
                    break 'batches;
                }
            }
        }
        // Stops the reader at its next batch if the mapping failed first.
        drop(rx);
        let read = reader.join().map_err(|_| {
            SourceError::new(server, "the directory read stopped unexpectedly")
                .with_help("run the audit again")
        })?;
        // A mapping error explains an abandoned read; otherwise the read's
        // own error comes first: what was mapped may be short.
        mapped.and(read)
    })?;
    read_ranges(&mut conn, &mut ranged, server, &clock, panics)?;
    for entry in ranged {
        builder.add(entry, inventory)?;
    }
    progress.finish();
    let _ = conn.unbind();
    if references.count > 0 {
        inventory.warnings.push(format!(
            "{server}: skipped {} search reference{} to other naming contexts ({}{}): referrals are not followed",
            references.count,
            if references.count == 1 { "" } else { "s" },
            references.first.as_deref().unwrap_or("no URL"),
            if references.count > 1 { ", ..." } else { "" }
        ));
    }
    inventory.inputs.push(server.to_string());
    builder.finish(inventory)
}

/// Entries handed from the reading thread to the mapping at a time, and
/// how many batches may wait. A batch also goes once its values pass
/// [`BATCH_BYTES`]: a group entry can hold tens of thousands of members,
/// and batches counted in entries alone would let the queue hold most
/// of a directory's memberships at once.
const BATCH_ENTRIES: usize = 512;
const BATCH_BYTES: usize = 256 << 10;
const QUEUE_BATCHES: usize = 2;
/// What a value costs beyond its bytes (its `Vec`), for [`BATCH_BYTES`].
const VALUE_OVERHEAD: usize = 24;

/// The search continuation references a read skipped.
#[derive(Default)]
struct Skipped {
    count: usize,
    first: Option<String>,
}

/// Every entry found by a base search of `dn`, decoded.
fn read_base(
    conn: &mut LdapConn,
    server: &str,
    dn: &str,
    attrs: Vec<String>,
    clock: &Clock,
    panics: &PanicCapture,
) -> Result<(Vec<DirEntry>, ldap3::LdapResult), SourceError> {
    let ldap3::SearchResult(found, result) = conn
        .with_timeout(clock.wait(server)?)
        .search(dn, Scope::Base, "(objectClass=*)", attrs)
        .map_err(|e| ldap_error(server, "the search failed", &e, clock, panics))?;
    let source: Arc<str> = Arc::from(server);
    let entries = found
        .into_iter()
        .filter(|e| !e.is_ref() && !e.is_intermediate())
        .map(|e| decode_entry(e.0, &source).ok_or_else(|| undecodable(server)))
        .collect::<Result<_, _>>()?;
    Ok((entries, result))
}

/// The directory's own base DN when `base_dn` is not set: AD's
/// `defaultNamingContext`, else the only entry of `namingContexts`.
fn naming_context(
    conn: &mut LdapConn,
    server: &str,
    clock: &Clock,
    panics: &PanicCapture,
) -> Result<String, SourceError> {
    let missing = || {
        SourceError::new(
            server,
            "no base DN to search, and the server does not name a single one",
        )
        .with_help("set `base_dn` in [ldap], e.g. base_dn = \"DC=example,DC=se\"")
    };
    let (found, res) = read_base(
        conn,
        server,
        "",
        vec!["defaultNamingContext".into(), "namingContexts".into()],
        clock,
        panics,
    )?;
    if res.rc != 0 {
        return Err(missing());
    }
    let root = found.into_iter().next().ok_or_else(missing)?;
    let text = |v: &Vec<u8>| String::from_utf8(v.clone()).ok();
    if let Some(dn) = root.values("defaultnamingcontext").first().and_then(text) {
        return Ok(dn);
    }
    match root.values("namingcontexts") {
        [only] => text(only).ok_or_else(missing),
        _ => Err(missing()),
    }
}

fn undecodable(server: &str) -> SourceError {
    SourceError::new(server, "an entry of the search result could not be decoded")
        .with_help(format!("the server, or something between it and behorig, sent an entry that is not valid LDAP or has more than {} different attributes", directory::MAX_ATTRIBUTES))
}

/// What the searches of one read have brought so far, for the bounds on
/// the whole read.
#[derive(Default)]
struct ReadTotals {
    entries: usize,
    bytes: usize,
    skipped: Skipped,
}

/// Runs one paged search under `base_dn`, calling `entry` with each entry
/// as it arrives; counts what it brings into `read`.
#[allow(clippy::too_many_arguments)]
fn paged_search(
    conn: &mut LdapConn,
    server: &str,
    base_dn: &str,
    (filter, paging, skip): (&str, Paging, &[&str]),
    attrs: &[String],
    page_size: u32,
    clock: &Clock,
    panics: &PanicCapture,
    source: &Arc<str>,
    read: &mut ReadTotals,
    mut entry: impl FnMut(DirEntry) -> Result<(), SourceError>,
) -> Result<(), SourceError> {
    let mut cookie: Vec<u8> = Vec::new();
    let mut empty_pages = 0usize;
    let mut entries_here = 0usize;
    // The page asked for next: `page_size` entries at most, fewer where
    // the entries are large (groups with thousands of members), so that a
    // page holds about PAGE_BYTES. The LDAP library decodes all of what
    // the server has sent of a page before the reader takes its first
    // entry, so a page of a thousand large groups would be held decoded
    // at once.
    let mut asked = match paging {
        Paging::Configured => page_size.max(1),
        Paging::BySize => MIN_PAGE.min(page_size.max(1)),
    };
    let failed = |e: LdapError| ldap_error(server, "the search failed", &e, clock, panics);
    loop {
        let mut control: RawControl = PagedResults {
            size: i32::try_from(asked).unwrap_or(i32::MAX),
            cookie: std::mem::take(&mut cookie),
        }
        .into();
        control.crit = true;
        let mut stream = conn
            .with_timeout(clock.wait(server)?)
            .with_controls(vec![control])
            .streaming_search(base_dn, Scope::Subtree, filter, attrs.to_vec())
            .map_err(failed)?;
        let mut on_page = 0usize;
        let mut page_bytes = 0usize;
        while let Some(item) = stream.next().map_err(failed)? {
            clock.check(server)?;
            if item.is_ref() {
                read.skipped.count += 1;
                if read.skipped.first.is_none() {
                    read.skipped.first = reference_url(&item.0);
                }
                if read.skipped.count > MAX_REFERENCES {
                    return Err(SourceError::new(
                        server,
                        format!("the server sent more than {MAX_REFERENCES} search references: it is in a loop"),
                    )
                    .with_help("check the server's referral configuration, or search a `base_dn` without references"));
                }
                continue;
            }
            if item.is_intermediate() {
                continue;
            }
            let decoded = decode_entry(item.0, source).ok_or_else(|| undecodable(server))?;
            // An entry an earlier search of the read brought.
            if !skip.is_empty()
                && decoded.values("objectclass").iter().any(|class| {
                    skip.iter()
                        .any(|s| s.as_bytes().eq_ignore_ascii_case(class.as_slice()))
                })
            {
                continue;
            }
            read.entries += 1;
            entries_here += 1;
            on_page += 1;
            let size = decoded
                .attrs
                .iter()
                .flat_map(|(_, v)| v)
                .map(Vec::len)
                .sum::<usize>();
            read.bytes += size;
            page_bytes += size;
            if read.entries > MAX_ENTRIES || read.bytes > MAX_READ_BYTES {
                return Err(SourceError::new(
                    server,
                    format!("the directory read holds more than {MAX_ENTRIES} entries or {} GiB: no municipality's directory is this large", MAX_READ_BYTES >> 30),
                )
                .with_help("check `base_dn`: search the part of the directory that holds the accounts and groups"));
            }
            entry(decoded)?;
        }
        let res = stream.result();
        match res.rc {
            0 => {}
            3 => {
                return Err(SourceError::new(server, "the search stopped: the server's time limit was exceeded")
                    .with_help("raise the bind account's time limit on the server, or search a smaller `base_dn`"));
            }
            4 => {
                return Err(SourceError::new(server, "the search stopped: the server's size limit was exceeded")
                    .with_help("lower `page_size` in [ldap] below the server's size limit, or raise the bind account's limit"));
            }
            10 => {
                let to = res.refs.join(", ");
                return Err(SourceError::new(
                    server,
                    format!("the server answered with a referral to {to} instead of the entries"),
                )
                .with_help("referrals are not followed: give the server that holds `base_dn`, or a `base_dn` this server holds"));
            }
            rc => {
                return Err(SourceError::new(
                    server,
                    format!("the search failed (result {rc}{})", detail(&res.text)),
                )
                .with_help("check `base_dn` and the bind account's rights"));
            }
        }
        let first_page = entries_here == on_page && empty_pages == 0;
        let paged = res
            .ctrls
            .iter()
            .find(|c| c.1.ctype == PAGED_RESULTS_OID)
            .map(|c| paged_cookie(&c.1));
        match paged {
            // The server ignored paging and sent everything at once.
            None if first_page => return Ok(()),
            None => {
                return Err(SourceError::new(
                    server,
                    "the paged search stopped early: a page came without its paging control",
                )
                .with_help("the directory may have restarted mid-read: run the audit again"));
            }
            Some(None) => {
                return Err(SourceError::new(
                    server,
                    "the paged search stopped early: the paging control could not be read",
                ));
            }
            Some(Some(next)) if next.is_empty() => return Ok(()),
            // A cookie may repeat: Samba sends the same one on every page.
            Some(Some(next)) => cookie = next,
        }
        asked = next_page_size(page_size, on_page, page_bytes);
        if on_page == 0 {
            empty_pages += 1;
            if empty_pages > MAX_EMPTY_PAGES {
                return Err(SourceError::new(
                    server,
                    format!("the paged search does not move on: {MAX_EMPTY_PAGES} pages in a row brought no entry and promised more"),
                )
                .with_help("the server repeats its paging cookie: check the server, or run the audit again"));
            }
        } else {
            empty_pages = 0;
        }
    }
}

/// What a page may hold: the next page asks for as many entries of the
/// last page's average size as fit.
const PAGE_BYTES: usize = 1 << 20;
/// The fewest entries a page asks for.
const MIN_PAGE: u32 = 16;

/// The entries to ask for in the next page, after a page of `entries`
/// entries holding `bytes` of values: about [`PAGE_BYTES`] at that size,
/// between [`MIN_PAGE`] (or `max`, if lower) and `max`.
fn next_page_size(max: u32, entries: usize, bytes: usize) -> u32 {
    let max = max.max(1);
    if entries == 0 || bytes == 0 {
        return max;
    }
    let fit = PAGE_BYTES / (bytes / entries).max(1);
    u32::try_from(fit)
        .unwrap_or(u32::MAX)
        .clamp(MIN_PAGE.min(max), max)
}

/// The cookie of a paged-results response control; `None` if it cannot
/// be decoded.
fn paged_cookie(control: &RawControl) -> Option<Vec<u8>> {
    let value = control.val.as_ref()?;
    let (_, tag) = ldap3::asn1::parse_tag(value).ok()?;
    let mut parts = tag.expect_constructed()?.into_iter();
    parts.next()?.expect_primitive()?;
    parts.next()?.expect_primitive()
}

fn reference_url(tag: &StructureTag) -> Option<String> {
    match &tag.payload {
        PL::C(list) => match &list.first()?.payload {
            PL::P(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            PL::C(_) => None,
        },
        PL::P(_) => None,
    }
}

/// Decodes a SearchResultEntry without trusting its shape. `source` is
/// the server; [`DirEntry::location`] adds the DN.
fn decode_entry(tag: StructureTag, source: &Arc<str>) -> Option<DirEntry> {
    let mut parts = tag.expect_constructed()?.into_iter();
    let dn = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
    let attrs = parts.next()?.expect_constructed()?;
    let mut entry = DirEntry::new(dn, source, None);
    for av in attrs {
        let mut av = av.expect_constructed()?.into_iter();
        let name = String::from_utf8(av.next()?.expect_primitive()?)
            .ok()?
            .to_ascii_lowercase();
        let values = av
            .next()?
            .expect_constructed()?
            .into_iter()
            .map(StructureTag::expect_primitive)
            .collect::<Option<Vec<_>>>()?;
        // Past the limit, an entry is not one a directory holds.
        if entry.attrs.len() >= directory::MAX_ATTRIBUTES && entry.values(&name).is_empty() {
            return None;
        }
        entry.extend(name, values);
    }
    Some(entry)
}

/// Active Directory sends at most 1500 values of `member` at once, as
/// `member;range=0-1499`; the rest is asked for range by range until the
/// range that ends in `*`.
fn read_ranges(
    conn: &mut LdapConn,
    entries: &mut [DirEntry],
    server: &str,
    clock: &Clock,
    panics: &PanicCapture,
) -> Result<(), SourceError> {
    complete_ranges(entries, server, |dn, wanted| {
        let (found, res) = read_base(conn, server, dn, vec![wanted.to_string()], clock, panics)?;
        if res.rc != 0 {
            return Err(SourceError::new(
                server,
                format!(
                    "reading the members of `{dn}` stopped (result {}): the group would be incomplete",
                    res.rc
                ),
            ));
        }
        let prefix = wanted.split(";range=").next().unwrap_or(wanted).to_string() + ";range=";
        Ok(found
            .into_iter()
            .next()
            .and_then(|e| e.attrs.into_iter().find(|(k, _)| k.starts_with(&prefix))))
    })
}

/// Reads a directory from `answers`, the bytes a server sends once the
/// connection is open, written at most `chunk` bytes at a time by a
/// server on loopback that then closes the connection: the read path of
/// `--ldap` for tests and the fuzz target. `config` must name the base DN
/// or the answers must begin with the root DSE's; no bind is made.
pub fn replay(
    answers: &[u8],
    chunk: usize,
    config: &LdapConfig,
    mapping: &Mapping,
    inventory: &mut InventoryBuilder,
) -> Result<(), Error> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.set_nonblocking(true).map(|_| l))
        .map_err(|e| Error::Usage(format!("replay: cannot listen on loopback: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::Usage(format!("replay: {e}")))?
        .port();
    let groups = answer_groups(answers);
    let chunk = chunk.max(1);
    let server = std::thread::spawn(move || {
        let started = Instant::now();
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if started.elapsed() < Duration::from_secs(5) => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(_) => return,
            }
        };
        if stream.set_nonblocking(false).is_err() {
            return;
        }
        let Ok(mut input) = stream.try_clone() else {
            return;
        };
        let mut out = stream;
        // Each request is answered by the next group of answers, as a
        // server answers only what it was asked.
        let mut pending: Vec<u8> = Vec::new();
        let mut buf = [0u8; 4096];
        for group in groups {
            loop {
                if let Ok((rest, _)) = ldap3::asn1::parse_tag(&pending) {
                    let used = pending.len() - rest.len();
                    pending.drain(..used);
                    break;
                }
                match input.read(&mut buf) {
                    Ok(n) if n > 0 => pending.extend_from_slice(&buf[..n]),
                    _ => return,
                }
            }
            for piece in group.chunks(chunk) {
                if out.write_all(piece).is_err() {
                    return;
                }
            }
        }
        let _ = out.shutdown(std::net::Shutdown::Write);
        while matches!(input.read(&mut buf), Ok(n) if n > 0) {}
    });
    let mut config = config.clone();
    config.bind_dn = None;
    config.password_env = None;
    config.password_file = None;
    config.auth = None;
    let result = read(
        &format!("ldap://127.0.0.1:{port}"),
        Some(&config),
        mapping,
        inventory,
    );
    let _ = server.join();
    result
}

/// Splits a server's answers into the groups that answer one request
/// each: consecutive messages with the same message ID. Bytes that are
/// not a whole message end the last group.
fn answer_groups(answers: &[u8]) -> Vec<Vec<u8>> {
    let mut groups: Vec<Vec<u8>> = Vec::new();
    let mut last_id = None;
    let mut rest = answers;
    while !rest.is_empty() {
        let Ok((after, tag)) = ldap3::asn1::parse_tag(rest) else {
            break;
        };
        let id = match &tag.payload {
            PL::C(parts) => parts.first().and_then(|p| match &p.payload {
                PL::P(bytes) => Some(bytes.clone()),
                PL::C(_) => None,
            }),
            PL::P(_) => None,
        };
        let bytes = &rest[..rest.len() - after.len()];
        match groups.last_mut() {
            Some(group) if id == last_id => group.extend_from_slice(bytes),
            _ => groups.push(bytes.to_vec()),
        }
        last_id = id;
        rest = after;
    }
    if !rest.is_empty() {
        match groups.last_mut() {
            Some(group) => group.extend_from_slice(rest),
            None => groups.push(rest.to_vec()),
        }
    }
    groups
}

/// The values of one ranged attribute: its full name (with the range
/// that came) and the values.
type Range = Option<(String, Vec<Vec<u8>>)>;

/// Replaces every ranged attribute (`member;range=0-1499`) by the whole
/// attribute, asking `fetch(dn, "member;range=1500-*")` for the values
/// after each range until the range that ends in `*`.
fn complete_ranges(
    entries: &mut [DirEntry],
    server: &str,
    mut fetch: impl FnMut(&str, &str) -> Result<Range, SourceError>,
) -> Result<(), SourceError> {
    let bounds = |range: &str| -> Option<(u64, Option<u64>)> {
        let (start, end) = range.split_once('-')?;
        let end = if end == "*" {
            None
        } else {
            Some(end.parse().ok()?)
        };
        Some((start.parse().ok()?, end))
    };
    for entry in entries.iter_mut() {
        let ranged: Vec<String> = entry
            .attrs
            .iter()
            .map(|(k, _)| k)
            .filter(|k| k.contains(";range="))
            .cloned()
            .collect();
        for key in ranged {
            let values = entry.remove(&key).unwrap_or_default();
            let (base, range) = key.split_once(";range=").unwrap_or((&key, ""));
            let base = base.to_string();
            for v in values {
                entry.push(&base, v);
            }
            let mut range = range.to_string();
            loop {
                let unreadable = || {
                    SourceError::new(
                        server,
                        format!(
                            "`{}` came with an unreadable range `{range}` of `{base}`",
                            entry.dn
                        ),
                    )
                };
                let (start, end) = bounds(&range).ok_or_else(unreadable)?;
                let Some(end) = end else {
                    break;
                };
                // A range must move on: one that ends before it starts,
                // or at the last number there is, would read forever.
                if end < start {
                    return Err(unreadable());
                }
                let next_start = end.checked_add(1).ok_or_else(unreadable)?;
                let wanted = format!("{base};range={next_start}-*");
                let Some((k, values)) = fetch(&entry.dn, &wanted)? else {
                    return Err(SourceError::new(
                        server,
                        format!(
                            "the members of `{}` stopped after range {range}: the group would be incomplete",
                            entry.dn
                        ),
                    ));
                };
                let next = k
                    .split_once(";range=")
                    .map(|(_, r)| r.to_string())
                    .unwrap_or_default();
                // A range that does not start where the last one ended
                // would loop or leave a gap; one that names members but
                // brings none would loop.
                let stalled = values.is_empty() && !next.ends_with('*');
                if bounds(&next).map(|(start, _)| start) != Some(next_start) || stalled {
                    return Err(SourceError::new(
                        server,
                        format!(
                            "the members of `{}` came as range {next} after range {range}: the group would be incomplete",
                            entry.dn
                        ),
                    ));
                }
                for v in values {
                    entry.push(&base, v);
                }
                range = next;
            }
        }
    }
    Ok(())
}

/// A spinner with the count of entries read, on stderr when it is a
/// terminal; nothing otherwise.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new() -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message("reading the directory");
        Progress(Some(bar))
    }

    fn tick(&self, count: usize) {
        if let Some(bar) = &self.0 {
            if count % 500 == 0 {
                bar.set_message(format!("reading the directory: {count} entries"));
                bar.tick();
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Warns when the password file can be read by others than its owner.
fn warn_if_shared(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                crate::ui::warn(format_args!(
                    "the password file `{}` can be read by others (mode {mode:o}): run `chmod 600` on it",
                    path.display()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Inventory;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            url_host("ldap://127.0.0.1:3890"),
            Some(("ldap".into(), "127.0.0.1".into(), Some("3890".into())))
        );
        assert_eq!(
            url_host("LDAPS://[::1]:636/"),
            Some(("ldaps".into(), "::1".into(), Some("636".into())))
        );
        assert_eq!(
            url_host("ldaps://svc@dc1.example.se/dc=x"),
            Some(("ldaps".into(), "dc1.example.se".into(), None))
        );
        assert!(is_loopback("localhost"));
        assert!(is_loopback("127.0.0.2"));
        assert!(is_loopback("::1"));
        assert!(!is_loopback("dc1.example.se"));
        assert!(!is_loopback("10.0.0.1"));
    }

    #[test]
    fn servers_are_named_without_user_parts() {
        assert_eq!(
            server_name("ldaps://svc@dc1:636/dc=x"),
            "ldaps://dc1:636/dc=x"
        );
        assert_eq!(server_name("ldap://127.0.0.1:389"), "ldap://127.0.0.1:389");
        assert_eq!(server_name("dc1"), "dc1");
    }

    #[test]
    fn pages_of_large_entries_ask_for_fewer() {
        // Accounts of 600 bytes: the configured size.
        assert_eq!(next_page_size(1000, 1000, 600_000), 1000);
        // Groups of 40 KB: about a mebibyte a page.
        assert_eq!(next_page_size(1000, 100, 4_000_000), 26);
        // A page of one huge group: the smallest page, not zero.
        assert_eq!(next_page_size(1000, 1, 50_000_000), MIN_PAGE);
        // A configured size below the smallest page is kept.
        assert_eq!(next_page_size(1, 1, 50_000_000), 1);
        assert_eq!(next_page_size(5, 0, 0), 5);
    }

    #[test]
    fn plain_ldap_to_a_remote_host_is_refused() {
        let mut config = effective(None);
        config.base_dn = Some("dc=x".into());
        let err = read(
            "ldap://dc1.example.se",
            Some(&config),
            &Mapping::default(),
            &mut InventoryBuilder::new(),
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(text.starts_with("ldap://dc1.example.se: "), "{text}");
        assert!(text.contains("plain"), "{text}");
    }

    fn group_of(values: std::ops::Range<usize>, key: &str) -> DirEntry {
        let mut e = DirEntry::new("CN=Stor,DC=x".into(), &Arc::from("s"), None);
        for i in values {
            e.push(key, format!("CN=u{i},DC=x").into_bytes());
        }
        e
    }

    /// Serves `total` members the way Active Directory does: 1500 at a time.
    fn ad_ranges(total: usize) -> impl FnMut(&str, &str) -> Result<Range, SourceError> {
        move |_dn, wanted| {
            let start: usize = wanted
                .split_once(";range=")
                .and_then(|(_, r)| r.split('-').next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let end = (start + 1500).min(total);
            let key = if end == total {
                format!("member;range={start}-*")
            } else {
                format!("member;range={start}-{}", end - 1)
            };
            let values = (start..end)
                .map(|i| format!("CN=u{i},DC=x").into_bytes())
                .collect();
            Ok(Some((key, values)))
        }
    }

    #[test]
    fn ranged_members_are_read_whole() {
        let mut entries = vec![group_of(0..1500, "member;range=0-1499")];
        complete_ranges(&mut entries, "s", ad_ranges(4000)).unwrap();
        let members = entries[0].values("member");
        assert_eq!(members.len(), 4000);
        assert_eq!(members[3999], b"CN=u3999,DC=x");
        assert!(entries[0].attrs.iter().all(|(k, _)| !k.contains("range")));
    }

    #[test]
    fn a_range_that_stops_or_repeats_fails() {
        let mut entries = vec![group_of(0..1500, "member;range=0-1499")];
        let err = complete_ranges(&mut entries, "s", |_, _| Ok(None)).unwrap_err();
        assert!(err.message.contains("incomplete"), "{err}");
        let mut entries = vec![group_of(0..1500, "member;range=0-1499")];
        let err = complete_ranges(&mut entries, "s", |_, _| {
            Ok(Some(("member;range=0-1499".into(), Vec::new())))
        })
        .unwrap_err();
        assert!(err.message.contains("incomplete"), "{err}");
    }

    #[test]
    fn a_range_that_does_not_move_on_fails() {
        // Ends before it starts.
        let mut entries = vec![group_of(0..1500, "member;range=0-1499")];
        let err = complete_ranges(&mut entries, "s", |_, _| {
            Ok(Some((
                "member;range=1500-1499".into(),
                vec![b"CN=x".to_vec()],
            )))
        })
        .unwrap_err();
        assert!(err.message.contains("unreadable range"), "{err}");
        // Names members and brings none.
        let mut entries = vec![group_of(0..1500, "member;range=0-1499")];
        let mut asked = 0;
        let err = complete_ranges(&mut entries, "s", |_, wanted| {
            asked += 1;
            let start: u64 = wanted
                .rsplit('=')
                .next()
                .unwrap()
                .trim_end_matches("-*")
                .parse()
                .unwrap();
            Ok(Some((
                format!("member;range={start}-{}", start + 1499),
                Vec::new(),
            )))
        })
        .unwrap_err();
        assert!(err.message.contains("incomplete"), "{err}");
        assert_eq!(asked, 1);
        // Ends at the last number there is.
        let mut entries = vec![group_of(0..1, &format!("member;range=0-{}", u64::MAX))];
        let err = complete_ranges(&mut entries, "s", |_, _| Ok(None)).unwrap_err();
        assert!(err.message.contains("unreadable range"), "{err}");
    }

    // Answers as a server sends them, encoded with the LDAP library's BER
    // writer, and replayed from a socket on loopback.

    use ldap3::asn1::TagClass;

    fn prim(class: TagClass, id: u64, bytes: &[u8]) -> StructureTag {
        StructureTag {
            class,
            id,
            payload: PL::P(bytes.to_vec()),
        }
    }

    fn cons(class: TagClass, id: u64, children: Vec<StructureTag>) -> StructureTag {
        StructureTag {
            class,
            id,
            payload: PL::C(children),
        }
    }

    fn integer(id: u64, v: i64) -> StructureTag {
        let bytes = v.to_be_bytes();
        let skip = (0..7)
            .take_while(|&i| {
                (bytes[i] == 0 && bytes[i + 1] & 0x80 == 0)
                    || (bytes[i] == 0xff && bytes[i + 1] & 0x80 != 0)
            })
            .count();
        prim(TagClass::Universal, id, &bytes[skip..])
    }

    fn octets(b: &[u8]) -> StructureTag {
        prim(TagClass::Universal, 4, b)
    }

    fn sequence(children: Vec<StructureTag>) -> StructureTag {
        cons(TagClass::Universal, 16, children)
    }

    fn encode(tag: StructureTag) -> Vec<u8> {
        let mut buf = bytes::BytesMut::new();
        ldap3::asn1::write::encode_into(&mut buf, tag).unwrap();
        buf.to_vec()
    }

    /// What a server sends, message by message.
    #[derive(Default, Clone)]
    struct Answers(Vec<u8>);

    impl Answers {
        fn message(mut self, id: i64, op: StructureTag, controls: Vec<StructureTag>) -> Self {
            let mut parts = vec![integer(2, id), op];
            if !controls.is_empty() {
                parts.push(cons(TagClass::Context, 0, controls));
            }
            self.0.extend(encode(sequence(parts)));
            self
        }

        fn entry(self, id: i64, dn: &str, attrs: &[(&str, Vec<String>)]) -> Self {
            let list = attrs
                .iter()
                .map(|(name, values)| {
                    sequence(vec![
                        octets(name.as_bytes()),
                        cons(
                            TagClass::Universal,
                            17,
                            values.iter().map(|v| octets(v.as_bytes())).collect(),
                        ),
                    ])
                })
                .collect();
            let op = cons(
                TagClass::Application,
                4,
                vec![octets(dn.as_bytes()), sequence(list)],
            );
            self.message(id, op, Vec::new())
        }

        /// The end of page `id`; `next` is the cookie of the next page,
        /// empty on the last.
        fn done(self, id: i64, next: &[u8]) -> Self {
            let op = cons(
                TagClass::Application,
                5,
                vec![integer(10, 0), octets(b""), octets(b"")],
            );
            let value = encode(sequence(vec![integer(2, 0), octets(next)]));
            let control = sequence(vec![octets(PAGED_RESULTS_OID.as_bytes()), octets(&value)]);
            self.message(id, op, vec![control])
        }
    }

    fn user(i: usize) -> String {
        format!("uid=user-{i:06},ou=people,dc=example,dc=se")
    }

    fn person(answers: Answers, id: i64, i: usize) -> Answers {
        answers.entry(
            id,
            &user(i),
            &[
                ("objectClass", vec!["inetOrgPerson".into(), "person".into()]),
                ("uid", vec![format!("user-{i:06}")]),
            ],
        )
    }

    fn group(
        answers: Answers,
        id: i64,
        name: &str,
        members: impl Iterator<Item = usize>,
    ) -> Answers {
        answers.entry(
            id,
            &format!("cn={name},ou=groups,dc=example,dc=se"),
            &[
                ("objectClass", vec!["groupOfNames".into()]),
                ("cn", vec![name.into()]),
                ("member", members.map(user).collect()),
            ],
        )
    }

    fn replayed(answers: &Answers, chunk: usize) -> Result<Inventory, String> {
        let config = LdapConfig {
            base_dn: Some("dc=example,dc=se".into()),
            page_size: 2,
            timeout_s: 2,
            ..LdapConfig::default()
        };
        let mut inventory = InventoryBuilder::new();
        replay(
            &answers.0,
            chunk,
            &config,
            &Mapping::default(),
            &mut inventory,
        )
        .map_err(|e| e.to_string())?;
        let inventory = inventory.finish();
        Ok(inventory)
    }

    /// Two people over two pages of the accounts' search, then a group in
    /// the groups' search.
    fn two_pages() -> Answers {
        let a = person(Answers::default(), 1, 1).done(1, b"page-2");
        let a = person(a, 2, 2).done(2, b"");
        group(a, 3, "Alla", 1..3).done(3, b"")
    }

    #[test]
    fn a_group_larger_than_a_read_arriving_in_pieces_is_read_whole() {
        let people = 6000;
        let mut answers = Answers::default();
        for i in 0..people {
            answers = person(answers, 1, i);
        }
        let answers = answers.done(1, b"");
        let alla = group(Answers::default(), 2, "Alla", 0..people);
        assert!(alla.0.len() > 256 * 1024);
        let mut answers = answers;
        answers.0.extend(alla.0);
        let answers = answers.done(2, b"");
        for chunk in [1000, 1 << 22] {
            let inventory = replayed(&answers, chunk).unwrap();
            assert_eq!(inventory.accounts.len(), people, "chunk {chunk}");
            let alla = inventory.group("Alla").unwrap();
            assert_eq!(inventory.members(alla).len(), people, "chunk {chunk}");
        }
    }

    #[test]
    fn every_answer_cut_short_fails_closed() {
        let answers = two_pages();
        let whole = replayed(&answers, 7).unwrap();
        let alla = whole.group("Alla").unwrap();
        assert_eq!(whole.members(alla).len(), 2);
        for len in 0..answers.0.len() {
            let cut = Answers(answers.0[..len].to_vec());
            let err = replayed(&cut, 7).expect_err("a cut-short answer must fail");
            assert!(err.starts_with("ldap://127.0.0.1:"), "{err}");
        }
    }

    #[test]
    fn an_entry_the_mapping_refuses_stops_the_read_with_its_own_error() {
        // Far more than the queue between the threads holds, then a group
        // without a name, then more.
        let mut answers = Answers::default();
        for i in 0..20_000 {
            answers = person(answers, 1, i);
        }
        let answers = answers
            .entry(
                1,
                "cn=Namnlos,ou=groups,dc=example,dc=se",
                &[("objectClass", vec!["groupOfNames".into()])],
            )
            .done(1, b"page-2");
        let mut more = answers;
        for i in 20_000..21_000 {
            more = person(more, 2, i);
        }
        let answers = more.done(2, b"");
        let err = replayed(&answers, 1 << 16).unwrap_err();
        assert!(err.contains("has no `cn`"), "{err}");
        assert!(err.contains("cn=Namnlos"), "{err}");
    }

    #[test]
    fn an_entry_of_more_attributes_than_any_directory_has_fails_closed() {
        let entry_of = |attributes: usize| {
            let mut attrs: Vec<(String, Vec<String>)> = vec![
                ("objectClass".into(), vec!["person".into()]),
                ("uid".into(), vec!["a".into()]),
            ];
            for i in attrs.len()..attributes {
                attrs.push((format!("x-attr-{i}"), vec!["v".into()]));
            }
            let attrs: Vec<(&str, Vec<String>)> =
                attrs.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
            Answers::default()
                .entry(1, "uid=a,dc=example,dc=se", &attrs)
                .done(1, b"")
                .done(2, b"")
        };
        let inventory = replayed(&entry_of(directory::MAX_ATTRIBUTES), 4096).unwrap();
        assert_eq!(inventory.accounts.len(), 1);
        let err = replayed(&entry_of(directory::MAX_ATTRIBUTES + 1), 4096).unwrap_err();
        assert!(err.contains("could not be decoded"), "{err}");
        assert!(err.contains("different attributes"), "{err}");
    }

    #[test]
    fn a_paging_cookie_may_repeat() {
        // As Samba sends them: the same cookie on every page but the last.
        let answers = person(Answers::default(), 1, 1).done(1, b"same");
        let answers = person(answers, 2, 2).done(2, b"same");
        let answers = person(answers, 3, 3).done(3, b"").done(4, b"");
        let inventory = replayed(&answers, 64).unwrap();
        assert_eq!(inventory.accounts.len(), 3);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]

        #[test]
        fn damaged_answers_never_panic(flips in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..6)) {
            let mut answers = two_pages();
            let len = answers.0.len();
            for (at, byte) in flips {
                answers.0[at % len] ^= byte;
            }
            let _ = replayed(&answers, 4096);
        }
    }
}
