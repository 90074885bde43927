//! Kerberos (SASL GSSAPI) binds for the directory read.
