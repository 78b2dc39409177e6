//! A private `redis-server` for the live tests: started on 127.0.0.1 and a free high port in
//! a fresh directory, stopped by PID on drop, with a tiny RESP2 client. Skipped (and passing)
//! where `redis-server` is not on the PATH, unless `RDBSCOPE_REQUIRE_LIVE=1`.
#![allow(unused_imports, unused_macros)] // each test binary uses its own subset

use std::fmt;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdbscope::rdb::escape_key;

pub const REQUIRE_ENV: &str = "RDBSCOPE_REQUIRE_LIVE";

/// A command: its arguments as binary-safe byte strings.
pub type Cmd = Vec<Vec<u8>>;

/// `cmd!("SET", key, value)`: builds a `Cmd` from anything implementing `Arg`.
macro_rules! cmd {
    ($($arg:expr),+ $(,)?) => {
        vec![$($crate::common::live::Arg::to_arg(&$arg)),+]
    };
}
pub(crate) use cmd;

/// Prints a skip notice straight to stderr (past the harness' capture), or fails the test
/// when the environment demands a live server.
pub fn skip_or_fail(test: &str, why: &str) {
    if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
        panic!("{why}, and {REQUIRE_ENV}=1 requires the live-server tests to run");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {why} (set {REQUIRE_ENV}=1 to make this a failure)"
    );
}

/// A `redis-server` of at least 7.0 (it reads the fixtures' RDB 10) to start, or `None`
/// once `skip_or_fail` has said why not.
pub fn server_binary(test: &str) -> Option<PathBuf> {
    let Some(bin) = find_on_path("redis-server") else {
        skip_or_fail(test, "redis-server was not found on the PATH");
        return None;
    };
    let version = Command::new(&bin).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&version.stdout);
    let major = text
        .split("v=")
        .nth(1)
        .and_then(|v| v.split('.').next()?.parse::<u32>().ok());
    if major.is_none_or(|m| m < 7) {
        skip_or_fail(
            test,
            &format!("{} is not Redis 7.0 or later: {text}", bin.display()),
        );
        return None;
    }
    Some(bin)
}

pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

// ---------------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------------

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "rdbscope-live-{}-{nanos}-{seq}",
            std::process::id()
        ));
        fs::create_dir(&path).expect("create a fresh temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A private redis-server, killed by PID (and its directory removed) on drop, panics included.
pub struct Server {
    child: Child,
    pub port: u16,
    // Dropped after `Drop::drop` has stopped the child.
    pub dir: TempDir,
}

impl Server {
    /// Starts `bin` with `args` on top of the defaults; with `dump`, the server loads a copy
    /// of it at start.
    pub fn start(bin: &Path, args: &[&str], dump: Option<&Path>) -> Server {
        const ATTEMPTS: usize = 5;
        let mut last_log = String::new();
        for _ in 0..ATTEMPTS {
            let dir = TempDir::new();
            if let Some(dump) = dump {
                fs::copy(dump, dir.path().join("dump.rdb")).expect("copy the dump to load");
            }
            let port = free_port();
            let log_path = dir.path().join("redis.log");
            let log = File::create(&log_path).expect("create server log");
            let child = Command::new(bin)
                .arg("--port")
                .arg(port.to_string())
                .args(["--bind", "127.0.0.1"])
                .args(["--save", ""])
                .args(["--appendonly", "no"])
                .arg("--dir")
                .arg(dir.path())
                .args(["--dbfilename", "dump.rdb"])
                .args(["--daemonize", "no"])
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().expect("clone log handle")))
                .stderr(Stdio::from(log))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut server = Server { child, port, dir };
            match server.wait_ready(Duration::from_secs(5)) {
                Ok(()) => return server,
                Err(why) => {
                    last_log = fs::read_to_string(&log_path).unwrap_or_default();
                    // A port taken between our probe and the server's bind: try another.
                    if last_log.contains("Address already in use") {
                        continue;
                    }
                    panic!("redis-server did not come up: {why}\n--- server log ---\n{last_log}");
                }
            }
        }
        panic!("redis-server could not bind a free port in {ATTEMPTS} attempts\n{last_log}");
    }

    /// Polls with PING until the server answers, it exits, or `limit` passes.
    pub fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("it exited with {status}"));
            }
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let mut client = Client::new(stream);
                if matches!(client.call(&cmd!("PING")), Reply::Simple(s) if s == b"PONG") {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(format!("no PONG on port {} within {limit:?}", self.port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn client(&self) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis-server");
        Client::new(stream)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Binds port 0 to learn a free port, then releases it for the server.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

// ---------------------------------------------------------------------------------------------
// A tiny RESP2 client
// ---------------------------------------------------------------------------------------------

#[derive(Clone, PartialEq)]
pub enum Reply {
    Simple(Vec<u8>),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Null,
    Array(Vec<Reply>),
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Simple(s) => write!(f, "+{}", shown(s)),
            Reply::Error(e) => write!(f, "-{e}"),
            Reply::Int(v) => write!(f, ":{v}"),
            Reply::Bulk(b) if b.len() > 80 => write!(f, "${} bytes", b.len()),
            Reply::Bulk(b) => write!(f, "{:?}", escape_key(b)),
            Reply::Null => write!(f, "(nil)"),
            Reply::Array(items) => f.debug_list().entries(items).finish(),
        }
    }
}

impl Reply {
    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(v) => *v,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Reply::Simple(b) | Reply::Bulk(b) => b,
            other => panic!("expected a string reply, got {other:?}"),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.bytes()).into_owned()
    }

    pub fn array(&self) -> &[Reply] {
        match self {
            Reply::Array(items) => items,
            other => panic!("expected an array reply, got {other:?}"),
        }
    }

    /// A flat `[name, value, name, value, ...]` reply (XINFO) as a lookup.
    pub fn field(&self, name: &str) -> &Reply {
        self.array()
            .chunks(2)
            .find(|pair| pair[0].bytes() == name.as_bytes())
            .map(|pair| &pair[1])
            .unwrap_or_else(|| panic!("no field {name:?} in {self:?}"))
    }
}

