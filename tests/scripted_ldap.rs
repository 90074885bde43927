//! `--ldap` against a scripted LDAP server, for what slapd and Samba do not
//! do on demand: Active Directory's ranged `member` values (Samba 4.17 sends
//! every value at once), search continuation references in a result, a
//! paged search whose cookie stops early, and a time limit. The server
//! speaks just enough BER for a simple bind and paged searches.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;

use common::*;

// BER, as small as the script needs.

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
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
    out
}

fn int(tag: u8, v: u32) -> Vec<u8> {
    let mut bytes = v.to_be_bytes().to_vec();
    while bytes.len() > 1 && bytes[0] == 0 && bytes[1] & 0x80 == 0 {
        bytes.remove(0);
    }
    if bytes[0] & 0x80 != 0 {
        bytes.insert(0, 0);
    }
    tlv(tag, &bytes)
}

fn octets(s: &[u8]) -> Vec<u8> {
    tlv(0x04, s)
}

fn message(id: u32, op: Vec<u8>, controls: Option<Vec<u8>>) -> Vec<u8> {
    let mut body = int(0x02, id);
    body.extend(op);
    if let Some(c) = controls {
        body.extend(tlv(0xa0, &c));
    }
    tlv(0x30, &body)
}

fn result(tag: u8, rc: u32, text: &str) -> Vec<u8> {
    let mut body = int(0x0a, rc);
    body.extend(octets(b""));
    body.extend(octets(text.as_bytes()));
    tlv(tag, &body)
}

fn entry(dn: &str, attrs: &[(&str, Vec<String>)]) -> Vec<u8> {
    let mut list = Vec::new();
    for (name, values) in attrs {
        let mut vals = Vec::new();
        for v in values {
            vals.extend(octets(v.as_bytes()));
        }
        let mut a = octets(name.as_bytes());
        a.extend(tlv(0x31, &vals));
        list.extend(tlv(0x30, &a));
    }
    let mut body = octets(dn.as_bytes());
    body.extend(tlv(0x30, &list));
    tlv(0x64, &body)
}

fn paged_control(cookie: &[u8]) -> Vec<u8> {
    let mut value = int(0x02, 0);
    value.extend(octets(cookie));
    let mut control = octets(b"1.2.840.113556.1.4.319");
    control.extend(octets(&tlv(0x30, &value)));
    tlv(0x30, &control)
}

/// Reads one TLV from a stream: (tag, content).
fn read_tlv(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).ok()?;
    let len = if head[1] & 0x80 == 0 {
        head[1] as usize
    } else {
        let n = (head[1] & 0x7f) as usize;
        let mut bytes = vec![0u8; n];
        s.read_exact(&mut bytes).ok()?;
        bytes.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize)
    };
    let mut content = vec![0u8; len];
    s.read_exact(&mut content).ok()?;
    Some((head[0], content))
}

/// Splits content into its TLVs: (tag, content).
fn children(mut data: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let tag = data[0];
        let (len, head) = if data[1] & 0x80 == 0 {
            (data[1] as usize, 2)
        } else {
            let n = (data[1] & 0x7f) as usize;
            let len = data[2..2 + n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | b as usize);
            (len, 2 + n)
        };
        out.push((tag, data[head..head + len].to_vec()));
        data = &data[head + len..];
    }
    out
}

/// A search request as the script sees it.
struct Search {
    base: String,
    attrs: Vec<String>,
    cookie: Vec<u8>,
    /// The page size asked for (0 without paging).
    size: u32,
    /// The search for groups (its filter names no person class), not the
    /// one for accounts.
    groups: bool,
}

