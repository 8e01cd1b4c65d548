//! The control protocol: one JSON command per line on stdin, one JSON answer per command on
//! stdout. Commands run concurrently, each bounded by its `timeoutMs`.

use std::time::{Duration, Instant};

use libp2p::{Multiaddr, PeerId, StreamProtocol, core::PeerRecord, identify, multiaddr::Protocol};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{
    event_loop::{Client, ConnectionInfo, Request},
    node::{DIGEST, ECHO, OBSERVE, PERF, RESET},
    output, wire,
};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How many `echoMany` failures the answer lists.
const MAX_ERRORS: usize = 5;

/// A command's arguments, and an answer's fields.
type Fields = Map<String, Value>;

/// Builds answer fields: `fields!("sent" => n, "ms" => t)`.
macro_rules! fields {
    ($($name:literal => $value:expr),* $(,)?) => {{
        let mut fields = Fields::new();
        $(fields.insert($name.to_owned(), json!($value));)*
        fields
    }};
}

struct Command {
    id: Value,
    name: String,
    args: Fields,
    timeout: Duration,
}

/// Reads and runs commands until `quit` or the end of stdin, then closes the node.
pub async fn run(client: Client) {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(e) => {
                eprintln!("reading stdin: {e}");
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let command = match parse(&line) {
            Ok(command) => command,
            Err((id, error)) => {
                answer(&id, Err(error));
                continue;
            }
        };
        if command.name == "quit" {
            let closed = client.call(|reply| Request::Close { reply }).await;
            answer(&command.id, closed.map(|()| Fields::new()));
            return;
        }
        tokio::spawn(execute(client.clone(), command));
    }
    // Nobody to answer: just close.
    let _ = client.call(|reply| Request::Close { reply }).await;
}

/// Parses a command line; a failure comes with the id to answer, `null` if there is none.
fn parse(line: &str) -> Result<Command, (Value, String)> {
    let malformed = |id: &Value, what: &str| (id.clone(), format!("malformed command: {what}"));
    let Ok(Value::Object(mut args)) = serde_json::from_str(line) else {
        return Err(malformed(&Value::Null, "not a JSON object"));
    };
    let Some(id @ Value::Number(_)) = args.remove("id") else {
        return Err(malformed(&Value::Null, "no numeric id"));
    };
    let Some(Value::String(name)) = args.remove("cmd") else {
        return Err(malformed(&id, "no cmd string"));
    };
    let timeout = match args.remove("timeoutMs") {
        None => DEFAULT_TIMEOUT,
        Some(ms) => Duration::from_millis(
            ms.as_u64()
                .ok_or_else(|| malformed(&id, "timeoutMs is not a non-negative integer"))?,
        ),
    };
    Ok(Command {
        id,
        name,
        args,
        timeout,
    })
}

/// Prints the answer line; on success the answer's fields follow `id` and `ok`.
fn answer(id: &Value, result: Result<Fields, String>) {
    let line = match result {
        Ok(answer) => {
            let mut line = fields!("id" => id, "ok" => true);
            line.extend(answer);
            line
        }
        Err(error) => fields!("id" => id, "ok" => false, "error" => error),
    };
    output::print(&Value::Object(line));
}

async fn execute(client: Client, command: Command) {
    let result = tokio::time::timeout(command.timeout, dispatch(&client, &command))
        .await
        .unwrap_or_else(|_| Err(format!("timeout after {} ms", command.timeout.as_millis())));
    answer(&command.id, result);
}

