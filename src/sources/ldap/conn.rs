//! A blocking LDAP v3 client (RFC 4511) for what an audit does: connect
//! over TLS or StartTLS, bind, search page by page, unbind.
//!
//! Answers are read one message at a time into one reused buffer, and a
//! search hands each entry to its caller in place, borrowed from that
//! buffer. Nothing queues entries: while the caller maps one, the kernel's
//! socket buffer is the only backlog, and TCP's flow control holds the
//! server to the pace of the mapping. Memory is one message, however
//! large the directory and however fast the server sends.
//!
//! Every failure is a [`SourceError`] naming the server: a refused or lost
//! connection, no answer within the time-out, a TLS failure, a message
//! that is not valid LDAP, or an answer to a request that was not asked.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::ber::{self, Malformed, Reader, BOOLEAN, ENUMERATED, INTEGER, OCTET_STRING, SEQUENCE};
use crate::sources::SourceError;

const STARTTLS_OID: &str = "1.3.6.1.4.1.1466.20037";
/// The buffer's first size; it doubles while a message does not fit.
const READ_CHUNK: usize = 256 * 1024;
/// No LDAP message an audit reads comes near this; a length beyond it is
/// a broken or hostile server.
const MAX_MESSAGE: usize = 1 << 28;

/// Protocol operations (RFC 4511 §4.2–4.14), as tags.
const BIND_REQUEST: u8 = 0x60;
const BIND_RESPONSE: u8 = 0x61;
const UNBIND_REQUEST: u8 = 0x42;
const SEARCH_REQUEST: u8 = 0x63;
const SEARCH_ENTRY: u8 = 0x64;
const SEARCH_DONE: u8 = 0x65;
const SEARCH_REFERENCE: u8 = 0x73;
const EXTENDED_REQUEST: u8 = 0x77;
const EXTENDED_RESPONSE: u8 = 0x78;
const INTERMEDIATE_RESPONSE: u8 = 0x79;
const CONTROLS: u8 = 0xa0;

/// A search filter (RFC 4511 §4.5.1), as far as an audit needs one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Or(Vec<Filter>),
    Equal(String, String),
    Present(String),
}

impl Filter {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Filter::Or(list) => ber::nest(out, 0xa1, |o| {
                for f in list {
                    f.encode(o);
                }
            }),
            Filter::Equal(attr, value) => ber::nest(out, 0xa3, |o| {
                ber::put(o, OCTET_STRING, attr.as_bytes());
                ber::put(o, OCTET_STRING, value.as_bytes());
            }),
            Filter::Present(attr) => ber::put(out, 0x87, attr.as_bytes()),
        }
    }
}

/// The string form (RFC 4515), for tools such as `ldapsearch`.
impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn escaped(f: &mut std::fmt::Formatter<'_>, s: &str) -> std::fmt::Result {
            for c in s.chars() {
                match c {
                    '*' | '(' | ')' | '\\' | '\0' => write!(f, "\\{:02x}", c as u32)?,
                    c => write!(f, "{c}")?,
                }
            }
            Ok(())
        }
        match self {
            Filter::Or(list) => {
                f.write_str("(|")?;
                for item in list {
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
            Filter::Equal(attr, value) => {
                write!(f, "({attr}=")?;
                escaped(f, value)?;
                f.write_str(")")
            }
            Filter::Present(attr) => write!(f, "({attr}=*)"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Base = 0,
    Subtree = 2,
}

/// A request or response control (RFC 4511 §4.1.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub oid: String,
    pub critical: bool,
    pub value: Option<Vec<u8>>,
}

impl Control {
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        ber::nest(out, SEQUENCE, |o| {
            ber::put(o, OCTET_STRING, self.oid.as_bytes());
            if self.critical {
                ber::put(o, BOOLEAN, &[0xff]);
            }
            if let Some(value) = &self.value {
                ber::put(o, OCTET_STRING, value);
            }
        });
    }
}

/// An LDAPResult (RFC 4511 §4.1.9): the result code, the server's text
/// and any referral URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapResult {
    pub rc: i64,
    pub text: String,
    pub referrals: Vec<String>,
}

/// How a search ended: its result and the controls that came with it.
#[derive(Debug)]
pub struct Done {
    pub result: LdapResult,
    pub controls: Vec<Control>,
}

/// One message, borrowed from the receive buffer.
struct Message<'a> {
    id: i64,
    op: u8,
    body: &'a [u8],
    controls: Option<&'a [u8]>,
}