fn parse_search(op: &[u8], controls: Option<&[u8]>) -> Search {
    let parts = children(op);
    let base = String::from_utf8_lossy(&parts[0].1).into_owned();
    let attrs = parts
        .last()
        .map(|(_, a)| {
            children(a)
                .into_iter()
                .map(|(_, v)| String::from_utf8_lossy(&v).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let filter = parts.get(6).map(|(_, f)| f.as_slice()).unwrap_or(&[]);
    let groups = !filter.windows(6).any(|w| w == b"person");
    let mut cookie = Vec::new();
    let mut size = 0;
    if let Some(c) = controls {
        for (_, control) in children(c) {
            let parts = children(&control);
            if parts[0].1 == b"1.2.840.113556.1.4.319" {
                let value = &parts.last().unwrap().1;
                let seq = children(value);
                let paging = children(&seq[0].1);
                size = paging[0]
                    .1
                    .iter()
                    .fold(0u32, |acc, &b| (acc << 8) | b as u32);
                cookie = paging[1].1.clone();
            }
        }
    }
    Search {
        base,
        attrs,
        cookie,
        size,
        groups,
    }
}

/// What the server answers to a search: the messages' operations, and the
/// paged-results control of the final result (None: no control).
type Script = fn(&Search) -> (Vec<Vec<u8>>, Option<Vec<u8>>);

fn serve(script: Script) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || session(stream, script));
        }
    });
    port
}

fn session(mut s: TcpStream, script: Script) {
    while let Some((_, msg)) = read_tlv(&mut s) {
        let parts = children(&msg);
        let id = parts[0]
            .1
            .iter()
            .fold(0u32, |acc, &b| (acc << 8) | b as u32);
        let (op_tag, op) = (&parts[1].0, &parts[1].1);
        let controls = parts.get(2).map(|(_, c)| c.as_slice());
        match op_tag {
            0x60 => {
                let _ = s.write_all(&message(id, result(0x61, 0, ""), None));
            }
            0x63 => {
                let search = parse_search(op, controls);
                let (ops, done_control) = script(&search);
                let mut out = Vec::new();
                let count = ops.len();
                for (i, op) in ops.into_iter().enumerate() {
                    let last = i + 1 == count;
                    let controls = if last { done_control.clone() } else { None };
                    out.extend(message(id, op, controls));
                }
                let _ = s.write_all(&out);
            }
            _ => return,
        }
    }
}

const BIG: usize = 1600;

/// Active Directory's way: a group of 1600 members comes as
/// `member;range=0-1499`, the rest when asked for `member;range=1500-*`;
/// a search continuation reference comes with the entries.
fn ad_script(search: &Search) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
    let member = |i: usize| format!("CN=u{i},DC=fake");
    if search.base == "CN=Big,DC=fake" {
        let wanted = search.attrs.first().cloned().unwrap_or_default();
        assert_eq!(wanted, "member;range=1500-*");
        let values = (1500..BIG).map(member).collect();
        return (
            vec![
                entry("CN=Big,DC=fake", &[("member;range=1500-*", values)]),
                result(0x65, 0, ""),
            ],
            None,
        );
    }
    let mut ops = Vec::new();
    if !search.groups {
        for i in 0..BIG {
            ops.push(entry(
                &member(i),
                &[
                    ("objectClass", vec!["user".into()]),
                    ("sAMAccountName", vec![format!("u{i}")]),
                    ("userAccountControl", vec!["512".into()]),
                ],
            ));
        }
        ops.push(tlv(0x73, &octets(b"ldap://fake/CN=Configuration,DC=fake")));
        ops.push(result(0x65, 0, ""));
        return (ops, Some(paged_control(b"")));
    }
    let values = (0..1500).map(member).collect();
    ops.push(entry(
        "CN=Big,DC=fake",
        &[
            ("objectClass", vec!["group".into()]),
            ("cn", vec!["Big".into()]),
            ("member", Vec::new()),
            ("member;range=0-1499", values),
        ],
    ));
    ops.push(tlv(0x73, &octets(b"ldap://fake/DC=DomainDnsZones,DC=fake")));
    ops.push(result(0x65, 0, ""));
    (ops, Some(paged_control(b"")))
}

/// The first page promises more; the second comes without its control.
fn cookie_stops_script(search: &Search) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
    let user = entry(
        "CN=a,DC=fake",
        &[
            ("objectClass", vec!["user".into()]),
            ("sAMAccountName", vec!["a".into()]),
        ],
    );
    if search.cookie.is_empty() {
        (
            vec![user, result(0x65, 0, "")],
            Some(paged_control(b"more")),
        )
    } else {
        (vec![result(0x65, 0, "")], None)
    }
}

/// An entry whose attributes are not a sequence.
fn unreadable_entry_script(_: &Search) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
    let mut body = octets(b"CN=a,DC=fake");
    body.extend(octets(b"not attributes"));
    (
        vec![tlv(0x64, &body), result(0x65, 0, "")],
        Some(paged_control(b"")),
    )
}

