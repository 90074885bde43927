//! `behorig history`.

use crate::cli::HistoryArgs;
use crate::error::Error;

pub fn run(_args: HistoryArgs) -> Result<i32, Error> {
    Err(Error::Usage(
        "`behorig history` is not available in this version".into(),
    ))
}
