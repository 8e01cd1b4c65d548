//! Just enough of a Redis client for the transport-interop handshake: RPUSH and BLPOP.

use std::io;

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

pub struct Redis {
    conn: BufReader<TcpStream>,
}

enum Reply {
    Status,
    Integer,
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Redis {
    pub async fn connect(addr: &str) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        Ok(Self {
            conn: BufReader::new(stream),
        })
    }

    pub async fn rpush(&mut self, key: &str, value: &str) -> io::Result<()> {
        match self.command(&["RPUSH", key, value]).await? {
            Reply::Integer => Ok(()),
            _ => Err(invalid("unexpected answer to RPUSH")),
        }
    }

    /// Waits up to `timeout_secs` for a value pushed to `key`.
    pub async fn blpop(&mut self, key: &str, timeout_secs: u64) -> io::Result<String> {
        let reply = self
            .command(&["BLPOP", key, &timeout_secs.to_string()])
            .await?;
        let Reply::Array(Some(items)) = reply else {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("nothing pushed to {key}"),
            ));
        };
        match items.into_iter().nth(1) {
            Some(Reply::Bulk(Some(value))) => {
                String::from_utf8(value).map_err(|_| invalid("value is not UTF-8"))
            }
            _ => Err(invalid("unexpected answer to BLPOP")),
        }
    }

    async fn command(&mut self, args: &[&str]) -> io::Result<Reply> {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        self.conn.get_mut().write_all(request.as_bytes()).await?;
        self.read_value().await
    }

    /// Reads one reply; arrays may only hold scalars, which is all BLPOP sends.
    async fn read_value(&mut self) -> io::Result<Reply> {
        let (kind, line) = self.read_line().await?;
        if kind != b'*' {
            return self.read_scalar(kind, line).await;
        }
        let Some(len) = length(&line)? else {
            return Ok(Reply::Array(None));
        };
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            let (kind, line) = self.read_line().await?;
            items.push(self.read_scalar(kind, line).await?);
        }
        Ok(Reply::Array(Some(items)))
    }

    async fn read_scalar(&mut self, kind: u8, line: String) -> io::Result<Reply> {
        match kind {
            b'+' => Ok(Reply::Status),
            b':' => Ok(Reply::Integer),
            b'-' => Err(io::Error::other(format!("redis: {line}"))),
            b'$' => {
                let Some(len) = length(&line)? else {
                    return Ok(Reply::Bulk(None));
                };
                let mut value = vec![0; len + 2];
                self.conn.read_exact(&mut value).await?;
                value.truncate(len);
                Ok(Reply::Bulk(Some(value)))
            }
            _ => Err(invalid("unsupported reply type")),
        }
    }

    /// Reads a `<type><text>\r\n` line.
    async fn read_line(&mut self) -> io::Result<(u8, String)> {
        let mut line = Vec::new();
        if self.conn.read_until(b'\n', &mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let Some((&kind, text)) = line.trim_ascii_end().split_first() else {
            return Err(invalid("empty reply line"));
        };
        Ok((kind, String::from_utf8_lossy(text).into_owned()))
    }
}

/// A length field; `-1` means none.
fn length(text: &str) -> io::Result<Option<usize>> {
    match text.parse::<i64>() {
        Ok(-1) => Ok(None),
        Ok(n) => usize::try_from(n)
            .map(Some)
            .map_err(|_| invalid("bad length")),
        Err(_) => Err(invalid("bad length")),
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}
