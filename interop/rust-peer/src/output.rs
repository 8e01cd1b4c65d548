//! Standard output carries JSON lines only; every line is written whole under the lock.

use std::io::{self, Write};

use serde_json::Value;

pub fn print(line: &Value) {
    let mut out = io::stdout().lock();
    // A driver that has gone away has also closed our stdin, which ends the program.
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}