/// The attributes of every subtree search the server was asked.
static ASKED: std::sync::Mutex<Vec<Vec<String>>> = std::sync::Mutex::new(Vec::new());

/// As [`ad_script`], noting what each search of the whole directory asks
/// for.
fn recording_script(search: &Search) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
    if search.base == "DC=fake" {
        ASKED.lock().unwrap().push(search.attrs.clone());
    }
    ad_script(search)
}

fn time_limit_script(_: &Search) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
    (vec![result(0x65, 3, "time limit exceeded")], None)
}

/// The policy of the scripted server's directory.
fn policy() -> String {
    social_source("fake", "Fake")
        + r#"
[[grant]]
group = '^Big$'
role = "Las"
scope = "A"

[[allow]]
id = "alla"
role = "Las"
scope = "*"
max_accounts = 1
"#
}

fn audit(dir: &Path, port: u16) -> Output {
    audit_with(dir, port, &policy())
}

fn audit_with(dir: &Path, port: u16, policy: &str) -> Output {
    audit_fake(
        dir,
        &format!("ldap://127.0.0.1:{port}"),
        policy,
        "page_size = 1000\ntimeout_s = 5",
        &[("FAKE_PW", SVC_PASSWORD)],
    )
    .0
}

/// An audit of a scripted server at `url` with `policy`, `[ldap]`
/// settings beside the fixed ones (`ldap_extra`) and `env`; returns the
/// run and where its report was to go.
fn audit_fake(
    dir: &Path,
    url: &str,
    policy: &str,
    ldap_extra: &str,
    env: &[(&str, &str)],
) -> (Output, std::path::PathBuf) {
    let policies = policy_dir(dir, "fake.toml", policy);
    let config = dir.join("behorig.toml");
    write(
        &config,
        &format!(
            "[audit]\npolicies = \"{}\"\n\n[ldap]\nbind_dn = \"CN=svc,DC=fake\"\npassword_env = \"FAKE_PW\"\nbase_dn = \"DC=fake\"\n{ldap_extra}\n",
            policies.display()
        ),
    );
    let report = dir.join("report.json");
    let o = common::audit(
        &[
            "--config",
            &config.to_string_lossy(),
            "--ldap",
            url,
            "--output",
            &report.to_string_lossy(),
        ],
        env,
    );
    (o, report)
}

#[test]
fn ranged_members_and_references_are_read_like_active_directory_sends_them() {
    let dir = tempfile::tempdir().unwrap();
    let o = audit(dir.path(), serve(ad_script));
    // too-many-accounts is medium: below the default --fail-on high.
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    // The references are other naming contexts: skipped, and said so.
    assert!(
        err.contains("skipped 2 search references") && err.contains("ldap://fake/"),
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    let too_many = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "too-many-accounts")
        .expect("a too-many-accounts finding");
    assert_eq!(too_many["accounts"], BIG);
    assert_eq!(report["summary"]["accounts"], BIG);
}

#[test]
fn a_paged_search_that_stops_early_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let port = serve(cookie_stops_script);
    let o = audit(dir.path(), port);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains(&format!("ldap://127.0.0.1:{port}")), "{err}");
    assert!(err.contains("stopped early"), "{err}");
    assert!(!err.contains(SVC_PASSWORD));
    assert!(!dir.path().join("report.json").exists());
}

#[test]
fn a_time_limit_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let port = serve(time_limit_script);
    let o = audit(dir.path(), port);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains(&format!("ldap://127.0.0.1:{port}")), "{err}");
    assert!(err.contains("time limit"), "{err}");
    assert!(!dir.path().join("report.json").exists());
}

#[test]
fn an_unreadable_entry_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let port = serve(unreadable_entry_script);
    let o = audit(dir.path(), port);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains(&format!("ldap://127.0.0.1:{port}")), "{err}");
    assert!(err.contains("could not be decoded"), "{err}");
    assert!(!dir.path().join("report.json").exists());
}

