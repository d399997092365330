//! `sluice fmt`: the canonical text to stdout; `--write` rewrites the file,
//! `--check` exits 1 when it is not in canonical form.

use super::exit::Exit;
use super::source::{fail, read_path, report};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `sluice fmt`.
#[derive(Args, Debug)]
pub struct FmtArgs {
    /// Graph file (`-` reads stdin).
    pub file: PathBuf,
    /// Exit 1 when the file is not in canonical form; print nothing.
    #[arg(long, conflicts_with = "write")]
    pub check: bool,
    /// Rewrite the file in place.
    #[arg(long)]
    pub write: bool,
}

/// Runs `sluice fmt`.
pub fn main(args: FmtArgs) -> ExitCode {
    let file = match read_path(&args.file) {
        Ok(f) => f,
        Err(e) => {
            fail(&e);
            return Exit::Invalid.into();
        }
    };
    let formatted = match sluice_dsl::format(&file) {
        Ok(t) => t,
        Err(d) => {
            report(&d, &file);
            return Exit::Invalid.into();
        }
    };
    if args.check {
        if formatted == file.text {
            return Exit::Ok.into();
        }
        eprintln!(
            "`{}` is not formatted; run `sluice fmt --write {}`",
            file.name, file.name
        );
        return Exit::Invalid.into();
    }
    if args.write {
        if args.file.as_os_str() == "-" {
            fail("--write needs a file, not stdin");
            return Exit::Usage.into();
        }
        if formatted != file.text {
            if let Err(e) = std::fs::write(&args.file, &formatted) {
                fail(&format!("cannot write `{}`: {e}", file.name));
                return Exit::Failed.into();
            }
        }
        return Exit::Ok.into();
    }
    print!("{formatted}");
    Exit::Ok.into()
}
