//! The top-level fields of a JSON object, for the JSON-in-a-string rule: field names and the
//! raw text of their values, read without building anything else.
//!
//! A scan of the common document (ASCII or UTF-8 text, no escaped field names, nesting under
//! [`MAX_DEPTH`]) answers directly; it accepts only documents `serde_json` accepts, with the
//! same fields. Anything it is not sure of goes to `serde_json`, which decides: parsing
//! through serde's visitor machinery was most of this rule's cost on string-heavy dumps.

use std::borrow::Cow;
use std::ops::Range;

use serde_json::value::RawValue;

use crate::swar::{HIGHS, ONES, has_byte};

/// Nesting the scan follows; deeper documents are left to `serde_json` (and its limit).
const MAX_DEPTH: usize = 64;
/// Up to this many fields, repeated names are looked for pair by pair instead of by sorting.
const FEW_FIELDS: usize = 32;

/// The fields of the object `text` holds, each once with the raw JSON text of its last value
/// (as the server's HSET keeps one), in no particular order; `None` when `text` is not a JSON
/// object.
pub fn object_fields(text: &[u8]) -> Option<Vec<(Cow<'_, str>, &str)>> {
    let scanned = std::str::from_utf8(text)
        .ok()
        .and_then(|t| Scan::new(t).object());
    let mut fields = match scanned {
        Some(fields) => fields,
        None => serde_fields(text)?,
    };
    // Documents seldom repeat a name: for a few fields, looking for one costs less than
    // sorting the names.
    let repeated = fields.len() > FEW_FIELDS
        || fields
            .iter()
            .enumerate()
            .any(|(i, (name, _))| fields[i + 1..].iter().any(|(other, _)| other == name));
    if repeated {
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields.reverse();
        fields.dedup_by(|earlier, later| earlier.0 == later.0);
    }
    Some(fields)
}

/// The fields as `serde_json` reads them, in document order.
fn serde_fields(text: &[u8]) -> Option<Vec<(Cow<'_, str>, &str)>> {
    let JsonObject(fields) = serde_json::from_slice(text).ok()?;
    Some(fields.into_iter().map(|(k, v)| (k, v.get())).collect())
}