/// An audit asks the directory only for the attributes it maps and those
/// its policies' conditions read: not for every attribute (`*`), so no
/// personal data it has no use for crosses the wire.
#[test]
fn an_audit_asks_only_for_the_attributes_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy().replace("max_accounts = 1", "when.extensionAttribute7 = \"Ja\"");
    let o = audit_with(dir.path(), serve(recording_script), &policy);
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{}",
        stderr(&o)
    );
    let asked = ASKED.lock().unwrap().clone();
    assert!(!asked.is_empty(), "the directory was searched");
    for attrs in asked {
        assert!(!attrs.iter().any(|a| a == "*"), "{attrs:?}");
        for wanted in [
            "extensionattribute7",
            "member",
            "samaccountname",
            "useraccountcontrol",
        ] {
            assert!(attrs.iter().any(|a| a == wanted), "{wanted} in {attrs:?}");
        }
        assert!(!attrs.iter().any(|a| a == "mail"), "{attrs:?}");
    }
}

/// The page sizes of the groups' search, in the order asked.
static GROUP_PAGES: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Ten accounts; then groups over three pages: sixteen small ones, three
/// of 30,000 members (about a mebibyte each), and one more small one.
fn group_pages_script(search: &Search) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
    let member = |i: usize| format!("CN=u{},DC=fake", i % 10);
    if !search.groups {
        let ops = (0..10)
            .map(|i| {
                entry(
                    &member(i),
                    &[
                        ("objectClass", vec!["user".into()]),
                        ("sAMAccountName", vec![format!("u{i}")]),
                    ],
                )
            })
            .chain([result(0x65, 0, "")])
            .collect();
        return (ops, Some(paged_control(b"")));
    }
    GROUP_PAGES.lock().unwrap().push(search.size);
    let group = |name: String, members: usize| {
        entry(
            &format!("CN={name},DC=fake"),
            &[
                ("objectClass", vec!["group".into()]),
                ("cn", vec![name]),
                (
                    "member",
                    (0..members)
                        .map(|i| format!("{}-{i:05}", member(i)))
                        .collect(),
                ),
            ],
        )
    };
    let (mut ops, next): (Vec<Vec<u8>>, &[u8]) = match search.cookie.as_slice() {
        b"" => (
            (0..16).map(|i| group(format!("Liten{i}"), 1)).collect(),
            b"2",
        ),
        b"2" => (
            (0..3).map(|i| group(format!("Stor{i}"), 30_000)).collect(),
            b"3",
        ),
        _ => (vec![group("Sist".into(), 1)], b""),
    };
    ops.push(result(0x65, 0, ""));
    (ops, Some(paged_control(next)))
}

/// Groups come in a search of their own, in pages sized by their bytes:
/// a page of a thousand groups of thousands of members each would be
/// held whole in memory before the first of them is read.
#[test]
fn groups_are_asked_for_in_pages_sized_by_their_members() {
    let dir = tempfile::tempdir().unwrap();
    let o = audit(dir.path(), serve(group_pages_script));
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{}",
        stderr(&o)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["groups"], 20, "{report}");
    // The first page is small; after sixteen small groups the configured
    // size; after three groups of a mebibyte each, small again.
    let pages = GROUP_PAGES.lock().unwrap().clone();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert!(pages[0] <= 16, "{pages:?}");
    assert!(pages[1] >= 500, "{pages:?}");
    assert!(pages[2] <= 16, "{pages:?}");
}

// Hostile servers: each way a server could keep a read going without end,
// or answer what was not asked, ends the audit with exit 3 and the server
// named, in bounded time.

/// Serves every connection with `handler`, which speaks for itself.
fn serve_raw(handler: fn(TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || handler(stream));
        }
    });
    port
}

/// Answers the bind, then reads the next request and returns its id.
fn bind_then_search(s: &mut TcpStream) -> Option<u32> {
    loop {
        let (_, msg) = read_tlv(s)?;
        let parts = children(&msg);
        let id = parts[0]
            .1
            .iter()
            .fold(0u32, |acc, &b| (acc << 8) | b as u32);
        match parts[1].0 {
            0x60 => s.write_all(&message(id, result(0x61, 0, ""), None)).ok()?,
            0x63 => return Some(id),
            _ => return None,
        }
    }
}

