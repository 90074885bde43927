//! Kerberos (SASL GSSAPI) binds for the directory read. The process's
//! credential cache, or the key of `principal` in `keytab`, proves who
//! behorig is: no password is stored or sent. Over `ldap://` the bind
//! seals the connection (SASL confidentiality: every message after it is
//! encrypted with the session key); over `ldaps://` it adds no layer and
//! is bound to the TLS channel (tls-server-end-point).
//!
//! Failures are told in the words of a Kerberos administrator: no ticket,
//! clock skew, an unknown service principal, an unreadable keytab.
//! Those are set-up problems (exit 2); a server that refuses the bind or
//! fails during it ends the read like any other server failure (exit 3).

use std::path::Path;
use std::time::Duration;

use cross_krb5::{Cred, InitiateFlags, K5Cred};
use ldap3::{LdapConn, LdapError};

use super::setup;
use crate::error::Error;
use crate::sources::SourceError;

/// Points the Kerberos library at the keytab before any connection is
/// made: tickets for `principal` come from its key, into a credential
/// cache in memory that ends with the process.
pub fn prepare(keytab: Option<&Path>, server: &str) -> Result<(), Error> {
    let Some(keytab) = keytab else {
        return Ok(());
    };
    if let Err(e) = std::fs::File::open(keytab) {
        return Err(setup(
            SourceError::new(
                server,
                format!("the keytab `{}` is not readable: {e}", keytab.display()),
            )
            .with_help("check `keytab` in [ldap] and that the user running behorig may read it (chmod 600, owned by that user)"),
        ));
    }
    // Set while this is the only thread: nothing else reads the
    // environment yet.
    std::env::set_var("KRB5_CLIENT_KTNAME", format!("FILE:{}", keytab.display()));
    std::env::set_var(
        "KRB5CCNAME",
        format!("MEMORY:behorig-{}", std::process::id()),
    );
    Ok(())
}

/// Binds with SASL GSSAPI to the service principal `ldap/host`.
pub fn bind(
    conn: &mut LdapConn,
    principal: Option<&str>,
    server: &str,
    host: &str,
    wait: Duration,
) -> Result<(), Error> {
    let result = match principal {
        Some(principal) => {
            let cred = Cred::client_acquire(InitiateFlags::empty(), Some(principal))
                .map_err(|e| gssapi_error(server, host, &format!("{e:#}"), Some(principal)))?;
            conn.with_timeout(wait).sasl_gssapi_cred_bind(cred, host)
        }
        None => conn.with_timeout(wait).sasl_gssapi_bind(host),
    };
    let result = match result {
        Ok(result) => result,
        Err(LdapError::GssapiOperationError(text)) => {
            return Err(gssapi_error(server, host, &text, principal))
        }
        Err(e) => {
            return Err(
                SourceError::new(server, format!("the Kerberos bind failed: {e}"))
                    .with_help("check the server, and run the audit again")
                    .into(),
            )
        }
    };
    if result.rc != 0 {
        return Err(SourceError::new(
            server,
            format!(
                "the server refused the Kerberos bind (result {}{})",
                result.rc,
                super::detail(&result.text)
            ),
        )
        .with_help(format!("the ticket was accepted by the KDC but not by the directory: check that the account may read the directory, and that `ldap/{host}` is the directory's own service principal; Samba refuses Kerberos over ldaps:// (use ldap://, which Kerberos seals)"))
        .into());
    }
    Ok(())
}

/// Turns a GSSAPI error into what an administrator recognises.
fn gssapi_error(server: &str, host: &str, text: &str, principal: Option<&str>) -> Error {
    let lower = text.to_lowercase();
    let who = principal.unwrap_or("the user running behorig");
    let (message, help) = if lower.contains("clock skew") {
        (
            "Kerberos refused the ticket: the clocks of this machine and the domain controller differ too much (clock skew)".to_string(),
            "synchronise this machine's clock with the domain (NTP against a domain controller): Kerberos allows five minutes".to_string(),
        )
    } else if lower.contains("server not found in kerberos database")
        || lower.contains("unknown server")
        || (lower.contains("not found in kerberos database") && lower.contains("ldap/"))
    {
        (
            format!("the KDC does not know the service principal `ldap/{host}`"),
            format!("write the URL with the domain controller's own name (as its SPN has it), or register it: `setspn -S ldap/{host} <DC account>` on Windows, `samba-tool spn add ldap/{host} <DC account>$` on Samba"),
        )
    } else if lower.contains("client not found in kerberos database")
        || lower.contains("keytab")
        || lower.contains("key table")
    {
        (
            format!("no key for `{who}` could be used from the keytab: {text}"),
            "check `principal` against `klist -k` of the keytab, and export the keytab again if the account's password changed (ktpass or samba-tool domain exportkeytab)".to_string(),
        )
    } else if lower.contains("no credentials")
        || lower.contains("credentials cache")
        || lower.contains("no kerberos credentials")
        || lower.contains("ticket expired")
    {
        (
            format!("no Kerberos ticket for {who}: {text}"),
            "run `kinit` first, or name a keytab with `keytab` and `principal` in [ldap] for a nightly run".to_string(),
        )
    } else if lower.contains("cannot contact any kdc") || lower.contains("cannot find kdc") {
        (
            format!("no Kerberos KDC could be reached: {text}"),
            "check the realm's KDC in krb5.conf (or KRB5_CONFIG) and that port 88 of the domain controller can be reached".to_string(),
        )
    } else {
        (
            format!("the Kerberos bind failed: {text}"),
            "check krb5.conf, `principal` and `keytab` in [ldap], and `klist`".to_string(),
        )
    };
    setup(SourceError::new(server, message).with_help(help))
}
