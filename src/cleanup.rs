//! Process-wide cleanup on fatal signals. Reports are written under temporary names and
//! renamed when complete (`report::output`); when Ctrl-C, SIGTERM or SIGHUP ends a run first,
//! the temporary files are removed here, so nothing half-written is left. SIGBUS, which the
//! kernel raises when a memory-mapped input shrinks under the parser, becomes a one-line
//! message and exit code 1 instead of a core dump.
//!
//! Signal handlers may only call async-signal-safe functions, so the paths to remove sit in a
//! fixed table of C strings that the handlers read without locks or allocation.

use std::ffi::{CString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

/// Temporary files that can be pending at once; a run writes one or a few reports.
const SLOTS: usize = 16;

static PENDING: [AtomicPtr<c_char>; SLOTS] = [const { AtomicPtr::new(ptr::null_mut()) }; SLOTS];

const BUS_ERROR_MESSAGE: &[u8] = b"rdbscope: the input could not be read (SIGBUS): the file \
    shrank while being read, or its device failed; analyse a finished dump or a copy\n";

/// Installs the handlers; called once at start by `main`.
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        set_handler(signal, on_termination);
    }
    set_handler(libc::SIGBUS, on_bus_error);
}

fn set_handler(signal: c_int, handler: extern "C" fn(c_int)) {
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler only
    // calls async-signal-safe functions (unlink, write, raise, _exit).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as libc::sighandler_t;
        // Back to the default action on entry, so that raising the signal again ends the
        // process with the status the signal normally gives (130 for Ctrl-C).
        action.sa_flags = libc::SA_RESETHAND;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signal, &action, ptr::null_mut());
    }
}

extern "C" fn on_termination(signal: c_int) {
    remove_pending();
    // SAFETY: raise is async-signal-safe; the signal is blocked until this handler returns,
    // and then its default action ends the process.
    unsafe {
        libc::raise(signal);
    }
}

extern "C" fn on_bus_error(_: c_int) {
    remove_pending();
    // SAFETY: write and _exit are async-signal-safe.
    unsafe {
        libc::write(
            2,
            BUS_ERROR_MESSAGE.as_ptr().cast(),
            BUS_ERROR_MESSAGE.len(),
        );
        libc::_exit(1);
    }
}

fn remove_pending() {
    for slot in &PENDING {
        let path = slot.load(Ordering::SeqCst);
        if !path.is_null() {
            // SAFETY: registered paths are NUL-terminated strings that are never freed.
            unsafe {
                libc::unlink(path);
            }
        }
    }
}

/// While alive, a terminating signal removes the file it was made for.
#[derive(Debug)]
pub struct RemoveOnSignal {
    slot: Option<usize>,
}

/// Registers `path` for removal if the process is ended by a signal. With every slot taken
/// (not in rdbscope's own use) the file is simply not covered.
pub fn remove_on_signal(path: &Path) -> RemoveOnSignal {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return RemoveOnSignal { slot: None };
    };
    // Leaked on purpose: a handler on another thread may still read a string after its slot
    // is cleared, so it must stay valid. A few bytes per report file.
    let raw = c_path.into_raw();
    for (i, slot) in PENDING.iter().enumerate() {
        if slot
            .compare_exchange(ptr::null_mut(), raw, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return RemoveOnSignal { slot: Some(i) };
        }
    }
    RemoveOnSignal { slot: None }
}

impl Drop for RemoveOnSignal {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            PENDING[i].store(ptr::null_mut(), Ordering::SeqCst);
        }
    }
}