/// One entry, then search continuation references for ever.
fn endless_references(mut s: TcpStream) {
    let Some(id) = bind_then_search(&mut s) else {
        return;
    };
    let user = entry(
        "CN=a,DC=fake",
        &[
            ("objectClass", vec!["user".into()]),
            ("sAMAccountName", vec!["a".into()]),
        ],
    );
    if s.write_all(&message(id, user, None)).is_err() {
        return;
    }
    let reference = message(id, tlv(0x73, &octets(b"ldap://fake/DC=fake")), None);
    let burst: Vec<u8> = reference
        .iter()
        .copied()
        .cycle()
        .take(reference.len() * 1000)
        .collect();
    while s.write_all(&burst).is_ok() {}
}

/// Every page brings a new account and promises another: a cookie that
/// never ends.
fn endless_pages_script(search: &Search) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
    let page = search
        .cookie
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | b as u64);
    let user = entry(
        &format!("CN=u{page},DC=fake"),
        &[
            ("objectClass", vec!["user".into()]),
            ("sAMAccountName", vec![format!("u{page}")]),
        ],
    );
    (
        vec![user, result(0x65, 0, "")],
        Some(paged_control(&(page + 1).to_be_bytes())),
    )
}

/// Every page is empty and promises another, with the same cookie.
fn repeated_cookie_script(_: &Search) -> (Vec<Vec<u8>>, Option<Vec<u8>>) {
    (vec![result(0x65, 0, "")], Some(paged_control(b"again")))
}

/// A message that claims a gigabyte, then silence.
fn oversized_answer(mut s: TcpStream) {
    let Some(_) = bind_then_search(&mut s) else {
        return;
    };
    let _ = s.write_all(&[0x30, 0x84, 0x40, 0x00, 0x00, 0x00, 0x02, 0x01]);
    let mut sink = [0u8; 64];
    while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
}

/// Answers the search under another message id.
fn misaddressed_answer(mut s: TcpStream) {
    let Some(id) = bind_then_search(&mut s) else {
        return;
    };
    let _ = s.write_all(&message(id + 40, result(0x65, 0, ""), None));
    let mut sink = [0u8; 64];
    while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
}

/// A message that is an empty sequence: no id, no operation.
fn empty_message(mut s: TcpStream) {
    let Some(_) = bind_then_search(&mut s) else {
        return;
    };
    let _ = s.write_all(&tlv(0x30, &[]));
    let mut sink = [0u8; 64];
    while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
}

/// Runs an audit of the server on `port` with extra `[ldap]` settings and
/// asserts it failed closed within `within`; returns stderr.
fn fails_closed(port: u16, ldap_extra: &str, within: std::time::Duration) -> String {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("ldap://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let (o, report) = audit_fake(
        dir.path(),
        &url,
        &policy(),
        ldap_extra,
        &[("FAKE_PW", SVC_PASSWORD)],
    );
    let err = stderr(&o);
    assert!(
        started.elapsed() < within,
        "took {:?}: {err}",
        started.elapsed()
    );
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains(&url), "the server is not named: {err}");
    assert!(!err.contains(SVC_PASSWORD), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!report.exists(), "a report was written");
    err
}

#[test]
fn search_references_without_end_fail_closed() {
    let err = fails_closed(
        serve_raw(endless_references),
        "timeout_s = 5",
        std::time::Duration::from_secs(30),
    );
    assert!(err.contains("search references"), "{err}");
}

#[test]
fn pages_without_end_stop_at_the_reads_deadline() {
    let err = fails_closed(
        serve(endless_pages_script),
        "timeout_s = 5\ndeadline_s = 3\npage_size = 1",
        std::time::Duration::from_secs(30),
    );
    assert!(err.contains("deadline of 3 s"), "{err}");
    assert!(err.contains("deadline_s"), "{err}");
}

#[test]
fn a_cookie_repeated_on_empty_pages_fails_closed() {
    let err = fails_closed(
        serve(repeated_cookie_script),
        "timeout_s = 5",
        std::time::Duration::from_secs(30),
    );
    assert!(err.contains("does not move on"), "{err}");
}

#[test]
fn an_answer_that_claims_a_gigabyte_and_never_comes_times_out() {
    let err = fails_closed(
        serve_raw(oversized_answer),
        "timeout_s = 2",
        std::time::Duration::from_secs(30),
    );
    assert!(err.contains("no answer within 2 s"), "{err}");
}

