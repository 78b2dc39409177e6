//! Allocator usable sizes: what `zmalloc_size` returns for a request of `n` bytes.
//!
//! Redis and Valkey count allocations by their usable size, so every struct, sds and blob in
//! the model goes through [`Allocator::usable`].

/// The allocator the server was built with (`INFO memory` → `mem_allocator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Allocator {
    /// The jemalloc bundled with Redis/Valkey, built with `--with-lg-quantum=3`: size classes
    /// 8, 16, 24, ..., 64, then four classes per doubling.
    Jemalloc,
    /// A jemalloc built with its default 16-byte quantum, as distributions package it
    /// (Debian's `redis-server` links the system `libjemalloc2`): 8, then multiples of 16 up
    /// to 128, then four classes per doubling. `INFO` reports it as `jemalloc-x.y.z` too, so
    /// it must be chosen by the user.
    JemallocQuantum16,
    /// glibc malloc (`MALLOC=libc` builds): `malloc_usable_size` of a chunk, with large
    /// requests served by `mmap` in whole pages.
    Libc,
}

/// glibc's default `M_MMAP_THRESHOLD` (128 KiB). The threshold is dynamic (it rises to the
/// size of an mmapped block once that block is freed), so very large blocks carry
/// uncertainty of at most one page.
const LIBC_MMAP_THRESHOLD: u64 = 128 * 1024;
const PAGE: u64 = 4096;

/// What glibc may add to a small allocation's usable size beyond [`libc_usable`]: when the
/// best free chunk exceeds the request by less than `MINSIZE` (32 bytes), malloc and
/// realloc hand out the whole chunk instead of splitting it, so an object, listpack or sds
/// can come out one 16-byte step larger. Which allocations do depends on what the process
/// freed before (the order of commands, client buffers, rehashing), not on the data, so a
/// dump cannot predict it: on the glibc-built fixtures about 5 % of small keys (objects
/// re-created by `EXPIRE`, listpacks grown by `realloc`) read 16 bytes above the model.
pub const LIBC_CHUNK_REUSE: u64 = 16;

impl Allocator {
    /// Every allocator, in declaration order: `a as usize` indexes tables built from it.
    pub const ALL: [Allocator; 3] = [
        Allocator::Jemalloc,
        Allocator::JemallocQuantum16,
        Allocator::Libc,
    ];

    /// Parses `mem_allocator` from `INFO memory` (`jemalloc-5.3.0`, `libc`).
    pub fn from_info(name: &str) -> Option<Allocator> {
        let name = name.trim().to_ascii_lowercase();
        if name.starts_with("jemalloc") {
            Some(Allocator::Jemalloc)
        } else if name.starts_with("libc") {
            Some(Allocator::Libc)
        } else {
            None
        }
    }

    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Allocator::Jemalloc => "jemalloc",
            Allocator::JemallocQuantum16 => "jemalloc-16",
            Allocator::Libc => "libc",
        }
    }

    /// Usable size of an allocation of `n` bytes.
    #[inline]
    pub fn usable(self, n: u64) -> u64 {
        if let Some(&size) = USABLE_SMALL[self as usize].get(n as usize) {
            return u64::from(size);
        }
        match self {
            Allocator::Jemalloc => jemalloc_usable(n),
            Allocator::JemallocQuantum16 => jemalloc_q16_usable(n),
            Allocator::Libc => libc_usable(n),
        }
    }
}

/// [`Allocator::usable`] of requests below 256 bytes, by allocator (in declaration order):
/// looked up, as the fold asks for one or two per element.
static USABLE_SMALL: [[u16; 256]; Allocator::ALL.len()] = {
    let mut t = [[0u16; 256]; Allocator::ALL.len()];
    let mut n = 0;
    while n < 256 {
        t[Allocator::Jemalloc as usize][n] = jemalloc_usable(n as u64) as u16;
        t[Allocator::JemallocQuantum16 as usize][n] = jemalloc_q16_usable(n as u64) as u16;
        t[Allocator::Libc as usize][n] = libc_usable(n as u64) as u16;
        n += 1;
    }
    t
};

