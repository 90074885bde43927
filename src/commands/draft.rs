//! `behorig draft`.

use crate::cli::DraftArgs;
use crate::error::Error;

pub fn run(_args: DraftArgs) -> Result<i32, Error> {
    Err(Error::Usage(
        "`behorig draft` is not available in this version".into(),
    ))
}