#[test]
fn an_answer_to_a_request_not_sent_is_not_taken() {
    let err = fails_closed(
        serve_raw(misaddressed_answer),
        "timeout_s = 2",
        std::time::Duration::from_secs(30),
    );
    assert!(err.contains("no answer within 2 s"), "{err}");
}

#[test]
fn a_message_that_is_not_ldap_fails_closed_without_a_panic() {
    let err = fails_closed(
        serve_raw(empty_message),
        "timeout_s = 5",
        std::time::Duration::from_secs(30),
    );
    assert!(err.contains("not valid LDAP"), "{err}");
}

/// Environment variables given to a run.
type Env<'a> = &'a [(&'a str, &'a str)];

/// Set-up mistakes end the audit before anything is sent: exit 2, with
/// what to change.
#[test]
fn set_up_mistakes_exit_2() {
    let port = serve(ad_script);
    let url = format!("ldap://127.0.0.1:{port}");
    let cases: [(&str, &str, Env, &str); 5] = [
        (
            "ldaps://[::1",
            "",
            &[("FAKE_PW", SVC_PASSWORD)],
            "does not parse",
        ),
        (
            &url,
            "timeout_s = 1000000000000",
            &[("FAKE_PW", SVC_PASSWORD)],
            "more than a day",
        ),
        (
            &url,
            "deadline_s = 999999999",
            &[("FAKE_PW", SVC_PASSWORD)],
            "more than a day",
        ),
        (
            "ldaps://dc1.example.se",
            "tls_verify_hostname = false",
            &[("FAKE_PW", SVC_PASSWORD)],
            "without `ca_cert`",
        ),
        (&url, "", &[], "FAKE_PW"),
    ];
    for (url, extra, env, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (o, report) = audit_fake(dir.path(), url, &policy(), extra, env);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{url} {extra}: {err}");
        assert!(err.contains(expected), "{url} {extra}: {err}");
        assert!(err.contains("help:"), "{url} {extra}: {err}");
        assert!(!report.exists());
    }
}

/// Whether a StartTLS script's server saw anything after its answer.
static AFTER_STARTTLS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

/// Answers StartTLS with `rc`, followed by `injected` in the clear, and
/// keeps every byte that comes after.
fn starttls_answer(mut s: TcpStream, rc: u32, injected: &[u8]) {
    let Some((_, msg)) = read_tlv(&mut s) else {
        return;
    };
    let parts = children(&msg);
    if parts[1].0 != 0x77 {
        return;
    }
    let id = parts[0]
        .1
        .iter()
        .fold(0u32, |acc, &b| (acc << 8) | b as u32);
    let mut answer = message(id, result(0x78, rc, ""), None);
    answer.extend_from_slice(injected);
    if s.write_all(&answer).is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        AFTER_STARTTLS.lock().unwrap().extend_from_slice(&buf[..n]);
    }
}

/// The bind goes over TLS or not at all: a refused StartTLS, or bytes
/// slipped in after its answer, end the read before the bind DN or the
/// password is sent.
#[test]
fn nothing_is_sent_in_the_clear_after_starttls() {
    fn refused(s: TcpStream) {
        starttls_answer(s, 52, &[]);
    }
    fn injected(s: TcpStream) {
        // A bind response someone slipped in before the handshake.
        starttls_answer(s, 0, &message(2, result(0x61, 0, ""), None));
    }
    for (handler, expected) in [
        (refused as fn(TcpStream), "StartTLS"),
        // The handshake waits for a server that never speaks TLS.
        (injected, "no answer within 5 s"),
    ] {
        AFTER_STARTTLS.lock().unwrap().clear();
        let err = fails_closed(
            serve_raw(handler),
            "starttls = true\ntimeout_s = 5",
            std::time::Duration::from_secs(30),
        );
        assert!(err.contains(expected), "{err}");
        let after = AFTER_STARTTLS.lock().unwrap().clone();
        let text = String::from_utf8_lossy(&after);
        assert!(!text.contains("CN=svc"), "the bind DN went in the clear");
        assert!(
            !text.contains(SVC_PASSWORD),
            "the password went in the clear"
        );
    }
}