/// jemalloc size class of a request (lg-quantum 3).
#[inline]
pub const fn jemalloc_usable(n: u64) -> u64 {
    if n <= 8 {
        return 8;
    }
    if n <= 64 {
        return n.div_ceil(8) * 8;
    }
    let k = 63 - (n - 1).leading_zeros() as u64; // 2^k < n <= 2^(k+1)
    let step = 1u64 << (k - 2);
    n.div_ceil(step) * step
}

/// Size class of a jemalloc built with the default quantum (16 bytes).
#[inline]
pub const fn jemalloc_q16_usable(n: u64) -> u64 {
    match n {
        0..=8 => 8,
        9..=128 => n.div_ceil(16) * 16,
        _ => jemalloc_usable(n),
    }
}

/// glibc `malloc_usable_size` on x86-64: chunks are `n + 8` rounded up to 16 (at least 32),
/// minus the 8-byte size field; mmapped chunks are whole pages minus 16.
#[inline]
pub const fn libc_usable(n: u64) -> u64 {
    let chunk = (n + 8 + 15) & !15;
    let chunk = if chunk < 32 { 32 } else { chunk };
    if chunk >= LIBC_MMAP_THRESHOLD {
        (chunk + 8).div_ceil(PAGE) * PAGE - 16
    } else {
        chunk - 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jemalloc_small_classes_have_an_8_byte_quantum() {
        let j = jemalloc_usable;
        assert_eq!(j(0), 8);
        assert_eq!(j(1), 8);
        assert_eq!(j(9), 16);
        assert_eq!(j(21), 24);
        assert_eq!(j(24), 24);
        assert_eq!(j(25), 32);
        assert_eq!(j(41), 48);
        assert_eq!(j(57), 64);
        assert_eq!(j(65), 80);
        assert_eq!(j(81), 96);
        assert_eq!(j(129), 160);
        assert_eq!(j(208), 224);
        assert_eq!(j(257), 320);
        assert_eq!(j(536), 640);
        assert_eq!(j(4097), 5120);
        assert_eq!(j(14336), 14336);
        assert_eq!(j(14337), 16384);
        assert_eq!(j(16385), 20480);
        assert_eq!(j(100_000), 114_688);
    }

    #[test]
    fn jemalloc_default_quantum_has_no_odd_multiples_of_8() {
        let j = jemalloc_q16_usable;
        assert_eq!(j(8), 8);
        assert_eq!(j(9), 16);
        assert_eq!(j(17), 32);
        assert_eq!(j(40), 48);
        assert_eq!(j(120), 128);
        assert_eq!(j(129), 160);
        assert_eq!(j(536), 640);
    }

    #[test]
    fn glibc_usable_sizes() {
        let l = libc_usable;
        assert_eq!(l(0), 24);
        assert_eq!(l(24), 24);
        assert_eq!(l(25), 40);
        assert_eq!(l(40), 40);
        assert_eq!(l(41), 56);
        assert_eq!(l(100), 104);
        // mmapped: whole pages minus the two size words
        assert_eq!(l(200_000), 200_704 - 16);
    }

    #[test]
    fn small_sizes_looked_up_as_computed() {
        for n in 0..4096 {
            assert_eq!(Allocator::Jemalloc.usable(n), jemalloc_usable(n), "{n}");
            let q16 = Allocator::JemallocQuantum16.usable(n);
            assert_eq!(q16, jemalloc_q16_usable(n), "{n}");
            assert_eq!(Allocator::Libc.usable(n), libc_usable(n), "{n}");
        }
    }

    #[test]
    fn parses_info_names() {
        assert_eq!(
            Allocator::from_info("jemalloc-5.3.0"),
            Some(Allocator::Jemalloc)
        );
        assert_eq!(Allocator::from_info("libc"), Some(Allocator::Libc));
        assert_eq!(Allocator::from_info("tcmalloc-2.0"), None);
    }
}
