//! LDAP directories (Active Directory, OpenLDAP, Samba AD) read over a
//! verified TLS connection into directory entries, which
//! [`directory`](super::directory) maps to the inventory.
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

use ldap3::asn1::{parse_tag, StructureTag, PL};
use ldap3::controls::RawControl;
use ldap3::{LdapConn, LdapConnSettings, LdapError, ResultEntry, Scope};

use crate::config::LdapConfig;
use crate::inventory::{Inventory, Origin};
use crate::sources::directory::{self, DirEntry, Mapping};
use crate::sources::SourceError;

const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";
/// Every entry the mapping can use: people, groups and AD's foreign
/// security principals.
const FILTER: &str = "(|(objectClass=user)(objectClass=person)(objectClass=posixAccount)(objectClass=group)(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup)(objectClass=foreignSecurityPrincipal))";

/// The search filter and attributes of a directory read, for tools that
/// want to dump the same data (the benchmark compares against them): the
/// attributes the mapping reads and those in `keep`, or every attribute
/// (`*`) when `keep` is `None`. An audit asks only for what its policies
/// read: less to send, and no personal data it has no use for.
pub fn search_request(mapping: &Mapping, keep: Option<&[String]>) -> (&'static str, Vec<String>) {
    let mut attrs = match keep {
        None => vec!["*".to_string()],
        Some(names) => names.to_vec(),
    };
    attrs.extend(mapping.search_attributes());
    attrs.sort();
    attrs.dedup();
    (FILTER, attrs)
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

/// The host of an `ldap://`/`ldaps://` URL, without brackets or port.
fn url_host(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = if let Some(inner) = authority.strip_prefix('[') {
        inner.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    Some((scheme.to_ascii_lowercase(), host.to_string()))
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

/// Describes an LDAP error for a user, with a help line where one helps.
fn describe(server: &str, what: &str, e: &LdapError) -> SourceError {
    let text = e.to_string();
    let lower = text.to_lowercase();
    let help = if lower.contains("certificate") || lower.contains("ssl") || lower.contains("tls") {
        "the server's certificate could not be verified: set `ca_cert` in [ldap] to the CA that signed it"
    } else if matches!(e, LdapError::Timeout { .. })
        || lower.contains("timed out")
        || lower.contains("elapsed")
    {
        "the server did not answer within `timeout_s`: check the server, or raise `timeout_s` in [ldap]"
    } else if lower.contains("refused") {
        "check the URL and the port, and that the server is running"
    } else {
        "check the server and the [ldap] settings"
    };
    SourceError::new(server, format!("{what}: {text}")).with_help(help)
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
    let Some((scheme, host)) = url_host(url) else {
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
    let password = read_password(&config, &server)?;
    let timeout = Duration::from_secs(config.timeout_s.max(1));
    let page_size = if config.page_size == 0 {
        1000
    } else {
        config.page_size
    };

    let tls = scheme == "ldaps" || config.starttls;
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(timeout)
        .set_starttls(config.starttls && scheme == "ldap");
    if tls {
        // Loading the trust store costs time that a plain loopback read
        // does not need.
        settings = settings.set_connector(tls_connector(&config, &server)?);
    }
    let mut conn = LdapConn::with_settings(settings, url)
        .map_err(|e| describe(&server, "cannot connect", &e))?;

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
        let result = conn
            .with_timeout(timeout)
            .simple_bind(bind_dn, &pw)
            .map_err(|e| describe(&server, "the bind failed", &e))?;
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

    let base_dn = match config.base_dn.clone().filter(|b| !b.trim().is_empty()) {
        Some(b) => b,
        None => naming_context(&mut conn, timeout, &server)?,
    };

    // The connection reads pages on its own thread and asks for the next
    // page as soon as one has come; this one decodes and maps the entries
    // of the pages before: the two overlap.
    let (filter, attrs) = search_request(mapping, inventory.keep.as_deref());
    let (pages, received) = std::sync::mpsc::sync_channel::<Vec<ResultEntry>>(4);
    let reader_server = server.clone();
    let reader = std::thread::Builder::new()
        .name("ldap-reader".into())
        .spawn(move || {
            paged_search(
                conn,
                &reader_server,
                &base_dn,
                filter,
                &attrs,
                page_size,
                timeout,
                pages,
            )
        })
        .map_err(|e| SourceError::new(&server, format!("cannot start the reader: {e}")))?;

    let progress = Progress::new();
    let mut builder = directory::Builder::new(mapping);
    let mut ranged = Vec::new();
    let mut count = 0usize;
    let origin = Origin::new(&server, None);
    for page in received {
        for re in page {
            // Search continuation references name other naming contexts
            // (DomainDnsZones, Configuration...): not followed.
            if re.is_ref() || re.is_intermediate() {
                continue;
            }
            let entry = decode_entry(re, origin).ok_or_else(|| {
                SourceError::new(&server, "an entry of the search result could not be decoded")
                    .with_help("the server, or something between it and behorig, sent an entry that is not valid LDAP")
            })?;
            count += 1;
            progress.tick(count);
            if entry
                .attrs
                .iter()
                .any(|(k, _)| k.as_bytes().contains(&b';') && k.contains(";range="))
            {
                ranged.push(entry);
            } else {
                builder.add(entry, inventory)?;
            }
        }
    }
    let mut conn = reader.join().map_err(|_| {
        SourceError::new(&server, "the directory read stopped unexpectedly")
            .with_help("run the audit again")
    })??;
    read_ranges(&mut conn, &mut ranged, timeout, &server)?;
    for entry in ranged {
        builder.add(entry, inventory)?;
    }
    progress.finish();
    let _ = conn.unbind();
    inventory.inputs.push(server.clone());
    builder.finish(inventory)
}

/// The directory's own base DN when `base_dn` is not set: AD's
/// `defaultNamingContext`, else the only entry of `namingContexts`.
fn naming_context(
    conn: &mut LdapConn,
    timeout: Duration,
    server: &str,
) -> Result<String, SourceError> {
    let missing = || {
        SourceError::new(
            server,
            "no base DN to search, and the server does not name a single one",
        )
        .with_help("set `base_dn` in [ldap], e.g. base_dn = \"DC=example,DC=se\"")
    };
    let ldap3::SearchResult(found, res) = conn
        .with_timeout(timeout)
        .search(
            "",
            Scope::Base,
            "(objectClass=*)",
            vec!["defaultNamingContext", "namingContexts"],
        )
        .map_err(|e| describe(server, "reading the server's naming contexts failed", &e))?;
    if res.rc != 0 {
        return Err(missing());
    }
    let root = found
        .into_iter()
        .filter(|re| !re.is_ref())
        .find_map(|re| decode_entry(re, Origin::new(server, None)))
        .ok_or_else(missing)?;
    let text = |v: &Vec<u8>| String::from_utf8(v.clone()).ok();
    if let Some(dn) = root.values("defaultnamingcontext").first().and_then(text) {
        return Ok(dn);
    }
    match root.values("namingcontexts") {
        [only] => text(only).ok_or_else(missing),
        _ => Err(missing()),
    }
}

/// Entries sent on to the mapping at a time, fewer when they are big
/// groups: at most about this many values.
const BATCH: usize = 1000;
const BATCH_VALUES: usize = 100_000;

/// How many attribute values a SearchResultEntry carries, for batching.
fn values_in(entry: &ResultEntry) -> usize {
    let count = |tag: &StructureTag| match &tag.payload {
        PL::C(values) => values.len(),
        PL::P(_) => 1,
    };
    match &entry.0.payload {
        PL::C(parts) => match parts.get(1).map(|attrs| &attrs.payload) {
            Some(PL::C(attrs)) => attrs
                .iter()
                .map(|attr| match &attr.payload {
                    PL::C(av) => av.get(1).map_or(0, count),
                    PL::P(_) => 0,
                })
                .sum(),
            _ => 0,
        },
        PL::P(_) => 0,
    }
}

/// Runs the paged search, sending its entries on as they come; returns the
/// connection for the ranged reads that may follow.
#[allow(clippy::too_many_arguments)]
fn paged_search(
    mut conn: LdapConn,
    server: &str,
    base_dn: &str,
    filter: &str,
    attrs: &[String],
    page_size: u32,
    timeout: Duration,
    pages: std::sync::mpsc::SyncSender<Vec<ResultEntry>>,
) -> Result<LdapConn, SourceError> {
    let mut cookie: Vec<u8> = Vec::new();
    loop {
        let control = paged_control(page_size, &cookie);
        // Entries go on in small batches as they arrive, so that a page of
        // big groups is never held whole.
        let mut stream = conn
            .with_timeout(timeout)
            .with_controls(control)
            .streaming_search(base_dn, Scope::Subtree, filter, attrs)
            .map_err(|e| describe(server, "the search failed", &e))?;
        let mut batch = Vec::with_capacity(BATCH);
        let mut weight = 0;
        while let Some(entry) = stream
            .next()
            .map_err(|e| describe(server, "the search failed", &e))?
        {
            weight += values_in(&entry);
            batch.push(entry);
            if batch.len() == BATCH || weight >= BATCH_VALUES {
                weight = 0;
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if pages.send(full).is_err() {
                    // The mapping stopped with its own error.
                    return Err(SourceError::new(server, "the read was abandoned"));
                }
            }
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
        let paged = res
            .ctrls
            .iter()
            .find(|c| c.1.ctype == PAGED_RESULTS_OID)
            .map(|c| paged_cookie(&c.1));
        if !batch.is_empty() && pages.send(batch).is_err() {
            // The mapping stopped with its own error.
            return Err(SourceError::new(server, "the read was abandoned"));
        }
        match paged {
            // The server ignored paging and sent everything at once.
            None if cookie.is_empty() => return Ok(conn),
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
            Some(Some(next)) if next.is_empty() => return Ok(conn),
            Some(Some(next)) => cookie = next,
        }
    }
}

fn paged_control(size: u32, cookie: &[u8]) -> RawControl {
    // realSearchControlValue ::= SEQUENCE { size INTEGER, cookie OCTET STRING }
    fn tlv(tag: u8, content: &[u8], out: &mut Vec<u8>) {
        out.push(tag);
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
    }
    let mut int = size.to_be_bytes().to_vec();
    while int.len() > 1 && int[0] == 0 && int[1] & 0x80 == 0 {
        int.remove(0);
    }
    if int[0] & 0x80 != 0 {
        int.insert(0, 0);
    }
    let mut inner = Vec::new();
    tlv(0x02, &int, &mut inner);
    tlv(0x04, cookie, &mut inner);
    let mut value = Vec::new();
    tlv(0x30, &inner, &mut value);
    RawControl {
        ctype: PAGED_RESULTS_OID.to_string(),
        crit: true,
        val: Some(value),
    }
}

/// The cookie of a paged-results response control; `None` if it cannot
/// be decoded.
fn paged_cookie(control: &RawControl) -> Option<Vec<u8>> {
    let value = control.val.as_ref()?;
    let (_, tag) = parse_tag(value).ok()?;
    let mut parts = tag.expect_constructed()?.into_iter();
    parts.next()?.expect_primitive()?;
    parts.next()?.expect_primitive()
}

fn primitive_text(tag: StructureTag) -> Option<String> {
    String::from_utf8(tag.expect_primitive()?).ok()
}

/// Decodes a SearchResultEntry without trusting its shape. `origin` is
/// the server; [`DirEntry::location`] adds the DN.
fn decode_entry(re: ResultEntry, origin: Origin) -> Option<DirEntry> {
    let StructureTag { id, payload, .. } = re.0;
    if id != 4 {
        return None;
    }
    let PL::C(parts) = payload else {
        return None;
    };
    let mut parts = parts.into_iter();
    let dn = primitive_text(parts.next()?)?;
    let mut entry = DirEntry::new(dn, origin);
    for attr in parts.next()?.expect_constructed()? {
        let mut av = attr.expect_constructed()?.into_iter();
        let mut name = primitive_text(av.next()?)?;
        name.make_ascii_lowercase();
        let values = av
            .next()?
            .expect_constructed()?
            .into_iter()
            .map(StructureTag::expect_primitive)
            .collect::<Option<Vec<Vec<u8>>>>()?;
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
    timeout: Duration,
    server: &str,
) -> Result<(), SourceError> {
    complete_ranges(entries, server, |dn, wanted| {
        let result = conn
            .with_timeout(timeout)
            .search(dn, Scope::Base, "(objectClass=*)", vec![wanted])
            .map_err(|e| describe(server, "reading a large group's members failed", &e))?;
        let ldap3::SearchResult(page, res) = result;
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
        Ok(page
            .into_iter()
            .filter(|re| !re.is_ref())
            .find_map(|re| decode_entry(re, Origin::new(server, None)))
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
                let (_, end) = bounds(&range).ok_or_else(unreadable)?;
                let Some(end) = end else {
                    break;
                };
                let wanted = format!("{base};range={}-*", end + 1);
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
                // would loop or leave a gap.
                if bounds(&next).map(|(start, _)| start) != Some(end + 1) {
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
                eprintln!(
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
            Some(("ldap".into(), "127.0.0.1".into()))
        );
        assert_eq!(
            url_host("LDAPS://[::1]:636/"),
            Some(("ldaps".into(), "::1".into()))
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

    #[test]
    fn paging_control_round_trips() {
        let c = paged_control(500, b"abc");
        // The response control has the same shape as the request.
        assert_eq!(paged_cookie(&c), Some(b"abc".to_vec()));
    }
}
