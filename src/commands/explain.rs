//! `behorig explain`.

use crate::cli::ExplainArgs;
use crate::error::Error;

pub fn run(_args: ExplainArgs) -> Result<i32, Error> {
    Err(Error::Usage(
        "`behorig explain` is not available in this version".into(),
    ))
}
