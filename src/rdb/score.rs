//! Sorted-set scores as the server writes them in text: C's `%.17g` (`d2string`: ziplists,
//! RDB type 3, listpacks of Redis 7.0) and the shortest round-trip form (7.2+ `fpconv_dtoa`).
//!
//! The text is built on the stack: the memory model prices a listpack of every sorted set's
//! scores, so this runs once per member.

use std::fmt::Write;

/// Enough for `-d.dddddddddddddddde-308` and any shortest form.
const CAPACITY: usize = 40;

/// 5^0 ..= 5^21: the odd factors of the scales `10^(16 - e)` of [`ScoreText::g17_len`]
/// (exponents -5 ..= 16); below 2^49, so a 64-bit mantissa times one fits one widening
/// multiply.
const POW5: [u64; 22] = {
    let mut t = [1u64; 22];
    let mut i = 1;
    while i < t.len() {
        t[i] = t[i - 1] * 5;
        i += 1;
    }
    t
};

/// 10^-5 ..= 10^17 as doubles, to guess a decimal exponent.
const POW10_F64: [f64; 23] = [
    1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
];

/// The bits of the range [`ScoreText::g17_len`] takes: 1e-4 <= |v| < 2^52.
const G17_LEN_FROM: u64 = 1e-4f64.to_bits();
const G17_LEN_BELOW: u64 = 4_503_599_627_370_496f64.to_bits();

/// A score's text, held inline.
#[derive(Clone, Copy)]
pub struct ScoreText {
    buf: [u8; CAPACITY],
    len: usize,
}

