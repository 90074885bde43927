//! LDAP directories (Active Directory, OpenLDAP, Samba AD) read over a
//! verified TLS connection into directory entries, which
//! [`directory`](super::directory) maps to the inventory.
//!
//! The connection is behorig's own client (`conn`, over `ber`): one
//! thread reads the paged search and asks for each next page as soon as a
//! page ends, handing the entries on as raw bytes through a short queue;
//! this thread decodes and maps them. A full queue stops the reading, so
//! memory stays at a few batches however large the directory.
//!
//! The read fails closed: a refused or lost connection, a failed bind, a
//! time-out, a size or time limit, a paged search that stops before its
//! last page and an entry that cannot be decoded all end the audit with a
//! [`SourceError`] naming the server, never with a partial inventory.
//! Search continuation references (AD's DomainDnsZones, Configuration...)
//! are other naming contexts and are skipped.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::time::Duration;

use crate::config::LdapConfig;
use crate::inventory::{Inventory, Origin};
use crate::sources::directory::{self, DirEntry, Mapping};
use crate::sources::SourceError;

mod ber;
mod conn;

use ber::{Reader, OCTET_STRING, SEQUENCE, SET};
use conn::{Conn, Control, Filter, Scope};

const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";
/// The object classes of every entry the mapping can use: people, groups
/// and AD's foreign security principals.
const CLASSES: [&str; 8] = [
    "user",
    "person",
    "posixAccount",
    "group",
    "groupOfNames",
    "groupOfUniqueNames",
    "posixGroup",
    "foreignSecurityPrincipal",
];

fn filter() -> Filter {
    Filter::Or(
        CLASSES
            .iter()
            .map(|c| Filter::Equal("objectClass".into(), (*c).into()))
            .collect(),
    )
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
    (filter().to_string(), attrs)
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

fn read_password(config: &LdapConfig, server: &str) -> Result<Option<String>, SourceError> {
    if let Some(var) = &config.password_env {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(v)),
            _ => Err(SourceError::new(
                server,
                format!("the bind password is not set: the environment variable `{var}` is empty or unset"),
            )
            .with_help(format!("export {var} before running, or use `password_file` in [ldap]"))),
        };
    }
    if let Some(path) = &config.password_file {
        warn_if_shared(path);
        let text = std::fs::read_to_string(path).map_err(|e| {
            SourceError::new(
                server,
                format!("cannot read the password file `{}`: {e}", path.display()),
            )
            .with_help("check `password_file` in [ldap]")
        })?;
        let pw = text.trim_end_matches(['\n', '\r']).to_string();
        if pw.is_empty() {
            return Err(SourceError::new(
                server,
                format!("the password file `{}` is empty", path.display()),
            ));
        }
        return Ok(Some(pw));
    }
    Ok(None)
}

fn tls_connector(
    config: &LdapConfig,
    server: &str,
) -> Result<native_tls::TlsConnector, SourceError> {
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(path) = &config.ca_cert {
        let pem = std::fs::read(path).map_err(|e| {
            SourceError::new(
                server,
                format!("cannot read the CA certificate `{}`: {e}", path.display()),
            )
            .with_help("check `ca_cert` in [ldap]")
        })?;
        let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| {
            SourceError::new(
                server,
                format!("`{}` is not a PEM certificate: {e}", path.display()),
            )
            .with_help("`ca_cert` is the certificate of the CA that signed the server's certificate, in PEM")
        })?;
        builder.add_root_certificate(cert);
        builder.disable_built_in_roots(true);
    }
    if !config.tls_verify_hostname {
        builder.danger_accept_invalid_hostnames(true);
    }
    builder
        .build()
        .map_err(|e| SourceError::new(server, format!("cannot set up TLS: {e}")))
}