async fn dispatch(client: &Client, command: &Command) -> Result<Fields, String> {
    let args = &command.args;
    match command.name.as_str() {
        "connect" => connect(client, args).await,
        "ping" => {
            let peer = peer(args)?;
            let count = optional_u64(args, "count")?.unwrap_or(1).max(1) as usize;
            let rtts = client
                .call(|reply| Request::Ping { peer, count, reply })
                .await??;
            let rtts: Vec<f64> = rtts.iter().map(millis).collect();
            Ok(fields!("rttMs" => rtts))
        }
        "identify" => {
            let peer = peer(args)?;
            let protocol = match args.get("waitProtocol") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) => Some(p.clone()),
                Some(_) => return Err("waitProtocol must be a string".to_owned()),
            };
            let info = client
                .call(|reply| Request::Identify {
                    peer,
                    protocol,
                    reply,
                })
                .await?;
            Ok(identify_fields(&info))
        }
        "echo" => {
            let (peer, bytes) = (peer(args)?, required_u64(args, "bytes")?);
            let start = Instant::now();
            let stream = client.open(peer, ECHO).await?.stream;
            let echoed = wire::echo(stream, bytes).await.map_err(|e| e.to_string())?;
            Ok(fields!(
                "sent" => echoed.sent,
                "received" => echoed.received,
                "sentSha256" => echoed.sent_sha256,
                "receivedSha256" => echoed.received_sha256,
                "ms" => millis(&start.elapsed()),
            ))
        }
        "echoMany" => echo_many(client, args).await,
        "digest" => {
            let (peer, bytes) = (peer(args)?, required_u64(args, "bytes")?);
            let stream = client.open(peer, DIGEST).await?.stream;
            let (sent, received) = wire::digest(stream, bytes)
                .await
                .map_err(|e| e.to_string())?;
            Ok(fields!("sentSha256" => sent, "receivedSha256" => received))
        }
        "awaitReset" => {
            let substream = client.open(peer(args)?, RESET).await?;
            let end = wire::await_reset(substream).await;
            let mut answer = fields!("outcome" => end.outcome());
            if let wire::End::Error(e) = end {
                answer.insert("error".into(), e.to_string().into());
            }
            Ok(answer)
        }
        "sendReset" => {
            let stream = client.open(peer(args)?, OBSERVE).await?.stream;
            wire::send_reset(stream).await.map_err(|e| e.to_string())?;
            Ok(Fields::new())
        }
        "perf" => {
            let peer = peer(args)?;
            let (upload, download) = (
                required_u64(args, "upload")?,
                required_u64(args, "download")?,
            );
            let start = Instant::now();
            let stream = client.open(peer, PERF).await?.stream;
            let (uploaded, downloaded) = wire::perf(stream, upload, download)
                .await
                .map_err(|e| e.to_string())?;
            Ok(fields!(
                "uploaded" => uploaded,
                "downloaded" => downloaded,
                "ms" => millis(&start.elapsed()),
            ))
        }
        "handle" => {
            let protocol = required_str(args, "protocol")?;
            let protocol = StreamProtocol::try_from_owned(protocol.to_owned())
                .map_err(|e| format!("protocol {protocol:?}: {e}"))?;
            client
                .call(|reply| Request::Handle { protocol, reply })
                .await?;
            Ok(Fields::new())
        }
        "connections" => {
            let peer = peer(args)?;
            let list = client
                .call(|reply| Request::Connections { peer, reply })
                .await?;
            let list: Vec<Value> = list
                .iter()
                .map(connection_fields)
                .map(Value::Object)
                .collect();
            Ok(fields!("connections" => list))
        }
        "disconnect" => {
            let peer = peer(args)?;
            client
                .call(|reply| Request::Disconnect { peer, reply })
                .await?;
            Ok(Fields::new())
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

async fn connect(client: &Client, args: &Fields) -> Result<Fields, String> {
    let addr = required_str(args, "addr")?;
    let addr: Multiaddr = addr.parse().map_err(|e| format!("addr {addr:?}: {e}"))?;
    let Some(Protocol::P2p(peer)) = addr.iter().last() else {
        return Err("addr must end with /p2p/<peer ID>".to_owned());
    };
    let connected = client
        .call(|reply| Request::Connect { peer, addr, reply })
        .await??;
    let mut answer = fields!(
        "peer" => peer.to_string(),
        "ms" => millis(&connected.established_in),
        "remoteAddr" => connected.connection.remote_addr.to_string(),
    );
    if let Some(local) = &connected.connection.local_addr {
        answer.insert("localAddr".into(), local.to_string().into());
    }
    Ok(answer)
}

async fn echo_many(client: &Client, args: &Fields) -> Result<Fields, String> {
    let peer = peer(args)?;
    let (streams, bytes) = (required_u64(args, "streams")?, required_u64(args, "bytes")?);
    let one = |_| async move {
        let stream = client.open(peer, ECHO).await?.stream;
        let echoed = wire::echo(stream, bytes).await.map_err(|e| e.to_string())?;
        if echoed.received == echoed.sent && echoed.received_sha256 == echoed.sent_sha256 {
            Ok(())
        } else {
            Err(format!(
                "echoed {} of {} bytes, or not intact",
                echoed.received, echoed.sent
            ))
        }
    };
    let results = futures::future::join_all((0..streams).map(one)).await;
    let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    Ok(fields!(
        "streams" => streams,
        "okStreams" => streams - errors.len() as u64,
        "errors" => errors.iter().take(MAX_ERRORS).collect::<Vec<_>>(),
    ))
}

fn identify_fields(info: &identify::Info) -> Fields {
    // identify keeps only a record that it verified and that names the sending peer; it is
    // opened again for its fields.
    let record = info
        .signed_peer_record
        .clone()
        .and_then(|envelope| PeerRecord::from_signed_envelope(envelope).ok())
        .map(|record| {
            let addrs: Vec<String> = record.addresses().iter().map(ToString::to_string).collect();
            json!({"verified": true, "seq": record.seq(), "addrs": addrs})
        });
    let listen_addrs: Vec<String> = info.listen_addrs.iter().map(ToString::to_string).collect();
    let protocols: Vec<&str> = info.protocols.iter().map(AsRef::as_ref).collect();
    fields!(
        "protocols" => protocols,
        "agentVersion" => info.agent_version,
        "protocolVersion" => info.protocol_version,
        "listenAddrs" => listen_addrs,
        "observedAddr" => info.observed_addr.to_string(),
        "signedPeerRecord" => record,
    )
}

fn connection_fields(connection: &ConnectionInfo) -> Fields {
    let mut out = fields!(
        "remoteAddr" => connection.remote_addr.to_string(),
        "direction" => if connection.outbound { "outbound" } else { "inbound" },
        "transport" => connection.transport,
    );
    let optional = [
        (
            "localAddr",
            connection.local_addr.as_ref().map(ToString::to_string),
        ),
        ("security", connection.security.map(str::to_owned)),
        ("muxer", connection.muxer.map(str::to_owned)),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            out.insert(name.into(), value.into());
        }
    }
    out
}

fn millis(duration: &Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn required_str<'a>(args: &'a Fields, name: &str) -> Result<&'a str, String> {
    args.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name} (a string) is required"))
}

fn optional_u64(args: &Fields, name: &str) -> Result<Option<u64>, String> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{name} must be a non-negative integer")),
    }
}

fn required_u64(args: &Fields, name: &str) -> Result<u64, String> {
    optional_u64(args, name)?.ok_or_else(|| format!("{name} (an integer) is required"))
}

fn peer(args: &Fields) -> Result<PeerId, String> {
    let peer = required_str(args, "peer")?;
    peer.parse().map_err(|e| format!("peer {peer:?}: {e}"))
}
