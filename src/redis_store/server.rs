//! The connection to a Redis server: a small pool of connections, the store's scripts, and what a
//! failure of the server means to a caller.

use crate::error::{Error, ErrorKind, Result};
use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
use redis::{Connection, ConnectionLike, ErrorKind as RedisKind, RedisError, Script, ServerErrorKind, Value};
use std::sync::Mutex;
use std::time::Duration;

/// Connections kept for reuse between calls: as many as the threads that called at once, up to this.
const POOLED: usize = 16;

/// One server and the connections to it.
pub(super) struct Server {
    client: redis::Client,
    idle: Mutex<Vec<Connection>>,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl Server {
    pub fn new(url: &str, connect_timeout: Duration, command_timeout: Duration) -> Result<Server> {
        let client = redis::Client::open(url).map_err(|e| {
            Error::invalid_argument(format!("config: url is not a Redis URL ({})", describe(&e)))
        })?;
        Ok(Server { client, idle: Mutex::new(Vec::new()), connect_timeout, command_timeout })
    }

    /// Runs `call` on a connection: a pooled one, or a new one. A connection that failed in a way that
    /// leaves it unusable (the server went away, a reply timed out mid-way) is dropped; the next call
    /// connects again, so a store comes back by itself once its server does.
    ///
    /// Asynchronous signals wait meanwhile (see [`SignalsHeld`]).
    pub fn with<T>(&self, call: impl FnOnce(&mut Connection) -> redis::RedisResult<T>) -> Result<T> {
        let _held = SignalsHeld::new();
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut connection = match pooled {
            Some(connection) => connection,
            None => self.connect()?,
        };
        let result = call(&mut connection);
        let usable = match &result {
            Ok(_) => true,
            Err(e) => !e.is_unrecoverable_error() && !e.is_timeout() && connection.is_open(),
        };
        if usable {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < POOLED {
                idle.push(connection);
            }
        }
        result.map_err(|e| unavailable(&e))
    }

    fn connect(&self) -> Result<Connection> {
        let connection = self.client.get_connection_with_timeout(self.connect_timeout).map_err(|e| {
            // Nothing was sent yet: whatever failed (refused, timed out, TLS), nothing changed.
            let what = if e.is_timeout() {
                "timed out connecting to the Redis server"
            } else {
                "cannot connect to the Redis server"
            };
            Error::new(ErrorKind::Unavailable, format!("{what}: {}", describe(&e)))
        })?;
        connection.set_read_timeout(Some(self.command_timeout)).map_err(|e| unavailable(&e))?;
        connection.set_write_timeout(Some(self.command_timeout)).map_err(|e| unavailable(&e))?;
        Ok(connection)
    }
}

/// Holds the asynchronous signals back on this thread while it lives; they are delivered when it goes.
///
/// A call waits for the server in socket reads with a timeout (`command_timeout_ms`), and Linux never
/// restarts such a read after a signal handler ran, whatever its flags (signal(7)): the read fails
/// with EINTR and the reply is lost. Hosts send signals all the time (Go preempts goroutines with
/// SIGURG; Python's SIGINT handler, profilers' SIGPROF), so a call would fail at random. Held back,
/// they wait at most as long as the call (bounded by the timeouts). The signals a fault raises on the
/// thread itself (SIGSEGV and the like) are left alone: blocking them would kill the process.
struct SignalsHeld(Option<SigSet>);

impl SignalsHeld {
    fn new() -> SignalsHeld {
        let mut held = SigSet::all();
        for fault in
            [Signal::SIGSEGV, Signal::SIGBUS, Signal::SIGFPE, Signal::SIGILL, Signal::SIGTRAP, Signal::SIGSYS]
        {
            held.remove(fault);
        }
        let mut before = SigSet::empty();
        let blocked = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&held), Some(&mut before)).is_ok();
        SignalsHeld(blocked.then_some(before))
    }
}