/// Reads the directory at `url` into the inventory.
pub fn read(
    url: &str,
    config: Option<&LdapConfig>,
    mapping: &Mapping,
    inventory: &mut Inventory,
) -> Result<(), SourceError> {
    let config = effective(config);
    let server = server_name(url);
    let Some((scheme, host, port)) = url_host(url) else {
        return Err(SourceError::new(&server, "not an LDAP URL").with_help(
            "write ldaps://host:636, or ldap://host:389 with `starttls = true` in [ldap]",
        ));
    };
    match scheme.as_str() {
        "ldaps" => {}
        "ldap" if config.starttls || is_loopback(&host) => {}
        "ldap" => {
            return Err(SourceError::new(
                &server,
                "refusing to send credentials and personal data over plain `ldap://` to a host that is not loopback",
            )
            .with_help("use ldaps://, or set `starttls = true` in [ldap]"));
        }
        _ => {
            return Err(
                SourceError::new(&server, format!("unknown URL scheme `{scheme}`")).with_help(
                    "write ldaps://host:636, or ldap://host:389 with `starttls = true` in [ldap]",
                ),
            );
        }
    }
    let port = match port {
        None if scheme == "ldaps" => 636,
        None => 389,
        Some(p) => p.parse::<u16>().map_err(|_| {
            SourceError::new(&server, format!("the port `{p}` is not a port number"))
                .with_help("write ldaps://host:636 or ldap://host:389")
        })?,
    };
    if host.is_empty() {
        return Err(
            SourceError::new(&server, "the URL names no host").with_help(
                "write ldaps://host:636, or ldap://host:389 with `starttls = true` in [ldap]",
            ),
        );
    }
    let password = read_password(&config, &server)?;
    let timeout = Duration::from_secs(config.timeout_s.max(1));
    let mut conn = Conn::connect(&server, &host, port, timeout)?;
    if scheme == "ldaps" {
        conn = conn.tls(&tls_connector(&config, &server)?, &host)?;
    } else if config.starttls {
        conn = conn.start_tls(&tls_connector(&config, &server)?, &host)?;
    }

    if let Some(bind_dn) = &config.bind_dn {
        // A DN with an empty password is an anonymous bind that succeeds
        // and may then see only part of the directory.
        let Some(pw) = password else {
            return Err(SourceError::new(
                &server,
                format!("no password for the bind as `{bind_dn}`"),
            )
            .with_help("set `password_env` or `password_file` in [ldap]"));
        };
        let result = conn.simple_bind(bind_dn, &pw)?;
        if result.rc != 0 {
            return Err(SourceError::new(
                &server,
                format!(
                    "the bind as `{bind_dn}` failed (result {}{})",
                    result.rc,
                    if result.text.is_empty() { String::new() } else { format!(": {}", result.text) }
                ),
            )
            .with_help("check `bind_dn` and the password; Active Directory also needs TLS for simple binds"));
        }
    }

    session(conn, &server, &config, mapping, inventory)
}

