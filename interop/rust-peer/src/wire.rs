//! What happens on the application streams: the servers of the protocols every peer serves,
//! and the client side of the commands that open them.

use std::{cmp::min, io};

use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::Stream;
use rand::Rng;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{
    node::{DIGEST, OBSERVE, PERF, RESET},
    output,
    streams::Substream,
};

const CHUNK: usize = 64 * 1024;

/// How the read side of a stream ended.
pub enum End {
    Eof,
    Reset,
    Error(io::Error),
}

impl End {
    pub fn outcome(&self) -> &'static str {
        match self {
            End::Eof => "eof",
            End::Reset => "reset",
            End::Error(_) => "error",
        }
    }
}

/// Reads until the stream ends and tells how, with the number of bytes read.
async fn read_until_end(substream: &mut Substream) -> (u64, End) {
    let stream = &mut substream.stream;
    let mut buf = vec![0; CHUNK];
    let mut total = 0;
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => {
                // Yamux reads a reset as an end of stream; only a write then fails. An empty
                // one tells without sending any data.
                let reset = substream.reset_reads_as_eof && stream.write(&[]).await.is_err();
                return (total, if reset { End::Reset } else { End::Eof });
            }
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return (total, End::Reset),
            Err(e) => return (total, End::Error(e)),
        }
    }
}

/// Reads to EOF, passing every chunk to `consume`; returns the byte count.
async fn read_to_eof<R: AsyncReadExt + Unpin>(
    reader: &mut R,
    mut consume: impl FnMut(&[u8]),
) -> io::Result<u64> {
    let mut buf = vec![0; CHUNK];
    let mut total = 0;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        consume(&buf[..n]);
        total += n as u64;
    }
}

/// Writes `len` random bytes and returns their SHA-256.
async fn write_random<W: AsyncWriteExt + Unpin>(writer: &mut W, len: u64) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; CHUNK];
    let mut left = len;
    while left > 0 {
        let chunk = &mut buf[..min(left, CHUNK as u64) as usize];
        rand::rng().fill_bytes(chunk);
        hasher.update(&*chunk);
        writer.write_all(chunk).await?;
        left -= chunk.len() as u64;
    }
    Ok(hex(hasher))
}

fn hex(hasher: Sha256) -> String {
    format!("{:x}", hasher.finalize())
}

/// Serves one inbound stream according to its protocol. Streams of protocols added with
/// `handle` behave like `/echo/1.0.0`.
pub async fn serve(mut substream: Substream) {
    let protocol = substream.protocol.clone();
    let result = match &protocol {
        p if *p == DIGEST => serve_digest(substream.stream).await,
        p if *p == RESET => serve_reset(substream.stream).await,
        p if *p == OBSERVE => serve_observe(&mut substream).await,
        p if *p == PERF => serve_perf(substream.stream).await,
        _ => serve_echo(substream.stream).await,
    };
    if let Err(e) = result {
        eprintln!("{protocol} stream: {e}");
    }
}

async fn serve_echo(mut stream: Stream) -> io::Result<()> {
    let mut buf = vec![0; CHUNK];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return stream.close().await;
        }
        stream.write_all(&buf[..n]).await?;
    }
}

async fn serve_digest(mut stream: Stream) -> io::Result<()> {
    let mut hasher = Sha256::new();
    read_to_eof(&mut stream, |chunk| hasher.update(chunk)).await?;
    stream.write_all(&hasher.finalize()).await?;
    stream.close().await
}

async fn serve_reset(mut stream: Stream) -> io::Result<()> {
    // One read returns as soon as there is at least one byte; none means the stream ended.
    if stream.read(&mut [0; 1024]).await? > 0 {
        abort(stream);
    }
    Ok(())
}

/// Drops a stream without closing it. Yamux then resets it; QUIC streams in this stack can
/// only be finished on drop (the remote reads a clean end), there is no reset to reach.
fn abort(stream: Stream) {
    drop(stream);
}

async fn serve_observe(substream: &mut Substream) -> io::Result<()> {
    let (bytes, end) = read_until_end(substream).await;
    let mut event = json!({
        "event": "stream-end",
        "protocol": OBSERVE.as_ref(),
        "peer": substream.peer.to_string(),
        "outcome": end.outcome(),
        "bytes": bytes,
    });
    if let End::Error(e) = &end {
        event["error"] = e.to_string().into();
    }
    output::print(&event);
    match end {
        End::Eof => substream.stream.close().await,
        End::Reset | End::Error(_) => Ok(()),
    }
}

async fn serve_perf(mut stream: Stream) -> io::Result<()> {
    let mut wanted = [0; 8];
    stream.read_exact(&mut wanted).await?;
    read_to_eof(&mut stream, |_| ()).await?;
    write_zeros(&mut stream, u64::from_be_bytes(wanted)).await?;
    stream.close().await
}

async fn write_zeros(stream: &mut Stream, len: u64) -> io::Result<()> {
    let buf = vec![0; CHUNK];
    let mut left = len;
    while left > 0 {
        let n = min(left, CHUNK as u64) as usize;
        stream.write_all(&buf[..n]).await?;
        left -= n as u64;
    }
    Ok(())
}

pub struct Echoed {
    pub sent: u64,
    pub received: u64,
    pub sent_sha256: String,
    pub received_sha256: String,
}

/// Writes `len` random bytes while reading the echo, closes, reads to EOF.
pub async fn echo(stream: Stream, len: u64) -> io::Result<Echoed> {
    let (mut reader, mut writer) = stream.split();
    let send = async {
        let sha = write_random(&mut writer, len).await?;
        writer.close().await?;
        Ok(sha)
    };
    let mut hasher = Sha256::new();
    let receive = read_to_eof(&mut reader, |chunk| hasher.update(chunk));
    let (sent_sha256, received) = futures::try_join!(send, receive)?;
    Ok(Echoed {
        sent: len,
        received,
        sent_sha256,
        received_sha256: hex(hasher),
    })
}

/// Sends `len` random bytes, closes, and returns their SHA-256 and the hex of the answer.
pub async fn digest(mut stream: Stream, len: u64) -> io::Result<(String, String)> {
    let sent = write_random(&mut stream, len).await?;
    stream.close().await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let received = answer.iter().map(|b| format!("{b:02x}")).collect();
    Ok((sent, received))
}

/// Writes one byte and reads until the remote ends the stream.
pub async fn await_reset(mut substream: Substream) -> End {
    if let Err(e) = send(&mut substream.stream, &[1]).await {
        return End::Error(e);
    }
    read_until_end(&mut substream).await.1
}

/// Writes 1 KiB, waits until the muxer has taken it, then resets the stream.
pub async fn send_reset(mut stream: Stream) -> io::Result<()> {
    send(&mut stream, &[0; 1024]).await?;
    abort(stream);
    Ok(())
}

async fn send(stream: &mut Stream, data: &[u8]) -> io::Result<()> {
    stream.write_all(data).await?;
    stream.flush().await
}

/// The perf client: asks for `download` bytes, uploads `upload` bytes, closes, counts the
/// answer to EOF. Returns the bytes counted each way.
pub async fn perf(mut stream: Stream, upload: u64, download: u64) -> io::Result<(u64, u64)> {
    stream.write_all(&download.to_be_bytes()).await?;
    write_zeros(&mut stream, upload).await?;
    stream.close().await?;
    let downloaded = read_to_eof(&mut stream, |_| ()).await?;
    Ok((upload, downloaded))
}