impl Drop for SignalsHeld {
    fn drop(&mut self) {
        if let Some(before) = &self.0 {
            let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(before), None);
        }
    }
}

/// The store's scripts, each its Lua after the shared part. `redis::Script` calls one by its SHA and
/// loads it again when the server answers NOSCRIPT (a restart, SCRIPT FLUSH).
pub(super) struct Scripts {
    pub put: Script,
    pub remove: Script,
    pub drop: Script,
    pub list: Script,
    pub rows: Script,
    pub changes: Script,
    pub stats: Script,
    pub read: Script,
    pub reap: Script,
}

impl Scripts {
    pub fn load() -> Scripts {
        const COMMON: &str = include_str!("lua/common.lua");
        let script = |body: &str| Script::new(&format!("{COMMON}\n{body}"));
        Scripts {
            put: script(include_str!("lua/put.lua")),
            remove: script(include_str!("lua/remove.lua")),
            drop: script(include_str!("lua/drop.lua")),
            list: script(include_str!("lua/list.lua")),
            rows: script(include_str!("lua/rows.lua")),
            changes: script(include_str!("lua/changes.lua")),
            stats: script(include_str!("lua/stats.lua")),
            read: script(include_str!("lua/read.lua")),
            reap: script(include_str!("lua/reap.lua")),
        }
    }
}

/// A reply the scripts do not give: the server is not the one the store was written for.
pub(super) fn unexpected(what: &str) -> Error {
    Error::new(ErrorKind::Unavailable, format!("unexpected reply from the Redis server ({what})"))
}

/// A failure of the server or of the way to it, as the status callers act on: the server is
/// unreachable, slow, restarting, out of memory or read-only; nothing was changed unless the message
/// says the reply was lost (then the change may have been applied).
fn unavailable(e: &RedisError) -> Error {
    let what = if e.is_timeout() {
        "timed out waiting for the Redis server (the change, if any, may have been applied)"
    } else if e.is_connection_refusal() {
        "cannot connect to the Redis server"
    } else if e.is_connection_dropped() || e.is_io_error() {
        "lost the connection to the Redis server (the change, if any, may have been applied)"
    } else {
        match e.kind() {
            _ if e.code() == Some("OOM") => "the Redis server is out of memory (maxmemory)",
            _ if e.code() == Some("BUSY") => "the Redis server is busy running a long script",
            RedisKind::Server(ServerErrorKind::BusyLoading) => "the Redis server is loading its data",
            RedisKind::Server(ServerErrorKind::ReadOnly) => "the Redis server is a read-only replica",
            RedisKind::Server(ServerErrorKind::MasterDown) => "the Redis server lost its primary",
            _ => "the Redis server refused the command",
        }
    };
    Error::new(ErrorKind::Unavailable, format!("{what}: {}", describe(e)))
}

/// The error's own text, cut short: a server message may quote a whole script.
fn describe(e: &RedisError) -> String {
    let text = e.to_string();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// Helpers that read the scripts' replies.
pub(super) trait Reply: Sized {
    fn text(&self) -> Result<&str>;
    fn bytes_or_nil(&self) -> Option<&[u8]>;
    fn int(&self) -> Result<i64>;
}

impl Reply for Value {
    fn text(&self) -> Result<&str> {
        match self {
            Value::BulkString(bytes) => {
                std::str::from_utf8(bytes).map_err(|_| unexpected("text that is not UTF-8"))
            }
            Value::SimpleString(text) => Ok(text),
            _ => Err(unexpected("expected text")),
        }
    }

    fn bytes_or_nil(&self) -> Option<&[u8]> {
        match self {
            Value::BulkString(bytes) => Some(bytes),
            _ => None,
        }
    }

    fn int(&self) -> Result<i64> {
        match self {
            Value::Int(n) => Ok(*n),
            Value::BulkString(_) | Value::SimpleString(_) => {
                self.text()?.parse().map_err(|_| unexpected("expected a number"))
            }
            _ => Err(unexpected("expected a number")),
        }
    }
}