impl Write for ScoreText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(std::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl ScoreText {
    fn empty() -> ScoreText {
        ScoreText {
            buf: [0; CAPACITY],
            len: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// C's `printf("%.17g", v)` for a finite `v`: 17 significant digits with trailing zeros
    /// dropped, in exponent form below 1e-4 or from 1e17 (at least two exponent digits).
    pub fn g17(v: f64) -> ScoreText {
        let mut sci = ScoreText::empty();
        // `{:.16e}` rounds to 17 significant digits once; both %g forms show those digits.
        write!(sci, "{v:.16e}").expect("a finite double fits");
        let text = sci.as_bytes();
        let e = text.iter().position(|&b| b == b'e').expect("exponent form");
        let exp: i32 = std::str::from_utf8(&text[e + 1..])
            .ok()
            .and_then(|x| x.parse().ok())
            .expect("a decimal exponent");
        let negative = text[0] == b'-';
        let mantissa = &text[usize::from(negative)..e];
        // the 17 digits without the point, trailing zeros dropped (at least one kept)
        let mut digits = [0u8; 17];
        let mut n = 0;
        for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
            digits[n] = b;
            n += 1;
        }
        while n > 1 && digits[n - 1] == b'0' {
            n -= 1;
        }
        let digits = &digits[..n];
        let mut out = ScoreText::empty();
        if negative {
            out.push(b"-");
        }
        if !(-4..17).contains(&exp) {
            out.push(&digits[..1]);
            if n > 1 {
                out.push(b".");
                out.push(&digits[1..]);
            }
            let sign = if exp < 0 { '-' } else { '+' };
            write!(out, "e{sign}{:02}", exp.unsigned_abs()).expect("fits");
        } else if exp >= 0 {
            let whole = exp as usize + 1;
            out.push(&digits[..n.min(whole)]);
            for _ in n..whole {
                out.push(b"0");
            }
            if n > whole {
                out.push(b".");
                out.push(&digits[whole..]);
            }
        } else {
            out.push(b"0.");
            for _ in 0..(-exp - 1) {
                out.push(b"0");
            }
            out.push(digits);
        }
        out
    }

    /// The length of [`ScoreText::g17`] of a non-integral `v` with 1e-4 <= |v| < 2^52 (the
    /// scores applications use), with integer arithmetic: the 17 digits are
    /// `v * 10^(16-e)` rounded half to even, exact in one 128-bit product there. `None` elsewhere.
    /// Inlined: the fold prices every score of a skiplist with it, and a call was a sixth of
    /// its cost.
    #[inline(always)]
    pub fn g17_len(v: f64) -> Option<usize> {
        // |v| in bits, which order as the values do (NaN and the infinities above the range)
        let negative = (v.to_bits() >> 63) as usize;
        let bits = v.to_bits() & !(1 << 63);
        if !(G17_LEN_FROM..G17_LEN_BELOW).contains(&bits) {
            return None;
        }
        let a = f64::from_bits(bits);
        let exp2 = (bits >> 52) as i32 - 1023;
        // integral: no fraction bit below the point (every value below 1 has one)
        if exp2 >= 0 && bits << (12 + exp2) == 0 {
            return None;
        }
        // a = m * 2^(exp2 - 52) exactly, m of 53 bits: shifted to the top of 64 bits
        let m = ((bits & ((1 << 52) - 1)) | (1 << 52)) << 11;
        // a * 10^k = m * 5^k / 2^s with k = 16 - e and s = 47 - exp2 + e, which is within
        // 10 ..= 58 over this range (e is log10 a, guessed within one), so the quotient and
        // remainder are each a 64-bit word of one 64 x 64 -> 128-bit product
        let digits = |e: i32| -> u64 {
            let num = u128::from(m) * u128::from(POW5[(16 - e) as usize]);
            let s = (47 - exp2 + e) as u32;
            debug_assert!((1..64).contains(&s), "{s}");
            let s = s & 63;
            let q = (num >> s) as u64;
            let r = num as u64 & ((1 << s) - 1);
            // half to even: up above the half, and at it when odd
            q + u64::from(r + (q & 1) > 1 << (s - 1))
        };
        // floor(log10 a) is floor(exp2 * log10 2) or one more (1233 / 4096 ~ log10 2 is
        // close enough over this range); the digit count below corrects it either way
        let mut e = (exp2 * 1233).div_euclid(4096);
        // and one more from the next power of ten on, so that one try mostly does (an
        // inexact negative power only moves the guess, which the digit count corrects)
        if a >= POW10_F64[(e + 6) as usize] {
            e += 1;
        }
        let mut d = digits(e);
        if d >= 100_000_000_000_000_000 {
            e += 1;
            d = digits(e);
        } else if d < 10_000_000_000_000_000 {
            e -= 1;
            d = digits(e);
        }
        if d >= 100_000_000_000_000_000 {
            // rounded up to the next power of ten (17 digits tell doubles apart, so this
            // does not happen, but the arithmetic allows it): "1" and zeros
            e += 1;
            d = 10_000_000_000_000_000;
        }
        let mut significant = 17;
        while d.is_multiple_of(10) && significant > 1 {
            d /= 10;
            significant -= 1;
        }
        // fixed notation (-4 <= e < 17 here): "d.ddd" or "0.000ddd"
        let fraction_zeros = (-e).max(0) as usize;
        Some(negative + significant + 1 + fraction_zeros)
    }

    /// The shortest text that reads back as `v`, with `e+` before a positive exponent as
    /// `fpconv_dtoa` writes it (its spelling of some exponents differs from this by a byte).
    pub fn shortest(v: f64) -> ScoreText {
        let mut raw = ScoreText::empty();
        write!(raw, "{v:?}").expect("a double fits");
        let text = raw.as_bytes();
        match text.iter().position(|&b| b == b'e') {
            Some(e) if text.get(e + 1) != Some(&b'-') => {
                let mut out = ScoreText::empty();
                out.push(&text[..=e]);
                out.push(b"+");
                out.push(&text[e + 1..]);
                out
            }
            _ => raw,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("ASCII")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `%.17g` spelled out with two allocating formats: the reference for the stack version.
    fn reference_g17(x: f64) -> String {
        let strip = |s: &str| -> String {
            if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s.to_string()
            }
        };
        let sci = format!("{x:.16e}");
        let (mantissa, exp) = sci.split_once('e').unwrap();
        let exp: i32 = exp.parse().unwrap();
        if !(-4..17).contains(&exp) {
            let sign = if exp < 0 { '-' } else { '+' };
            format!("{}e{sign}{:02}", strip(mantissa), exp.abs())
        } else {
            strip(&format!("{:.*}", (16 - exp) as usize, x))
        }
    }

    #[test]
    fn g17_as_printf_writes_it() {
        for (v, text) in [
            (0.1, "0.10000000000000001"),
            (-3.5, "-3.5"),
            (1e-10, "1e-10"),
            (1e300, "1.0000000000000001e+300"),
            (std::f64::consts::PI, "3.1415926535897931"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (0.0001, "0.0001"),
            (1e-5, "1.0000000000000001e-05"),
            (98_510_038_418_884_000.0, "98510038418884000"),
            (9_007_199_254_740_993.0, "9007199254740992"),
            (0.0, "0"),
            (-0.0, "-0"),
            (5e-324, "4.9406564584124654e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            // ties of the 17th digit go to the even one
            (2f64.powi(50) + 0.25, "1125899906842624.2"),
            (2f64.powi(50) + 0.75, "1125899906842624.8"),
            (2f64.powi(49) + 0.125, "562949953421312.12"),
        ] {
            assert_eq!(ScoreText::g17(v).as_str(), text, "{v:e}");
        }
    }

    /// Finite doubles, seeded: raw bit patterns, decimals with three places, fractions of
    /// one, and values across 40 decades.
    fn doubles(seed: u64, n: usize) -> impl Iterator<Item = f64> {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..n)
            .map(move |i| match i % 4 {
                0 => f64::from_bits(next()),
                1 => (next() % 2_000_000) as f64 / 1000.0 - 1000.0,
                2 => next() as f64 / u64::MAX as f64,
                _ => (next() as f64 / u64::MAX as f64) * 10f64.powi((next() % 40) as i32 - 20),
            })
            .filter(|v| v.is_finite())
    }

    #[test]
    fn g17_matches_the_reference_on_many_doubles() {
        for v in doubles(0x9e37_79b9_7f4a_7c15, 200_000) {
            let text = ScoreText::g17(v);
            assert_eq!(text.as_str(), reference_g17(v), "{:x}", v.to_bits());
        }
    }

    #[test]
    fn g17_len_is_the_texts_length() {
        let mut fast = 0;
        for v in doubles(0x2545_f491_4f6c_dd1d, 300_000) {
            if let Some(len) = ScoreText::g17_len(v) {
                assert_eq!(len, ScoreText::g17(v).as_bytes().len(), "{:x}", v.to_bits());
                fast += 1;
            }
        }
        for v in [
            0.1,
            0.5,
            0.0001,
            0.00011,
            99.99999999999999,
            0.9999999999999999,
            1.5e15 + 0.5,
            // either side of powers of ten, where the first guess of the exponent is off
            0.0009999999999999998,
            0.0010000000000000002,
            9.999999999999998,
            10.000000000000002,
            99999.99999999999,
            1000.0000000000001,
            -0.30000000000000004,
            // ties of the 17th digit, rounded to even (2^50 + 1/4: a quarter's ulp)
            2f64.powi(50) + 0.25,
            2f64.powi(50) + 0.75,
            2f64.powi(50) + 1.25,
            -(2f64.powi(50) + 1.75),
            2f64.powi(49) + 0.125,
            // the ends of the range: the largest and smallest shifts
            4_503_599_627_370_495.5,
            2_251_799_813_685_248.5,
            0.00010000000000000002,
            f64::from_bits(2f64.powi(-13).to_bits() + 1),
            -0.0001220703125,
        ] {
            assert_eq!(
                ScoreText::g17_len(v),
                Some(ScoreText::g17(v).as_bytes().len()),
                "{v}"
            );
        }
        assert!(fast > 150_000, "{fast}");
        // integral, or outside the range
        for v in [
            3.0,
            -3.0,
            1.0,
            2f64.powi(51),
            -(2f64.powi(51) + 2.0),
            2f64.powi(52),
            2f64.powi(52) + 1.0,
            1e-5,
            f64::from_bits(1e-4f64.to_bits() - 1),
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            assert_eq!(ScoreText::g17_len(v), None, "{v}");
        }
    }

    #[test]
    fn shortest_form() {
        assert_eq!(ScoreText::shortest(0.1).as_str(), "0.1");
        assert_eq!(ScoreText::shortest(1e20).as_str(), "1e+20");
        assert_eq!(ScoreText::shortest(1e-7).as_str(), "1e-7");
        assert_eq!(ScoreText::shortest(-2.5).as_str(), "-2.5");
    }
}