/// Anything that can be one argument of a command.
pub trait Arg {
    fn to_arg(&self) -> Vec<u8>;
}

impl Arg for str {
    fn to_arg(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl Arg for String {
    fn to_arg(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl Arg for [u8] {
    fn to_arg(&self) -> Vec<u8> {
        self.to_vec()
    }
}
impl Arg for Vec<u8> {
    fn to_arg(&self) -> Vec<u8> {
        self.clone()
    }
}
impl Arg for i64 {
    fn to_arg(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}
impl Arg for i32 {
    fn to_arg(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}
impl Arg for u64 {
    fn to_arg(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}
impl Arg for usize {
    fn to_arg(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}
impl<T: Arg + ?Sized> Arg for &T {
    fn to_arg(&self) -> Vec<u8> {
        (**self).to_arg()
    }
}

pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    pub fn new(stream: TcpStream) -> Client {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("set read timeout");
        stream.set_nodelay(true).expect("set nodelay");
        let writer = stream.try_clone().expect("clone stream");
        Client {
            reader: BufReader::new(stream),
            writer,
        }
    }

    pub fn call(&mut self, command: &Cmd) -> Reply {
        self.pipeline(std::slice::from_ref(command)).remove(0)
    }

    /// Sends every command, then reads one reply for each.
    pub fn pipeline(&mut self, commands: &[Cmd]) -> Vec<Reply> {
        let mut out = Vec::new();
        for command in commands {
            encode(command, &mut out);
        }
        self.writer.write_all(&out).expect("send to redis-server");
        (0..commands.len()).map(|_| self.read_reply()).collect()
    }

    /// Like `pipeline`, but every reply must not be an error.
    pub fn run(&mut self, commands: &[Cmd]) -> Vec<Reply> {
        let replies = self.pipeline(commands);
        for (command, reply) in commands.iter().zip(&replies) {
            if let Reply::Error(e) = reply {
                panic!("{} failed: {e}", describe(command));
            }
        }
        replies
    }

    pub fn read_line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.reader
            .read_until(b'\n', &mut line)
            .expect("read from redis-server");
        assert!(
            line.ends_with(b"\r\n"),
            "truncated or malformed RESP line {:?}",
            escape_key(&line)
        );
        line.truncate(line.len() - 2);
        line
    }

    pub fn read_reply(&mut self) -> Reply {
        let line = self.read_line();
        let (kind, rest) = line.split_first().expect("empty RESP line");
        let number = || -> i64 {
            std::str::from_utf8(rest)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("bad RESP number {:?}", escape_key(rest)))
        };
        match kind {
            b'+' => Reply::Simple(rest.to_vec()),
            b'-' => Reply::Error(String::from_utf8_lossy(rest).into_owned()),
            b':' => Reply::Int(number()),
            b'$' => match number() {
                -1 => Reply::Null,
                len => {
                    let mut data = vec![0; len as usize + 2];
                    self.reader.read_exact(&mut data).expect("read bulk string");
                    assert_eq!(&data[len as usize..], b"\r\n", "bulk string not terminated");
                    data.truncate(len as usize);
                    Reply::Bulk(data)
                }
            },
            b'*' => match number() {
                -1 => Reply::Null,
                n => Reply::Array((0..n).map(|_| self.read_reply()).collect()),
            },
            other => panic!("unknown RESP type byte {:?}", *other as char),
        }
    }
}

pub fn encode(command: &Cmd, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", command.len()).as_bytes());
    for arg in command {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

pub fn describe(command: &Cmd) -> String {
    let mut parts: Vec<String> = command
        .iter()
        .take(4)
        .map(|a| {
            if a.len() > 40 {
                format!("<{} bytes>", a.len())
            } else {
                shown(a)
            }
        })
        .collect();
    if command.len() > 4 {
        parts.push(format!("... ({} args)", command.len()));
    }
    parts.join(" ")
}

pub fn expect_ok(reply: &Reply, what: &str) {
    assert_eq!(reply, &Reply::Simple(b"OK".to_vec()), "{what}");
}

pub fn server_version(client: &mut Client) -> (u32, u32) {
    let info = client.call(&cmd!("INFO", "server")).text();
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .expect("INFO server has redis_version")
        .trim()
        .to_string();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// A key as `escape_key` renders it, with control characters escaped too, for messages.
pub fn shown(key: &[u8]) -> String {
    escape_key(key).escape_debug().to_string()
}
