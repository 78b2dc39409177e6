//! Strings stored wastefully: `json-in-string`, `numeric-string`, `compressible-value`. The
//! probe priced each key's alternative; these rules report the patterns where it adds up.

use super::probe::COMPRESS_MIN_BYTES;
use super::{Confidence, Kind, Suggestion, percent, push_finding};
use crate::analyze::Summary;
use crate::report::units::bytes;

pub fn json_in_string(summary: &Summary, out: &mut Vec<Suggestion>) {
    for p in &summary.patterns {
        let f = &p.stats.advice.json_in_string;
        let why = format!(
            "{} of {} keys are strings holding a JSON object",
            f.keys, p.stats.stats.keys
        );
        push_finding(
            out,
            p,
            f,
            Kind::JsonInString,
            Confidence::High,
            why,
            "store each object as a hash, one field per top-level member (`HSET <key> <field> \
             <value> ...`; nested values stay JSON text), and read fields with HGET/HMGET \
             instead of parsing the whole document",
        );
    }
}

pub fn numeric_string(summary: &Summary, out: &mut Vec<Suggestion>) {
    for p in &summary.patterns {
        let a = &p.stats.advice;
        let integers = format!(
            "{} string keys hold integers written with padding, a sign, leading zeros or a zero \
             fraction, which the server keeps as text",
            a.integer_text.keys
        );
        push_finding(
            out,
            p,
            &a.integer_text,
            Kind::NumericString,
            Confidence::High,
            integers,
            "write the numbers in canonical form (`7`, not `007`, `+7` or `7.0`): the server \
             then stores them as 8-byte integers",
        );
        let decimals = format!("{} string keys hold decimals", a.decimal_text.keys);
        push_finding(
            out,
            p,
            &a.decimal_text,
            Kind::NumericString,
            Confidence::Medium,
            decimals,
            "store them as fixed-point integers (e.g. cents: `19.99` as `1999`), which the \
             server int-encodes and INCRBY can update",
        );
    }
}

pub fn compressible_value(summary: &Summary, out: &mut Vec<Suggestion>) {
    for p in &summary.patterns {
        let f = &p.stats.advice.compressible;
        let why = format!(
            "{} keys of {} or more compress by {} with LZF (measured on their bytes)",
            f.keys,
            bytes(COMPRESS_MIN_BYTES),
            percent(f.savings_bytes, f.memory_bytes)
        );
        push_finding(
            out,
            p,
            f,
            Kind::CompressibleValue,
            Confidence::Medium,
            why,
            "compress these values in the client before SET and after GET (LZF as measured; \
             zstd or lz4 usually do better); costs client CPU and makes the values opaque to \
             GETRANGE, APPEND and server-side scripts",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::evidence::KeyAdvice;
    use crate::advise::test_support::{key, summary};

    #[test]
    fn findings_become_pattern_suggestions_above_the_floor() {
        let mut keys = Vec::new();
        for i in 0..200 {
            let name: &'static str = Box::leak(format!("price:{i}").into_boxed_str());
            let mut k = key(name, 56);
            k.advice = KeyAdvice {
                integer_text: Some(8),
                ..KeyAdvice::default()
            };
            keys.push(k);
        }
        let mut doc = key("doc:1", 900);
        doc.advice = KeyAdvice {
            json_in_string: Some(300),
            ..KeyAdvice::default()
        };
        keys.push(doc);
        let s = summary(&keys, 1_000_000);
        let mut out = Vec::new();
        numeric_string(&s, &mut out);
        json_in_string(&s, &mut out);
        assert_eq!(
            out.len(),
            1,
            "300 bytes of JSON savings are below the floor"
        );
        assert_eq!(out[0].target, "price:*");
        assert_eq!(out[0].estimated_savings_bytes, 1600);
        assert_eq!(out[0].keys, 200);
        assert_eq!(out[0].examples, ["price:0", "price:1", "price:10"]);
    }
}