/// A cursor over a document (checked UTF-8 once, so any slice between quotes is text) that
/// gives up (`None`) at anything outside its subset.
struct Scan<'a> {
    doc: &'a str,
    text: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn new(doc: &'a str) -> Scan<'a> {
        Scan {
            doc,
            text: doc.as_bytes(),
            at: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.at += 1)
    }

    /// The whole document: one object and nothing after it but whitespace.
    fn object(mut self) -> Option<Vec<(Cow<'a, str>, &'a str)>> {
        self.skip_whitespace();
        self.eat(b'{')?;
        let mut fields = Vec::new();
        self.members(b'}', |scan| {
            let (name, escaped, value) = scan.field(1)?;
            if escaped {
                return None;
            }
            let doc = scan.doc;
            fields.push((
                Cow::Borrowed(&doc[name.start + 1..name.end - 1]),
                &doc[value],
            ));
            Some(())
        })?;
        self.skip_whitespace();
        (self.at == self.text.len()).then_some(fields)
    }

    /// After an opening bracket: `member`s separated by commas, then `close`.
    fn members(
        &mut self,
        close: u8,
        mut member: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.skip_whitespace();
        if self.eat(close).is_some() {
            return Some(());
        }
        loop {
            self.skip_whitespace();
            member(self)?;
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.at += 1,
                b if b == close => return self.eat(close),
                _ => return None,
            }
        }
    }

    /// One `"name": value` of an object nested `depth` deep: where the name (with its
    /// quotes) and the value lie, and whether the name has escapes.
    fn field(&mut self, depth: usize) -> Option<(Range<usize>, bool, Range<usize>)> {
        let (name, escaped) = self.string()?;
        self.skip_whitespace();
        self.eat(b':')?;
        self.skip_whitespace();
        let start = self.at;
        self.value(depth)?;
        Some((name, escaped, start..self.at))
    }

    /// Steps over one value nested `depth` deep.
    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                self.at += 1;
                self.members(b'}', |scan| scan.field(depth + 1).map(drop))
            }
            b'[' => {
                self.at += 1;
                self.members(b']', |scan| scan.value(depth + 1))
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.text.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<()> {
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.').is_some() {
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        // a number runs into the next token only through a delimiter or whitespace
        match self.peek() {
            None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\t' | b'\r') => Some(()),
            Some(_) => None,
        }
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    /// A string: where it lies with its quotes, and whether it has escapes. No control bytes,
    /// simple escapes, and `\u` escapes outside the surrogates (whose rules differ between
    /// names and values; left to serde).
    fn string(&mut self) -> Option<(Range<usize>, bool)> {
        let start = self.at;
        self.eat(b'"')?;
        let mut escaped = false;
        loop {
            self.at += stops(&self.text[self.at..])?;
            match self.text[self.at] {
                b'"' => {
                    self.at += 1;
                    return Some((start..self.at, escaped));
                }
                b'\\' => {
                    escaped = true;
                    let escape = *self.text.get(self.at + 1)?;
                    self.at += 2;
                    match escape {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            let hex = self.text.get(self.at..self.at + 4)?;
                            let hex = std::str::from_utf8(hex).ok()?;
                            let unit = u16::from_str_radix(hex, 16).ok()?;
                            if hex.starts_with(['+', '-']) || (0xD800..0xE000).contains(&unit) {
                                return None;
                            }
                            self.at += 4;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }
}

/// Where the first byte that ends a run of string text lies (a quote, a backslash or a control
/// byte), eight bytes a step: JSON values are mostly string text.
fn stops(text: &[u8]) -> Option<usize> {
    let (words, _) = text.as_chunks::<8>();
    let mut at = 0;
    for word in words {
        let x = u64::from_ne_bytes(*word);
        let quote = has_byte(x, b'"');
        let backslash = has_byte(x, b'\\');
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
        if quote | backslash | control != 0 {
            break;
        }
        at += 8;
    }
    text[at..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|p| at + p)
}

/// A JSON object's top-level fields in document order, with their values' raw text. Field
/// names without escapes are borrowed from the document (a `Cow` deserialises owned).
struct JsonObject<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

struct FieldName<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for FieldName<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl<'de> serde::de::Visitor<'de> for Name {
            type Value = FieldName<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(FieldName(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(FieldName(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(Name)
    }
}

impl<'de> serde::Deserialize<'de> for JsonObject<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = JsonObject<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((FieldName(name), raw)) = map.next_entry()? {
                    fields.push((name, raw));
                }
                Ok(JsonObject(fields))
            }
        }
        d.deserialize_map(Fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The fields as an ordered map of the document reads them (the definition).
    fn as_map(doc: &[u8]) -> Option<Vec<(String, String)>> {
        let map = serde_json::from_slice::<BTreeMap<String, &RawValue>>(doc).ok()?;
        Some(map.into_iter().map(|(k, v)| (k, v.get().into())).collect())
    }

    /// The fields by name, as [`as_map`] lists them.
    fn owned(fields: Option<Vec<(Cow<'_, str>, &str)>>) -> Option<Vec<(String, String)>> {
        fields.map(|f| {
            let mut fields: Vec<(String, String)> =
                f.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
            fields.sort();
            fields
        })
    }

    #[test]
    fn fields_are_the_documents_map() {
        for doc in [
            r#"{"b": 1, "a": "x", "b": [1, {"c": 2}], "a\u0062": "y", "ab": null}"#,
            r#"{"k": "v\"w", "k": "last", "\u00e9": {"k": "nested"}, "": true}"#,
            r#"  {}  "#,
            r#"{"a": 1,}"#,
            r#"{"a": [1, 2}"#,
            r#"[{"a": 1}]"#,
            r#""text""#,
            r#"{"a": 1} trailing"#,
            r#"{"a": 01}"#,
            r#"{"a": -0.5e+3, "b": 1E5, "c": -}"#,
            r#"{"a": "\ud800"}"#,
            r#"{"a": "\uD83D\uDE00", "b": "\u00e9\n"}"#,
            "{\"a\": \"tab\there\"}",
            "{\"caf\u{e9}\": \"cr\u{e8}me\"}",
            "{\"a\": 1}\x0c",
            r#"{"a":{"b":{"c":[[[]]]}},"d":[true,false,null]}"#,
        ] {
            let doc = doc.as_bytes();
            assert_eq!(owned(object_fields(doc)), as_map(doc), "{doc:?}");
        }
        // Repeated names found pair by pair (a few fields) and by sorting (many).
        for (fields, names) in [(20, 15), (FEW_FIELDS, FEW_FIELDS), (80, 50), (80, 80)] {
            let members: Vec<String> = (0..fields)
                .map(|i| format!("\"f{}\": {i}", (i * 7) % names))
                .collect();
            let doc = format!("{{{}}}", members.join(", "));
            let got = owned(object_fields(doc.as_bytes())).unwrap();
            assert_eq!(Some(got.clone()), as_map(doc.as_bytes()), "{doc}");
            assert_eq!(got.len(), names.min(fields), "{doc}");
        }
        let mut fields = object_fields(br#"{"b": 1, "a": 2, "b": 3}"#).unwrap();
        fields.sort();
        assert!(matches!(fields[0].0, Cow::Borrowed("a")));
        assert_eq!(fields[1].1, "3");
    }

    /// Random documents, well-formed and damaged: whatever the scan accepts, serde reads
    /// alike (the scan may only give up, never differ).
    #[test]
    fn the_scan_accepts_only_what_serde_reads_alike() {
        let mut rng = crate::synth::Rng::new(7);
        let pieces: [&[u8]; 24] = [
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b":",
            b" ",
            b"\"",
            b"\\",
            b"\\u00e9",
            b"\\ud800",
            b"\\n",
            b"0",
            b"12",
            b"-",
            b".5",
            b"e+",
            b"true",
            b"nul",
            b"\"k\"",
            b"\"v\"",
            b"\xc3\xa9",
            b"\xff",
            b"\t",
        ];
        let mut accepted = 0;
        for _ in 0..200_000 {
            let mut doc = b"{\"a\": ".to_vec();
            for _ in 0..rng.below(12) {
                doc.extend_from_slice(pieces[rng.below(pieces.len() as u64) as usize]);
            }
            if rng.below(2) == 0 {
                doc.push(b'}');
            }
            if let Some(fields) = std::str::from_utf8(&doc)
                .ok()
                .and_then(|d| Scan::new(d).object())
            {
                accepted += 1;
                let serde = serde_fields(&doc).map(|f| {
                    f.into_iter()
                        .map(|(k, v)| (k.into_owned(), v.to_string()))
                        .collect::<Vec<_>>()
                });
                let scanned: Vec<(String, String)> = fields
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect();
                assert_eq!(Some(scanned), serde, "{:?}", String::from_utf8_lossy(&doc));
            }
            assert_eq!(owned(object_fields(&doc)), as_map(&doc), "{doc:?}");
        }
        assert!(accepted > 1000, "{accepted} documents scanned");
    }

    #[test]
    fn stops_are_the_first_quote_backslash_or_control_byte() {
        let mut rng = crate::synth::Rng::new(3);
        for _ in 0..20_000 {
            let len = rng.below(40) as usize;
            let text: Vec<u8> = (0..len)
                .map(|_| match rng.below(20) {
                    0 => b'"',
                    1 => b'\\',
                    2 => rng.below(0x20) as u8,
                    3 => 0x80 | rng.below(0x80) as u8,
                    _ => b' ' + rng.below(0x5f) as u8,
                })
                .collect();
            let plain = text
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            assert_eq!(stops(&text), plain, "{text:?}");
        }
    }

    /// A random JSON value: nested, with escapes, numbers of every form, UTF-8.
    fn value(rng: &mut crate::synth::Rng, depth: u32, out: &mut Vec<u8>) {
        let strings: [&[u8]; 6] = [b"x", b"\\\"", b"\\u0041", b"caf\xc3\xa9", b"a b", b"\\/"];
        let numbers: [&[u8]; 8] = [
            b"0", b"-0", b"12", b"-3.25", b"1e9", b"2E-3", b"0.5e+2", b"99",
        ];
        match rng.below(if depth > 3 { 3 } else { 5 }) {
            0 => {
                out.push(b'"');
                for _ in 0..rng.below(4) {
                    out.extend_from_slice(rng.pick::<&[u8]>(&strings));
                }
                out.push(b'"');
            }
            1 => out.extend_from_slice(rng.pick::<&[u8]>(&numbers)),
            2 => out.extend_from_slice(rng.pick::<&[u8]>(&[&b"true"[..], b"false", b"null"])),
            3 => {
                out.push(b'[');
                for i in 0..rng.below(4) {
                    if i > 0 {
                        out.extend_from_slice(rng.pick::<&[u8]>(&[&b","[..], b" , ", b",\n"]));
                    }
                    value(rng, depth + 1, out);
                }
                out.push(b']');
            }
            _ => {
                out.push(b'{');
                for i in 0..rng.below(4) {
                    if i > 0 {
                        out.push(b',');
                    }
                    value(rng, 4, out);
                    out.extend_from_slice(rng.pick::<&[u8]>(&[&b":"[..], b" : "]));
                    value(rng, depth + 1, out);
                }
                out.push(b'}');
            }
        }
    }

    /// Well-formed objects, and each with one byte changed, dropped or added.
    #[test]
    fn random_objects_read_as_serde_reads_them() {
        let mut rng = crate::synth::Rng::new(11);
        let mut scanned = 0;
        for round in 0..50_000 {
            let mut doc = b"{".to_vec();
            for i in 0..rng.below(5) {
                if i > 0 {
                    doc.push(b',');
                }
                doc.push(b'"');
                doc.extend_from_slice(rng.pick::<&[u8]>(&[
                    &b"a"[..],
                    b"b",
                    b"\\u0061",
                    b"\xc3\xa9",
                ]));
                doc.extend_from_slice(b"\": ");
                value(&mut rng, 0, &mut doc);
            }
            doc.push(b'}');
            if round % 2 == 1 && !doc.is_empty() {
                let at = rng.below(doc.len() as u64) as usize;
                match rng.below(3) {
                    0 => doc[at] = rng.below(128) as u8,
                    1 => drop(doc.remove(at)),
                    _ => doc.insert(at, *rng.pick(b"{}[]\",:0e-.\\ ")),
                }
            }
            let scan = std::str::from_utf8(&doc)
                .ok()
                .and_then(|d| Scan::new(d).object());
            scanned += usize::from(scan.is_some());
            assert_eq!(
                owned(object_fields(&doc)),
                as_map(&doc),
                "{:?}",
                String::from_utf8_lossy(&doc)
            );
        }
        // the scan must answer for a good share (escaped names and damage go to serde)
        assert!(scanned > 10_000, "{scanned} documents scanned");
    }
}