fn parse_message(bytes: &[u8]) -> Result<Message<'_>, Malformed> {
    let mut outer = Reader::new(bytes);
    let mut r = Reader::new(outer.expect(SEQUENCE, "a message that is not a SEQUENCE")?);
    let id = r.int(INTEGER, "a message without its ID")?;
    let (op, body) = r.any()?;
    let controls = r.optional(CONTROLS)?;
    Ok(Message {
        id,
        op,
        body,
        controls,
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn parse_result(body: &[u8]) -> Result<LdapResult, Malformed> {
    let mut r = Reader::new(body);
    let rc = r.int(ENUMERATED, "a result without its result code")?;
    r.expect(OCTET_STRING, "a result without its matched DN")?;
    let message = r.expect(OCTET_STRING, "a result without its diagnostic message")?;
    let mut referrals = Vec::new();
    if let Some(list) = r.optional(0xa3)? {
        let mut urls = Reader::new(list);
        while !urls.is_empty() {
            referrals.push(text(
                urls.expect(OCTET_STRING, "a referral that is not a URL")?,
            ));
        }
    }
    Ok(LdapResult {
        rc,
        text: text(message),
        referrals,
    })
}

pub fn parse_controls(content: Option<&[u8]>) -> Result<Vec<Control>, Malformed> {
    let mut out = Vec::new();
    let mut list = Reader::new(content.unwrap_or_default());
    while !list.is_empty() {
        let mut c = Reader::new(list.expect(SEQUENCE, "a control that is not a SEQUENCE")?);
        let oid = text(c.expect(OCTET_STRING, "a control without its type")?);
        let critical = c
            .optional(BOOLEAN)?
            .is_some_and(|b| b.first().is_some_and(|&v| v != 0));
        let value = c.optional(OCTET_STRING)?.map(<[u8]>::to_vec);
        out.push(Control {
            oid,
            critical,
            value,
        });
    }
    Ok(out)
}

/// Anything that can stand in for the socket: bytes replayed in tests
/// and by the fuzz target.
pub trait Duplex: Read + Write + Send {}
impl<T: Read + Write + Send> Duplex for T {}

enum Stream {
    Plain(TcpStream),
    Tls(Box<native_tls::TlsStream<TcpStream>>),
    Other(Box<dyn Duplex>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
            Stream::Other(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
            Stream::Other(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
            Stream::Other(s) => s.flush(),
        }
    }
}

/// Describes an I/O failure for a user, with a help line where one helps.
fn io_error(server: &str, what: &str, e: &std::io::Error, timeout: Duration) -> SourceError {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => SourceError::new(
            server,
            format!("{what}: no answer within {} s", timeout.as_secs()),
        )
        .with_help("the server did not answer within `timeout_s`: check the server, or raise `timeout_s` in [ldap]"),
        ErrorKind::ConnectionRefused => SourceError::new(server, format!("{what}: {e}"))
            .with_help("check the URL and the port, and that the server is running"),
        ErrorKind::UnexpectedEof
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe => SourceError::new(
            server,
            format!("{what}: the connection was lost ({e})"),
        )
        .with_help("the server, or something between it and behorig, closed the connection: run the audit again"),
        _ => SourceError::new(server, format!("{what}: {e}"))
            .with_help("check the server and the [ldap] settings"),
    }
}

fn tls_error(server: &str, e: &dyn std::fmt::Display) -> SourceError {
    let text = e.to_string();
    let lower = text.to_lowercase();
    let help = if lower.contains("certificate") || lower.contains("verify") {
        "the server's certificate could not be verified: set `ca_cert` in [ldap] to the CA that signed it"
    } else {
        "check that the server speaks TLS on this port, and the [ldap] settings"
    };
    SourceError::new(
        server,
        format!("cannot connect: the TLS handshake failed: {text}"),
    )
    .with_help(help)
}

/// A connection to one server.
pub struct Conn {
    stream: Stream,
    server: String,
    timeout: Duration,
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..end]`; the message last returned
    /// ends at `returned`.
    start: usize,
    end: usize,
    returned: usize,
    next_id: i64,
}

impl Conn {
    /// Connects to `host:port`; `server` names it in messages, `timeout`
    /// bounds the connect and every wait for an answer.
    pub fn connect(
        server: &str,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<Conn, SourceError> {
        let addrs = (host, port).to_socket_addrs().map_err(|e| {
            SourceError::new(
                server,
                format!("cannot connect: cannot look up `{host}`: {e}"),
            )
            .with_help("check the host name in the URL")
        })?;
        let mut last = None;
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let Some(stream) = stream else {
            return Err(match last {
                Some(e) => io_error(server, "cannot connect", &e, timeout),
                None => {
                    SourceError::new(server, format!("cannot connect: `{host}` has no address"))
                        .with_help("check the host name in the URL")
                }
            });
        };
        let setup = stream
            .set_read_timeout(Some(timeout))
            .and_then(|_| stream.set_write_timeout(Some(timeout)))
            .and_then(|_| stream.set_nodelay(true));
        if let Err(e) = setup {
            return Err(io_error(server, "cannot connect", &e, timeout));
        }
        Ok(Conn::with(server, Stream::Plain(stream), timeout))
    }

    fn with(server: &str, stream: Stream, timeout: Duration) -> Conn {
        Conn {
            stream,
            server: server.to_string(),
            timeout,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            returned: 0,
            next_id: 1,
        }
    }

    /// A connection over `stream` instead of a socket.
    pub fn over(server: &str, stream: Box<dyn Duplex>, timeout: Duration) -> Conn {
        Conn::with(server, Stream::Other(stream), timeout)
    }

    /// Speaks TLS from here on, verifying the server as `host`.
    pub fn tls(
        self,
        connector: &native_tls::TlsConnector,
        host: &str,
    ) -> Result<Conn, SourceError> {
        let Conn {
            stream,
            server,
            timeout,
            next_id,
            ..
        } = self;
        let Stream::Plain(tcp) = stream else {
            return Err(SourceError::new(
                &server,
                "cannot connect: TLS was asked for twice",
            ));
        };
        let tls = connector.connect(host, tcp).map_err(|e| match e {
            native_tls::HandshakeError::Failure(e) => tls_error(&server, &e),
            native_tls::HandshakeError::WouldBlock(_) => io_error(
                &server,
                "cannot connect: the TLS handshake",
                &std::io::Error::from(ErrorKind::TimedOut),
                timeout,
            ),
        })?;
        let mut conn = Conn::with(&server, Stream::Tls(Box::new(tls)), timeout);
        conn.next_id = next_id;
        Ok(conn)
    }

    /// Asks for TLS on a plain connection (RFC 4511 §4.14) and speaks it.
    pub fn start_tls(
        mut self,
        connector: &native_tls::TlsConnector,
        host: &str,
    ) -> Result<Conn, SourceError> {
        let id = self.send(
            |o| {
                ber::nest(o, EXTENDED_REQUEST, |r| {
                    ber::put(r, 0x80, STARTTLS_OID.as_bytes())
                })
            },
            &[],
        )?;
        let result = self.reply(id, EXTENDED_RESPONSE, "StartTLS")?;
        // Nothing may come between the answer and the handshake: bytes
        // there were sent in the clear by someone.
        if self.returned != self.end {
            return Err(malformed(
                &self.server,
                Malformed("data after the answer to StartTLS, before the TLS handshake"),
            ));
        }
        if result.rc != 0 {
            return Err(SourceError::new(
                &self.server,
                format!(
                    "the server refused StartTLS (result {}{})",
                    result.rc,
                    detail(&result.text)
                ),
            )
            .with_help("use ldaps://, or enable TLS on the server"));
        }
        self.tls(connector, host)
    }

    /// A simple bind (RFC 4511 §4.2); the result says whether it took.
    pub fn simple_bind(&mut self, dn: &str, password: &str) -> Result<LdapResult, SourceError> {
        let id = self.send(
            |o| {
                ber::nest(o, BIND_REQUEST, |r| {
                    ber::put_int(r, INTEGER, 3);
                    ber::put(r, OCTET_STRING, dn.as_bytes());
                    ber::put(r, 0x80, password.as_bytes());
                })
            },
            &[],
        )?;
        self.reply(id, BIND_RESPONSE, "the bind")
    }

    /// Runs one search (one page, with a paging control), calling `entry`
    /// with each SearchResultEntry's content as it arrives. Search
    /// continuation references and intermediate responses are skipped.
    pub fn search(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &Filter,
        attrs: &[String],
        controls: &[Control],
        mut entry: impl FnMut(&[u8]) -> Result<(), SourceError>,
    ) -> Result<Done, SourceError> {
        let id = self.send(
            |o| {
                ber::nest(o, SEARCH_REQUEST, |r| {
                    ber::put(r, OCTET_STRING, base.as_bytes());
                    ber::put_int(r, ENUMERATED, scope as i64);
                    // derefAliases: never.
                    ber::put_int(r, ENUMERATED, 0);
                    // No size or time limit of the client's own.
                    ber::put_int(r, INTEGER, 0);
                    ber::put_int(r, INTEGER, 0);
                    ber::put(r, BOOLEAN, &[0]);
                    filter.encode(r);
                    ber::nest(r, SEQUENCE, |l| {
                        for a in attrs {
                            ber::put(l, OCTET_STRING, a.as_bytes());
                        }
                    });
                })
            },
            controls,
        )?;
        let server = self.server.clone();
        let bad = |m: Malformed| malformed(&server, m);
        loop {
            let message = self.next_message()?;
            check_id(&server, &message, id)?;
            match message.op {
                SEARCH_ENTRY => entry(message.body)?,
                SEARCH_REFERENCE | INTERMEDIATE_RESPONSE => {}
                SEARCH_DONE => {
                    let result = parse_result(message.body).map_err(bad)?;
                    let controls = parse_controls(message.controls).map_err(bad)?;
                    return Ok(Done { result, controls });
                }
                op => {
                    return Err(bad(Malformed(unexpected(op))));
                }
            }
        }
    }

    /// Ends the session politely; errors no longer matter.
    pub fn unbind(mut self) {
        let _ = self.send(|o| ber::put(o, UNBIND_REQUEST, &[]), &[]);
        if let Stream::Tls(s) = &mut self.stream {
            let _ = s.shutdown();
        }
    }

    fn send(
        &mut self,
        op: impl FnOnce(&mut Vec<u8>),
        controls: &[Control],
    ) -> Result<i64, SourceError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = Vec::new();
        ber::nest(&mut message, SEQUENCE, |m| {
            ber::put_int(m, INTEGER, id);
            op(m);
            if !controls.is_empty() {
                ber::nest(m, CONTROLS, |c| {
                    for control in controls {
                        control.encode(c);
                    }
                });
            }
        });
        self.stream
            .write_all(&message)
            .and_then(|_| self.stream.flush())
            .map_err(|e| io_error(&self.server, "sending a request failed", &e, self.timeout))?;
        Ok(id)
    }

    /// The result of the answer to request `id`, which must be `op`.
    fn reply(&mut self, id: i64, op: u8, what: &str) -> Result<LdapResult, SourceError> {
        let server = self.server.clone();
        let message = self.next_message()?;
        check_id(&server, &message, id)?;
        if message.op != op {
            return Err(malformed(&server, Malformed(unexpected(message.op)))
                .with_help(format!("the server did not answer {what} as LDAP does")));
        }
        parse_result(message.body).map_err(|m| malformed(&server, m))
    }

    /// The next whole message, borrowed from the buffer until the next
    /// call.
    fn next_message(&mut self) -> Result<Message<'_>, SourceError> {
        self.start = self.returned;
        // A server that sends a message a few bytes at a time is as
        // silent as one that sends nothing.
        let deadline = std::time::Instant::now() + self.timeout;
        let total = loop {
            if std::time::Instant::now() > deadline {
                return Err(io_error(
                    &self.server,
                    "reading from the server failed",
                    &std::io::Error::from(ErrorKind::TimedOut),
                    self.timeout,
                ));
            }
            let unread = &self.buf[self.start..self.end];
            match ber::header(unread) {
                Err(m) => return Err(malformed(&self.server, m)),
                Ok(Some((_, head, len))) => {
                    let total = head.saturating_add(len);
                    if total > MAX_MESSAGE {
                        return Err(malformed(
                            &self.server,
                            Malformed("a message longer than 256 MiB"),
                        ));
                    }
                    if unread.len() >= total {
                        break total;
                    }
                    self.fill(total)?;
                }
                Ok(None) => self.fill(6)?,
            }
        };
        let bytes = &self.buf[self.start..self.start + total];
        self.returned = self.start + total;
        parse_message(bytes).map_err(|m| malformed(&self.server, m))
    }

    /// Reads what the server has sent, making room for `want` bytes from
    /// the start of the unread ones.
    fn fill(&mut self, want: usize) -> Result<(), SourceError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            self.returned = 0;
        }
        if self.start > 0 && self.buf.len() - self.start < want {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            self.returned = 0;
        }
        if self.end == self.buf.len() {
            // Grows as bytes come, never to a length the server only
            // claims.
            let grown = (self.buf.len() * 2).max(READ_CHUNK);
            self.buf.resize(grown, 0);
        }
        loop {
            match self.stream.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    return Err(io_error(
                        &self.server,
                        "reading from the server failed",
                        &std::io::Error::from(ErrorKind::UnexpectedEof),
                        self.timeout,
                    ))
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(io_error(
                        &self.server,
                        "reading from the server failed",
                        &e,
                        self.timeout,
                    ))
                }
            }
        }
    }
}

fn detail(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

fn unexpected(op: u8) -> &'static str {
    match op {
        BIND_RESPONSE => "a bind response where none was asked for",
        EXTENDED_RESPONSE => "an extended response where none was asked for",
        SEARCH_ENTRY | SEARCH_DONE | SEARCH_REFERENCE => "a search result where none was asked for",
        _ => "an operation that is not an answer to the request",
    }
}

fn malformed(server: &str, m: Malformed) -> SourceError {
    SourceError::new(server, format!("the server sent a message that is not valid LDAP: {m}"))
        .with_help("the server, or something between it and behorig, sent bytes that are not LDAP: check the URL's port and scheme (ldaps:// for TLS)")
}

/// An answer must be to the request just sent. Message ID 0 is the
/// server's notice that it is ending the session (RFC 4511 §4.4.1).
fn check_id(server: &str, message: &Message<'_>, id: i64) -> Result<(), SourceError> {
    if message.id == id {
        return Ok(());
    }
    if message.id == 0 {
        let why = parse_result(message.body)
            .map(|r| detail(&r.text))
            .unwrap_or_default();
        return Err(
            SourceError::new(server, format!("the server ended the session{why}")).with_help(
                "the directory may have restarted, or dropped idle sessions: run the audit again",
            ),
        );
    }
    Err(malformed(
        server,
        Malformed("an answer to a request that was not sent"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_print_as_rfc_4515() {
        let f = Filter::Or(vec![
            Filter::Equal("objectClass".into(), "user".into()),
            Filter::Present("cn".into()),
            Filter::Equal("cn".into(), "a*(b)\\".into()),
        ]);
        assert_eq!(
            f.to_string(),
            "(|(objectClass=user)(cn=*)(cn=a\\2a\\28b\\29\\5c))"
        );
    }

    #[test]
    fn results_and_controls_are_read() {
        let mut body = Vec::new();
        ber::put_int(&mut body, ENUMERATED, 10);
        ber::put(&mut body, OCTET_STRING, b"");
        ber::put(&mut body, OCTET_STRING, b"see there");
        ber::nest(&mut body, 0xa3, |r| ber::put(r, OCTET_STRING, b"ldap://x/"));
        let result = parse_result(&body).unwrap();
        assert_eq!(result.rc, 10);
        assert_eq!(result.text, "see there");
        assert_eq!(result.referrals, ["ldap://x/"]);

        let control = Control {
            oid: "1.2.3".into(),
            critical: true,
            value: Some(vec![1, 2]),
        };
        let mut list = Vec::new();
        control.encode(&mut list);
        assert_eq!(parse_controls(Some(&list)).unwrap(), [control]);
    }

    fn result_message(id: i64, op: u8, rc: i64) -> Vec<u8> {
        let mut out = Vec::new();
        ber::nest(&mut out, SEQUENCE, |m| {
            ber::put_int(m, INTEGER, id);
            ber::nest(m, op, |r| {
                ber::put_int(r, ENUMERATED, rc);
                ber::put(r, OCTET_STRING, b"");
                ber::put(r, OCTET_STRING, b"");
            });
        });
        out
    }

    #[test]
    fn bytes_between_starttls_and_the_handshake_fail_closed() {
        let mut bytes = result_message(1, EXTENDED_RESPONSE, 0);
        // Something injected in the clear after the server's answer.
        bytes.extend(result_message(2, BIND_RESPONSE, 0));
        let answers = crate::sources::ldap::Replay {
            bytes,
            at: 0,
            chunk: usize::MAX,
        };
        let conn = Conn::over("s", Box::new(answers), Duration::from_secs(1));
        let connector = native_tls::TlsConnector::new().unwrap();
        let err = conn.start_tls(&connector, "localhost").err().unwrap();
        assert!(err.message.contains("before the TLS handshake"), "{err}");
    }

    #[test]
    fn a_server_that_sends_a_few_bytes_at_a_time_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                // A bind response, one byte every 200 ms: each read gets
                // something well within the time-out, the whole message
                // takes three seconds.
                for b in result_message(1, BIND_RESPONSE, 0) {
                    if s.write_all(&[b]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        });
        let mut conn = Conn::connect("s", "127.0.0.1", port, Duration::from_secs(1)).unwrap();
        let started = std::time::Instant::now();
        let err = conn.simple_bind("cn=x", "pw").unwrap_err();
        assert!(err.message.contains("no answer within 1 s"), "{err}");
        assert!(started.elapsed() < Duration::from_millis(2500));
    }

    #[test]
    fn a_result_without_its_fields_is_malformed() {
        let mut body = Vec::new();
        ber::put_int(&mut body, ENUMERATED, 0);
        assert!(parse_result(&body).is_err());
    }
}