/// Reads the directory over a connection that is ready for searches:
/// the whole paged search, then the ranged values it announced.
fn session(
    mut conn: Conn,
    server: &str,
    config: &LdapConfig,
    mapping: &Mapping,
    inventory: &mut Inventory,
) -> Result<(), SourceError> {
    let page_size = if config.page_size == 0 {
        1000
    } else {
        config.page_size
    };
    let base_dn = match config.base_dn.clone().filter(|b| !b.trim().is_empty()) {
        Some(b) => b,
        None => naming_context(&mut conn, server)?,
    };

    // The connection is read on its own thread, which asks for the next
    // page as soon as a page has come and hands the entries on as raw
    // bytes, in batches through a short queue; this thread decodes and
    // maps them. The server never waits for the mapping of a page to
    // finish, and when the mapping falls behind, the queue fills, the
    // reader stops reading and TCP holds the server back: memory stays at
    // a few batches.
    let (_, attrs) = search_request(mapping, inventory.keep.as_deref());
    let progress = Progress::new();
    let mut builder = directory::Builder::new(mapping);
    let mut ranged = Vec::new();
    let mut count = 0usize;
    let origin = Origin::new(server, None);
    let queue = Queue::default();
    std::thread::scope(|scope| -> Result<(), SourceError> {
        let conn = &mut conn;
        let queue = &queue;
        let reader = std::thread::Builder::new()
            .name("ldap-reader".into())
            .spawn_scoped(scope, move || {
                // The mapping learns that the read has ended, however it
                // ends.
                let _closing = Closing(queue);
                let mut batch = RawBatch::default();
                paged_search(conn, server, &base_dn, &attrs, page_size, |body| {
                    if queue.stopped() {
                        return Err(abandoned(server));
                    }
                    batch.push(body);
                    if batch.bytes.len() >= BATCH_BYTES && !queue.push(std::mem::take(&mut batch)) {
                        return Err(abandoned(server));
                    }
                    Ok(())
                })?;
                if queue.push(batch) {
                    Ok(())
                } else {
                    Err(abandoned(server))
                }
            })
            .map_err(|e| SourceError::new(server, format!("cannot start the reader: {e}")))?;
        let mut mapped = Ok(());
        'batches: while let Some(batch) = queue.pop() {
            for body in batch.entries() {
                let Some(entry) = decode_entry(body, origin) else {
                    mapped = Err(SourceError::new(server, "an entry of the search result could not be decoded")
                        .with_help(format!("the server, or something between it and behorig, sent an entry that is not valid LDAP or has more than {} different attributes", directory::MAX_ATTRIBUTES)));
                    break 'batches;
                };
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
        // Stops the reader at its next entry if the mapping failed first.
        queue.stop();
        let read = reader.join().map_err(|_| {
            SourceError::new(server, "the directory read stopped unexpectedly")
                .with_help("run the audit again")
        })?;
        // A mapping error explains an abandoned read; otherwise the read's
        // own error comes first: what was mapped may be short.
        mapped.and(read)
    })?;
    read_ranges(&mut conn, &mut ranged, server)?;
    for entry in ranged {
        builder.add(entry, inventory)?;
    }
    progress.finish();
    conn.unbind();
    inventory.inputs.push(server.to_string());
    builder.finish(inventory)
}

/// Entries handed from the reading thread to the mapping at a time, by
/// size, and how many bytes of batches may wait.
const BATCH_BYTES: usize = 256 * 1024;
const QUEUE_BYTES: usize = 8 * BATCH_BYTES;

/// Batches from the reading thread to the mapping, bounded by their
/// bytes: the reader waits while the batches queued hold `QUEUE_BYTES`
/// (one larger batch, a single big entry, goes alone).
#[derive(Default)]
struct Queue {
    state: std::sync::Mutex<Queued>,
    changed: std::sync::Condvar,
    /// The mapping has stopped: nothing more is taken.
    stopped: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Queued {
    batches: std::collections::VecDeque<RawBatch>,
    bytes: usize,
    /// The reader has ended: nothing more comes.
    closed: bool,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queued> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(
        &self,
        guard: std::sync::MutexGuard<'a, Queued>,
    ) -> std::sync::MutexGuard<'a, Queued> {
        self.changed.wait(guard).unwrap_or_else(|e| e.into_inner())
    }

    fn stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Queues a batch once there is room; `false` if the mapping stopped.
    fn push(&self, batch: RawBatch) -> bool {
        let mut state = self.lock();
        while !self.stopped() && state.bytes > 0 && state.bytes + batch.bytes.len() > QUEUE_BYTES {
            state = self.wait(state);
        }
        if self.stopped() {
            return false;
        }
        state.bytes += batch.bytes.len();
        state.batches.push_back(batch);
        self.changed.notify_all();
        true
    }

    /// The next batch; `None` once the reader has ended and all are taken.
    fn pop(&self) -> Option<RawBatch> {
        let mut state = self.lock();
        loop {
            if let Some(batch) = state.batches.pop_front() {
                state.bytes -= batch.bytes.len();
                self.changed.notify_all();
                return Some(batch);
            }
            if state.closed {
                return None;
            }
            state = self.wait(state);
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    fn stop(&self) {
        let _state = self.lock();
        self.stopped
            .store(true, std::sync::atomic::Ordering::Release);
        self.changed.notify_all();
    }
}

/// Closes the queue when the reader ends, by return, error or panic.
struct Closing<'q>(&'q Queue);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// SearchResultEntry contents as they came, back to back.
#[derive(Default)]
struct RawBatch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl RawBatch {
    fn push(&mut self, body: &[u8]) {
        self.bytes.extend_from_slice(body);
        self.ends.push(self.bytes.len());
    }

    fn entries(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }
}

fn abandoned(server: &str) -> SourceError {
    SourceError::new(server, "the read was abandoned")
}

/// Bytes that stand for a server's answers, handed out at most `chunk`
/// at a time; what the client sends is dropped.
struct Replay {
    bytes: Vec<u8>,
    at: usize,
    chunk: usize,
}

impl std::io::Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl std::io::Write for Replay {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads a directory from `answers`, the bytes a server would send after
/// the bind, arriving at most `chunk` bytes at a time: the read path of
/// `--ldap` without a socket, for tests and the fuzz target. `config`
/// must name the base DN or the answers must begin with the root DSE's.
pub fn replay(
    answers: &[u8],
    chunk: usize,
    config: &LdapConfig,
    mapping: &Mapping,
    inventory: &mut Inventory,
) -> Result<(), SourceError> {
    let stream = Replay {
        bytes: answers.to_vec(),
        at: 0,
        chunk: chunk.max(1),
    };
    let conn = Conn::over("replay", Box::new(stream), Duration::from_secs(1));
    session(conn, "replay", config, mapping, inventory)
}

/// Every entry found by a base search of `dn`, decoded.
fn read_base(
    conn: &mut Conn,
    server: &str,
    dn: &str,
    attrs: &[String],
) -> Result<(Vec<DirEntry>, conn::LdapResult), SourceError> {
    let mut found = Vec::new();
    let done = conn.search(
        dn,
        Scope::Base,
        &Filter::Present("objectClass".into()),
        attrs,
        &[],
        |body| {
            found.extend(decode_entry(body, Origin::new(server, None)));
            Ok(())
        },
    )?;
    Ok((found, done.result))
}

/// The directory's own base DN when `base_dn` is not set: AD's
/// `defaultNamingContext`, else the only entry of `namingContexts`.
fn naming_context(conn: &mut Conn, server: &str) -> Result<String, SourceError> {
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
        &["defaultNamingContext".into(), "namingContexts".into()],
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

/// Runs the paged search of the whole directory, calling `entry` with
/// each entry's content as it arrives.
fn paged_search(
    conn: &mut Conn,
    server: &str,
    base_dn: &str,
    attrs: &[String],
    page_size: u32,
    mut entry: impl FnMut(&[u8]) -> Result<(), SourceError>,
) -> Result<(), SourceError> {
    let filter = filter();
    let mut cookie: Vec<u8> = Vec::new();
    loop {
        let control = paged_control(page_size, &cookie);
        let done = conn.search(
            base_dn,
            Scope::Subtree,
            &filter,
            attrs,
            &[control],
            &mut entry,
        )?;
        let res = done.result;
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
                let to = res.referrals.join(", ");
                return Err(SourceError::new(
                    server,
                    format!("the server answered with a referral to {to} instead of the entries"),
                )
                .with_help("referrals are not followed: give the server that holds `base_dn`, or a `base_dn` this server holds"));
            }
            rc => {
                return Err(SourceError::new(
                    server,
                    format!(
                        "the search failed (result {rc}{})",
                        if res.text.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", res.text)
                        }
                    ),
                )
                .with_help("check `base_dn` and the bind account's rights"));
            }
        }
        let paged = done
            .controls
            .iter()
            .find(|c| c.oid == PAGED_RESULTS_OID)
            .map(paged_cookie);
        match paged {
            // The server ignored paging and sent everything at once.
            None if cookie.is_empty() => return Ok(()),
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
    }
}

fn paged_control(size: u32, cookie: &[u8]) -> Control {
    // realSearchControlValue ::= SEQUENCE { size INTEGER, cookie OCTET STRING }
    let mut value = Vec::new();
    ber::nest(&mut value, SEQUENCE, |v| {
        ber::put_int(v, ber::INTEGER, i64::from(size));
        ber::put(v, OCTET_STRING, cookie);
    });
    Control {
        oid: PAGED_RESULTS_OID.to_string(),
        critical: true,
        value: Some(value),
    }
}

/// The cookie of a paged-results response control; `None` if it cannot
/// be decoded.
fn paged_cookie(control: &Control) -> Option<Vec<u8>> {
    let value = control.value.as_ref()?;
    let mut outer = Reader::new(value);
    let mut parts = Reader::new(outer.expect(SEQUENCE, "").ok()?);
    parts.int(ber::INTEGER, "").ok()?;
    Some(parts.expect(OCTET_STRING, "").ok()?.to_vec())
}

/// Decodes a SearchResultEntry's content without trusting its shape.
/// `origin` is the server; [`DirEntry::location`] adds the DN.
fn decode_entry(body: &[u8], origin: Origin) -> Option<DirEntry> {
    let mut parts = Reader::new(body);
    let dn = std::str::from_utf8(parts.expect(OCTET_STRING, "").ok()?).ok()?;
    let mut attrs = Reader::new(parts.expect(SEQUENCE, "").ok()?);
    let mut entry = DirEntry::new(dn.to_string(), origin);
    while !attrs.is_empty() {
        let mut av = Reader::new(attrs.expect(SEQUENCE, "").ok()?);
        let name = std::str::from_utf8(av.expect(OCTET_STRING, "").ok()?)
            .ok()?
            .to_ascii_lowercase();
        let mut list = Reader::new(av.expect(SET, "").ok()?);
        let mut values = Vec::new();
        while !list.is_empty() {
            values.push(list.expect(OCTET_STRING, "").ok()?.to_vec());
        }
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
fn read_ranges(conn: &mut Conn, entries: &mut [DirEntry], server: &str) -> Result<(), SourceError> {
    complete_ranges(entries, server, |dn, wanted| {
        let (found, res) = read_base(conn, server, dn, &[wanted.to_string()])?;
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
                crate::say!(
                    "warning: the password file `{}` can be read by others (mode {mode:o}): run `chmod 600` on it",
                    path.display()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn plain_ldap_to_a_remote_host_is_refused() {
        let mut config = effective(None);
        config.base_dn = Some("dc=x".into());
        let err = read(
            "ldap://dc1.example.se",
            Some(&config),
            &Mapping::default(),
            &mut Inventory::new(),
        )
        .unwrap_err();
        assert_eq!(err.location, "ldap://dc1.example.se");
        assert!(err.message.contains("plain"), "{err}");
    }

    fn group_of(values: std::ops::Range<usize>, key: &str) -> DirEntry {
        let mut e = DirEntry::new(
            "CN=Stor,DC=x".into(),
            Origin {
                source: "s".into(),
                line: None,
            },
        );
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

    /// What a server sends, message by message.
    #[derive(Default, Clone)]
    struct Answers(Vec<u8>);

    impl Answers {
        fn message(mut self, id: i64, op: impl FnOnce(&mut Vec<u8>), controls: &[Control]) -> Self {
            ber::nest(&mut self.0, SEQUENCE, |m| {
                ber::put_int(m, ber::INTEGER, id);
                op(m);
                if !controls.is_empty() {
                    ber::nest(m, 0xa0, |c| {
                        for control in controls {
                            control.encode(c);
                        }
                    });
                }
            });
            self
        }

        fn entry(self, id: i64, dn: &str, attrs: &[(&str, Vec<String>)]) -> Self {
            self.message(
                id,
                |o| {
                    ber::nest(o, 0x64, |e| {
                        ber::put(e, OCTET_STRING, dn.as_bytes());
                        ber::nest(e, SEQUENCE, |list| {
                            for (name, values) in attrs {
                                ber::nest(list, SEQUENCE, |a| {
                                    ber::put(a, OCTET_STRING, name.as_bytes());
                                    ber::nest(a, SET, |vals| {
                                        for v in values {
                                            ber::put(vals, OCTET_STRING, v.as_bytes());
                                        }
                                    });
                                });
                            }
                        });
                    })
                },
                &[],
            )
        }

        fn result(self, id: i64, tag: u8, rc: i64, text: &str, controls: &[Control]) -> Self {
            self.message(
                id,
                |o| {
                    ber::nest(o, tag, |r| {
                        ber::put_int(r, ber::ENUMERATED, rc);
                        ber::put(r, OCTET_STRING, b"");
                        ber::put(r, OCTET_STRING, text.as_bytes());
                    })
                },
                controls,
            )
        }

        /// The end of page `id`; `next` is the cookie of the next page,
        /// empty on the last.
        fn done(self, id: i64, next: &[u8]) -> Self {
            self.result(id, 0x65, 0, "", &[paged_control(0, next)])
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

    fn replayed(answers: &Answers, chunk: usize) -> Result<Inventory, SourceError> {
        let config = LdapConfig {
            base_dn: Some("dc=example,dc=se".into()),
            page_size: 2,
            ..LdapConfig::default()
        };
        let mut inventory = Inventory::new();
        replay(
            &answers.0,
            chunk,
            &config,
            &Mapping::default(),
            &mut inventory,
        )?;
        inventory.finish();
        Ok(inventory)
    }

    /// A few people and a group over two pages.
    fn two_pages() -> Answers {
        let a = person(Answers::default(), 1, 1);
        let a = person(a, 1, 2).done(1, b"page-2");
        group(a, 2, "Alla", 1..3).done(2, b"")
    }

    #[test]
    fn a_group_bigger_than_the_read_buffer_arriving_in_pieces_is_read_whole() {
        let people = 6000;
        let mut answers = Answers::default();
        for i in 0..people {
            answers = person(answers, 1, i);
        }
        let alla = group(Answers::default(), 1, "Alla", 0..people);
        // The group's message alone is larger than the buffer's first size.
        assert!(alla.0.len() > 256 * 1024);
        answers.0.extend(alla.0);
        let answers = answers.done(1, b"");
        for chunk in [3, 1000, 1 << 22] {
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
            assert_eq!(err.location, "replay");
        }
    }

    #[test]
    fn an_entry_the_mapping_refuses_stops_the_read_with_its_own_error() {
        // Far more than the queue between the threads holds, then a group
        // without a name, then more.
        let mut answers = Answers::default();
        for i in 0..40_000 {
            answers = person(answers, 1, i);
        }
        assert!(answers.0.len() > QUEUE_BYTES + 2 * BATCH_BYTES);
        let answers = answers
            .entry(
                1,
                "cn=Namnlos,ou=groups,dc=example,dc=se",
                &[("objectClass", vec!["groupOfNames".into()])],
            )
            .done(1, b"page-2");
        let mut more = answers;
        for i in 40_000..41_000 {
            more = person(more, 2, i);
        }
        let answers = more.done(2, b"");
        let err = replayed(&answers, 1 << 16).unwrap_err();
        assert!(err.message.contains("has no `cn`"), "{err}");
        assert!(err.location.contains("cn=Namnlos"), "{err}");
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
        };
        let inventory = replayed(&entry_of(directory::MAX_ATTRIBUTES), 4096).unwrap();
        assert_eq!(inventory.accounts.len(), 1);
        let err = replayed(&entry_of(directory::MAX_ATTRIBUTES + 1), 4096).unwrap_err();
        assert!(err.message.contains("could not be decoded"), "{err}");
        assert!(
            err.help
                .as_deref()
                .unwrap_or("")
                .contains("different attributes"),
            "{err}"
        );
    }

    #[test]
    fn a_paging_cookie_may_repeat() {
        // As Samba sends them: the same cookie on every page but the last.
        let answers = person(Answers::default(), 1, 1).done(1, b"same");
        let answers = person(answers, 2, 2).done(2, b"same");
        let answers = person(answers, 3, 3).done(3, b"");
        let inventory = replayed(&answers, 64).unwrap();
        assert_eq!(inventory.accounts.len(), 3);
    }

    #[test]
    fn a_notice_of_disconnection_gives_the_servers_reason() {
        let answers = person(Answers::default(), 1, 1).result(
            0,
            0x78,
            52,
            "the server is shutting down",
            &[],
        );
        let err = replayed(&answers, 64).unwrap_err();
        assert!(
            err.message
                .contains("ended the session: the server is shutting down"),
            "{err}"
        );
    }

    #[test]
    fn an_answer_to_a_request_not_sent_fails_closed() {
        let answers = person(Answers::default(), 7, 1).done(7, b"");
        let err = replayed(&answers, 64).unwrap_err();
        assert!(err.message.contains("not valid LDAP"), "{err}");
    }

    #[test]
    fn a_message_claiming_more_than_comes_fails_closed() {
        // A message header that promises 16 MB, then the end of the stream.
        let mut bytes = person(Answers::default(), 1, 1).0;
        bytes.extend([0x30, 0x84, 0x01, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01]);
        let err = replayed(&Answers(bytes), 4096).unwrap_err();
        assert!(err.message.contains("connection was lost"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_answers_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600), chunk in 1usize..64) {
            let _ = replayed(&Answers(bytes), chunk);
        }

        #[test]
        fn damaged_answers_never_panic(flips in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..6), chunk in 1usize..64) {
            let mut answers = two_pages();
            let len = answers.0.len();
            for (at, byte) in flips {
                answers.0[at % len] ^= byte;
            }
            let _ = replayed(&answers, chunk);
        }
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

    #[test]
    fn paging_control_round_trips() {
        let c = paged_control(500, b"abc");
        // The response control has the same shape as the request.
        assert_eq!(paged_cookie(&c), Some(b"abc".to_vec()));
    }
}
