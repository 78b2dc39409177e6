//! What-if pricing for the advisor: the same elements in another encoding, computed by the
//! formulas [`Model::estimate`] uses (it calls the same functions for the key's own
//! encoding), so a suggested saving is the difference of two estimates of one model.
//!
//! Build a [`Collection`] from one walk of a record ([`Model::collect`]) or from element
//! sizes you have ([`Collection::push`]: a JSON document's fields, a group of string keys),
//! then price it with [`Model::cost`] in each candidate encoding. A collection keeps sums,
//! not elements, so pricing a key in several encodings costs one pass over its elements. Strings, quicklists and key names have their
//! own entry points: [`Model::string_cost`], [`Model::quicklist_cost`],
//! [`Model::key_name_cost`].
//!
//! - hashtable hash → listpack and back, set → intset / listpack / hashtable, zset skiplist
//!   → listpack: `model.cost(&collection, Encoding::Listpack)` etc.; `None` when the
//!   elements cannot be held that way (an intset of non-integers, a listpack on a release
//!   without one). The thresholds (`Limits`) are not applied: the caller decides whether a
//!   conversion is admissible.
//! - a JSON string as a hash of its fields: `Collection::hash(model, key_len, .., pairs)`.
//! - N small string keys as one hash: Σ `string_cost` against
//!   [`Model::repeated_field_cost`] of one hash holding them as fields.
//! - a hash with shorter field names: [`Collection::with_short_fields`].
//! - a numeric text string as an integer: `string_cost(.., Encoding::Int)`.
//! - a shorter key name: `key_name_cost(old_len) - key_name_cost(new_len)` per key
//!   ([`Model::key_name_saving`]).
//! - LZF-compressed list nodes: `quicklist_cost` with [`QuicklistNode::Compressed`].

use super::collections::{self, ListNode};
use super::strings::{self, StringForm};
use super::valkey;
use super::version::{DICT_ENTRY, QUICKLIST, ROBJ, ZSET, ZSKIPLIST};
use super::{Allocator, Certainty, Estimate, Generation, Model, Origin, generation_of};
use crate::rdb::inspect::{Context, Scratch, ValueItem, walk_value};
use crate::rdb::primitives::decimal_len;
use crate::rdb::score::ScoreText;
use crate::rdb::{Element, Encoding, KeyType, RdbStr, Record, Result, ValueStats};

/// One string element as the cost formulas see it: its length, and its value when the
/// server would store it as an integer (`string2ll` / `lpStringToInt64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scalar {
    pub len: usize,
    pub int: Option<i64>,
}

impl Scalar {
    #[inline]
    pub fn of(e: Element<'_>) -> Scalar {
        match e {
            Element::Int(v) => Scalar {
                len: decimal_len(v),
                int: Some(v),
            },
            Element::Bytes(b) => Scalar::bytes(b),
        }
    }

    #[inline]
    pub fn bytes(b: &[u8]) -> Scalar {
        Scalar {
            len: b.len(),
            int: crate::rdb::inspect::redis_integer(b),
        }
    }

    /// A string of `len` bytes that is not an integer.
    pub fn text(len: usize) -> Scalar {
        Scalar { len, int: None }
    }
}

/// One element of a collection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Member {
    /// A list element or set member.
    Plain(Scalar),
    /// A hash field and its value; `ttl` when the field has its own expiry.
    Field {
        field: Scalar,
        value: Scalar,
        ttl: bool,
    },
    /// A sorted-set member and its score as the release's compact encoding stores it
    /// ([`Member::scored`]).
    Scored { member: Scalar, score: Scalar },
}

impl Member {
    /// [`item_lens`] of the item read as this member.
    #[inline(always)]
    fn lens(&self) -> [usize; 2] {
        match *self {
            Member::Plain(s) | Member::Scored { member: s, .. } => [s.len, 0],
            Member::Field { field, value, .. } => [field.len, value.len],
        }
    }

    /// A sorted-set member with the score written as `generation` writes it in a listpack
    /// (a ziplist before 7.0). Inlined: the fold reads one per member of a skiplist.
    #[inline]
    pub fn scored(member: Scalar, score: f64, generation: Generation) -> Member {
        Member::Scored {
            member,
            score: score_scalar(score, generation),
        }
    }
}

/// Field names as the shorter-field-names alternative cuts them (integers are kept).
pub const SHORT_FIELD_BYTES: usize = 2;

/// A key's elements folded into the sums the cost formulas need, one pass and no element
/// kept: a 10-million-member set costs a few words, and pricing it in another encoding costs
/// nothing more. The sums are those of one model (release and allocator), which prices it.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    pub kind: KeyType,
    pub key_len: usize,
    pub has_expire: bool,
    generation: Generation,
    allocator: Allocator,
    len: u64,
    ttl_fields: u64,
    /// The widest integer member (2, 4 or 8 bytes) while every member is an integer.
    int_width: Option<u8>,
    /// Which sums were kept; a value priced from its compact blob needs none of its own
    /// ([`Model::price`]).
    sums: Sums,
    sizes: Sizes,
    /// Hashes: the sums with every non-integer field name cut to [`SHORT_FIELD_BYTES`].
    short_fields: Sizes,
}

/// Which of a [`Collection`]'s sums are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sums {
    /// Every sum: the collection can be priced in any encoding.
    All,
    /// A compact hash priced from its blob: only the shorter-field-names variant, in the
    /// compact encoding.
    ShortFields,
    /// Only the compact encoding's sums (the shorter-field-names variant of `ShortFields`),
    /// no shorter-field-names variant of its own.
    Compact,
    /// A compact set, sorted set or list priced from its blob, or a string priced from its
    /// length: the elements are counted.
    Counted,
}

impl Collection {
    /// Whether the elements were summed (else only its blob prices it).
    pub fn is_summed(&self) -> bool {
        self.sums == Sums::All
    }
}

/// Sums over the elements, in the forms of one release: each sum is of the one form that
/// release has (a collection is returned with every key, so it is kept small).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Sizes {
    /// The longest member, field or value.
    max_len: usize,
    /// Σ entries of the compact encoding: listpack entries of elements and scores (7.0+; the
    /// 7.4 TTL column is added when priced), or ziplist entries (6.2 and older) ...
    compact: u64,
    /// ... and a ziplist's last entry, whose size sets the next one's `prevlen` field.
    ziplist_last: u64,
    /// Σ allocations of members (sets, sorted sets: sds) or of fields (hashes: sds, `mstr` on
    /// 7.4 / 8.x; Valkey 8.1+: the entry, value included) ...
    elements: u64,
    /// ... and of hash values (but on Valkey 8.1+).
    value_sds: u64,
    /// Valkey 9: Σ expected skiplist nodes with their embedded member.
    valkey9_nodes: f64,
}

impl Sizes {
    /// One string as a compact encoding stores it.
    #[inline]
    fn packed(&mut self, g: Generation, s: Scalar) {
        self.max_len = self.max_len.max(s.len);
        self.entry(g, s);
    }

    /// [`Sizes::packed`] of a string that is not an element (a score's text): it does not
    /// count for the longest.
    #[inline]
    fn entry(&mut self, g: Generation, s: Scalar) {
        if g <= Generation::Redis62 {
            let prevlen = if self.ziplist_last < 254 { 1 } else { 5 };
            self.ziplist_last = prevlen + ziplist_encoded(s);
            self.compact += self.ziplist_last;
        } else {
            self.compact += listpack_entry(s);
        }
    }

    /// Adds `m`: its compact entries, and with `dict` what the dict forms hold of it.
    #[inline(always)]
    fn add(&mut self, g: Generation, a: Allocator, m: Member, dict: bool) {
        match m {
            Member::Plain(s) => self.packed(g, s),
            Member::Scored { member, score } => {
                self.packed(g, member);
                self.entry(g, score);
            }
            Member::Field { field, value, .. } => {
                self.packed(g, field);
                self.packed(g, value);
            }
        }
        if dict {
            self.add_dict(g, a, m);
        }
    }

    /// What the dict forms (hashtable, skiplist) hold of `m`.
    #[inline(always)]
    fn add_dict(&mut self, g: Generation, a: Allocator, m: Member) {
        let valkey = g.is_valkey_hashtable();
        match m {
            Member::Plain(s) if valkey => self.elements += valkey::sds_alloc(a, s.len),
            Member::Plain(s) => self.elements += strings::sds_alloc(a, s.len),
            Member::Scored { member, .. } if valkey => {
                self.elements += valkey::sds_alloc(a, member.len);
                if g == Generation::Valkey9 {
                    self.valkey9_nodes += valkey::skiplist_node_with_member(a, member.len);
                }
            }
            Member::Scored { member, .. } => self.elements += strings::sds_alloc(a, member.len),
            Member::Field { field, value, ttl } if valkey => {
                self.elements += valkey::hash_entry(a, field.len, value.len, ttl);
            }
            Member::Field { field, value, ttl } => {
                self.elements += if matches!(g, Generation::Redis74 | Generation::Redis8) {
                    strings::mstr_alloc(a, field.len, ttl)
                } else {
                    strings::sds_alloc(a, field.len)
                };
                self.value_sds += strings::sds_alloc(a, value.len);
            }
        }
    }
}

impl Collection {
    /// An empty collection of `kind`, summed as `model` prices.
    pub fn new(model: &Model, kind: KeyType, key_len: usize, has_expire: bool) -> Collection {
        Collection {
            kind,
            key_len,
            has_expire,
            generation: model.generation,
            allocator: model.allocator,
            len: 0,
            ttl_fields: 0,
            int_width: Some(2),
            sums: Sums::All,
            sizes: Sizes::default(),
            short_fields: Sizes::default(),
        }
    }

    /// An empty collection for `record`'s elements, keeping `sums`.
    pub(super) fn of_record(model: &Model, record: &Record<'_>, sums: Sums) -> Collection {
        let kind = record.value_type.key_type();
        let has_expire = record.expire_at_ms.is_some();
        let mut c = Collection::new(model, kind, record.key.len(), has_expire);
        c.sums = sums;
        c
    }

    /// A hash of these fields and values (no field TTLs).
    pub fn hash(
        model: &Model,
        key_len: usize,
        has_expire: bool,
        pairs: impl IntoIterator<Item = (Scalar, Scalar)>,
    ) -> Collection {
        let mut c = Collection::new(model, KeyType::Hash, key_len, has_expire);
        for (field, value) in pairs {
            c.push(Member::Field {
                field,
                value,
                ttl: false,
            });
        }
        c
    }

    /// Adds an element to the sums kept (a counted collection only counts it). Inlined: the
    /// fold calls it once per element, and the element's kind is known there.
    #[inline(always)]
    pub fn push(&mut self, m: Member) {
        let (g, a) = (self.generation, self.allocator);
        self.len += 1;
        let all = self.sums == Sums::All;
        match m {
            Member::Plain(s) => {
                self.int_width = self.int_width.zip(s.int).map(|(w, v)| w.max(int_width(v)));
            }
            Member::Scored { .. } => self.int_width = None,
            Member::Field { field, value, ttl } => {
                self.int_width = None;
                self.ttl_fields += u64::from(ttl);
                if matches!(self.sums, Sums::All | Sums::ShortFields) {
                    let field = match field.int {
                        None => Scalar::text(field.len.min(SHORT_FIELD_BYTES)),
                        Some(_) => field,
                    };
                    let short = Member::Field { field, value, ttl };
                    self.short_fields.add(g, a, short, all);
                }
            }
        }
        if all || self.sums == Sums::Compact {
            self.sizes.add(g, a, m, all);
        }
    }

    /// Counts an element of a compact blob without summing it: what is read of such a
    /// collection besides its blob (how many, whether all are integers; a blob stores an
    /// integer-like member as an integer, so a `Bytes` member is not one).
    fn count(&mut self, item: &ValueItem<'_>) {
        self.len += 1;
        self.int_width = match item {
            ValueItem::Member(Element::Int(v)) => self.int_width.map(|w| w.max(int_width(*v))),
            _ => None,
        };
    }

    /// Counts `n` elements that were not read (a list counted from its nodes' headers). None
    /// is known to be an integer, which only a set's intset alternative would ask.
    fn count_unread(&mut self, n: u64) {
        self.len += n;
        self.int_width = None;
    }

    /// The same hash with every field name that is not an integer cut to
    /// [`SHORT_FIELD_BYTES`] (of a compact-only collection, none is summed: it prices as
    /// nothing).
    pub fn with_short_fields(&self) -> Collection {
        let sums = match self.sums {
            Sums::All => Sums::All,
            Sums::ShortFields => Sums::Compact,
            Sums::Compact | Sums::Counted => Sums::Counted,
        };
        Collection {
            sizes: self.short_fields,
            sums,
            ..self.clone()
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The longest member, field or value.
    pub fn max_len(&self) -> usize {
        self.sizes.max_len
    }

    /// Bytes of the listpack this release builds for these elements (`lpBytes`); with
    /// `ttl_column`, each hash field carries a third entry (Redis 7.4 `listpackex`: 0 or the
    /// expiry).
    fn listpack_bytes(&self, ttl_column: bool) -> u64 {
        debug_assert!(self.generation > Generation::Redis62, "summed as a ziplist");
        let mut entries = self.sizes.compact;
        if ttl_column {
            // an absolute Unix-ms expiry (13 digits) or 0 for none
            entries += self.ttl_fields * 10 + (self.len - self.ttl_fields) * 2;
        }
        collections::listpack_bytes(entries)
    }

    /// Bytes of the ziplist holding these elements (`zlbytes`, Redis 6.2 and older).
    fn ziplist_bytes(&self) -> u64 {
        debug_assert!(
            self.generation <= Generation::Redis62,
            "summed as a listpack"
        );
        10 + self.sizes.compact + 1
    }

    /// Bytes of the intset holding these members, `None` unless every member is an integer.
    pub fn intset_bytes(&self) -> Option<u64> {
        if self.kind != KeyType::Set {
            return None;
        }
        Some(8 + u64::from(self.int_width?) * self.len)
    }
}

/// Bytes an intset gives an integer.
fn int_width(v: i64) -> u8 {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

impl Model {
    /// Walks a record once: its elements folded for pricing ([`Collection`]; nothing for
    /// streams and modules, the length for strings) and the per-key figures the reports need
    /// ([`ValueStats`]), so a key is decoded only once.
    pub fn collect(
        &self,
        record: &Record<'_>,
        ctx: &Context,
        scratch: &mut Scratch,
    ) -> Result<(Collection, ValueStats)> {
        let mut c = Collection::of_record(self, record, Sums::All);
        let (stats, _) = self.collect_into(record, ctx, scratch, &mut c)?;
        Ok((c, stats))
    }

    /// [`Model::collect`] into `c` (empty, made by [`Collection::of_record`]), keeping the
    /// sums it names. The caller owns the collection: returned with the statistics, it was
    /// copied twice more per key. A string's value comes back as read (see [`Priced`]).
    pub(super) fn collect_into<'a>(
        &self,
        record: &Record<'a>,
        ctx: &Context,
        scratch: &mut Scratch,
        c: &mut Collection,
    ) -> Result<(ValueStats, Option<RdbStr<'a>>)> {
        let kind = c.kind;
        let sums = c.sums;
        // A string is read once, not walked; a long LZF one is priced by its declared
        // length: decompressing it was the largest cost of string-heavy dumps.
        let string =
            crate::rdb::inspect::string_stats(record, ctx).map_err(|e| e.in_key(&record.key))?;
        if let Some((stats, value)) = string {
            c.push(Member::Plain(match value {
                RdbStr::Raw(bytes) => Scalar::bytes(bytes),
                RdbStr::Int(v) => Scalar::of(Element::Int(v)),
                RdbStr::Lzf { original_len, .. } => Scalar::text(original_len),
            }));
            return Ok((stats, Some(value)));
        }
        if ctx.checksum_vouches
            && let Some(shape) = crate::rdb::inspect::shape_from_headers(record, ctx)
        {
            if kind == KeyType::List {
                c.count_unread(shape.elements);
            }
            let stats = ValueStats {
                key_type: Some(kind),
                shape,
                largest_element: 0,
                element_bytes: 0,
            };
            return Ok((stats, None));
        }
        let keep = !matches!(kind, KeyType::Stream | KeyType::Module);
        let (mut largest, mut total) = (0u64, 0u64);
        let mut add = |[a, b]: [usize; 2]| {
            largest = largest.max(a.max(b) as u64);
            total += (a + b) as u64;
        };
        let reader = MemberReader::new(self, ctx);
        // one visitor per kind of fold, so that an element is not matched against it; a
        // member read is measured, not the item again
        let shape = match (keep, sums) {
            (false, _) => walk_value(record, ctx, scratch, &mut |item| add(item_lens(&item))),
            (true, Sums::Counted) => walk_value(record, ctx, scratch, &mut |item| {
                add(item_lens(&item));
                c.count(&item);
            }),
            (true, _) => walk_value(record, ctx, scratch, &mut |item| {
                let m = reader.read(item);
                add(m.lens());
                c.push(m);
            }),
        }?;
        let stats = ValueStats {
            key_type: Some(kind),
            shape,
            largest_element: largest,
            element_bytes: total,
        };
        Ok((stats, None))
    }

    /// Turns walked items of a dump into [`Member`]s as this release would hold them.
    pub fn member_reader(&self, ctx: &Context) -> impl Fn(ValueItem<'_>) -> Member + use<> {
        let reader = MemberReader::new(self, ctx);
        move |item| reader.read(item)
    }
}

/// The lengths of an item's strings (a member, or a field and its value; 0 for none).
#[inline(always)]
fn item_lens(item: &ValueItem<'_>) -> [usize; 2] {
    match *item {
        ValueItem::Member(e) => [e.len(), 0],
        ValueItem::Scored { member, .. } => [member.len(), 0],
        ValueItem::Field { field, value, .. } => [field.len(), value.len()],
    }
}

/// [`Model::member_reader`]. A score a listpack or ziplist stores as text is that text when
/// the writer spells scores as this release does (formatting doubles was a tenth of
/// `analyze`).
#[derive(Debug, Clone, Copy)]
struct MemberReader {
    generation: Generation,
    same_text: bool,
}

impl MemberReader {
    fn new(model: &Model, ctx: &Context) -> MemberReader {
        let g = model.generation;
        let writer = generation_of(ctx.server, ctx.header.version);
        MemberReader {
            generation: g,
            same_text: score_spelling(writer) == score_spelling(g),
        }
    }

    /// Inlined: the fold reads every element, and what it reads is matched again at once.
    #[inline(always)]
    fn read(self, item: ValueItem<'_>) -> Member {
        match item {
            ValueItem::Member(e) => Member::Plain(Scalar::of(e)),
            ValueItem::Field {
                field,
                value,
                expire_at_ms,
            } => Member::Field {
                field: Scalar::of(field),
                value: Scalar::of(value),
                ttl: expire_at_ms.is_some(),
            },
            ValueItem::Scored { member, score } => {
                let member = Scalar::of(member);
                match (score.stored(), score.value()) {
                    (Some(text), _) if self.same_text => Member::Scored {
                        member,
                        score: Scalar::of(text),
                    },
                    (_, Some(v)) => Member::scored(member, v, self.generation),
                    // a text that is no number, let through on the checksum's word: as stored
                    (text, None) => Member::Scored {
                        member,
                        score: text.map_or(Scalar::text(0), Scalar::of),
                    },
                }
            }
        }
    }
}

/// How a release spells scores in its compact encoding: integers as integers (7.0+), other
/// values in the shortest form (7.2+).
fn score_spelling(g: Generation) -> (bool, bool) {
    (g >= Generation::Redis70, g >= Generation::Redis72)
}

/// Bytes of one listpack entry (encoding, data, back-length).
fn listpack_entry(s: Scalar) -> u64 {
    match s.int {
        Some(v) => collections::listpack_int_entry(v),
        None => collections::listpack_string_entry(s.len),
    }
}

/// Encoding and data bytes of a ziplist entry (`zipTryEncoding`: strings up to 31 bytes
/// that are integers are stored as integers).
fn ziplist_encoded(s: Scalar) -> u64 {
    match s.int.filter(|_| s.len <= 31) {
        Some(0..=12) => 1,
        Some(v) if i8::try_from(v).is_ok() => 2,
        Some(v) if i16::try_from(v).is_ok() => 3,
        Some(v) if (-(1 << 23)..1 << 23).contains(&v) => 4,
        Some(v) if i32::try_from(v).is_ok() => 5,
        Some(_) => 9,
        None => {
            let len = s.len as u64;
            len + match len {
                0..=63 => 1,
                64..=16383 => 2,
                _ => 5,
            }
        }
    }
}

/// A score as `zzlInsertAt` stores it. From Redis 7.0 an integral score within ±2^62 is
/// appended as an integer (`double2ll`, so -0 becomes 0); 6.x formats every score with
/// `d2string` (integers within ±2^52 as digits; `-0`; `inf`; else `%.17g`), 7.0 the others
/// with `%.17g` and 7.2+ with the shortest round-trip text (`fpconv_dtoa`, whose spelling of
/// large exponents may differ from Rust's by a byte). The listpack or ziplist stores any
/// text that reads as an integer as one.
#[inline(always)]
fn score_scalar(score: f64, generation: Generation) -> Scalar {
    // The usual score first, in the fold: one `g17_len` admits (not integral, not -0, not
    // infinite) takes the `%.17g` branch of `other_score` whatever the release.
    if generation < Generation::Redis72
        && let Some(len) = ScoreText::g17_len(score)
    {
        return Scalar::text(len);
    }
    other_score(score, generation)
}

/// [`score_scalar`] but for the usual score: kept out of the fold, which inlines the rest.
#[inline(never)]
fn other_score(score: f64, generation: Generation) -> Scalar {
    let integers = generation >= Generation::Redis70;
    let shortest = generation >= Generation::Redis72;
    if score == 0.0 && score.is_sign_negative() && !integers {
        return Scalar::text(2);
    }
    let in_range = if integers {
        score.abs() <= 2f64.powi(62)
    } else {
        score.abs() < 2f64.powi(52)
    };
    // integral: `as i64` is exact within ±2^62, and cheaper than `fract`
    if in_range && score == (score as i64) as f64 {
        let v = score as i64;
        return Scalar {
            len: decimal_len(v),
            int: Some(v),
        };
    }
    if score.is_infinite() {
        return Scalar::text(if score > 0.0 { 3 } else { 4 });
    }
    let text = if shortest {
        ScoreText::shortest(score)
    } else {
        ScoreText::g17(score)
    };
    // a text that reads as an integer (2^53 printed in full) is stored as one
    Scalar::bytes(text.as_bytes())
}

/// One node of a quicklist, as [`Model::quicklist_cost`] prices it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuicklistNode {
    /// A listpack (ziplist before 7.0) of this many bytes.
    Packed(u64),
    /// One large element stored on its own (7.0+ `PLAIN` node).
    Plain(u64),
    /// A node LZF-compressed to this many bytes (`list-compress-depth`).
    Compressed(u64),
}

impl Model {
    /// The compact encoding of hashes and sorted sets on this release.
    pub fn compact_encoding(&self) -> Encoding {
        if self.generation <= Generation::Redis62 {
            Encoding::Ziplist
        } else {
            Encoding::Listpack
        }
    }

    /// What the key would cost with its elements in `encoding` (key part included), or
    /// `None` if this release cannot hold them that way.
    pub fn cost(&self, c: &Collection, encoding: Encoding) -> Option<Estimate> {
        let (value, certainty) = self.collection_value(c, encoding, None)?;
        Some(self.finish(c.key_len, c.has_expire, value, certainty, encoding))
    }

    /// `memory_bytes` of [`Model::cost`] in the compact encoding of a hash of `times` copies
    /// of one field and value (no TTLs), in closed form: the advisor prices one for every
    /// tiny string key, and building the collection and pricing it generically was most of
    /// that.
    pub fn repeated_field_cost(
        &self,
        key_len: usize,
        field: Scalar,
        value: Scalar,
        times: u64,
    ) -> u64 {
        let g = self.generation;
        let blob = if g <= Generation::Redis62 {
            // a ziplist: from the second pair on, each adds the same (the field's prevlen is
            // that of the value before it)
            let mut t = Sizes::default();
            t.entry(g, field);
            t.entry(g, value);
            let first = t.compact;
            t.entry(g, field);
            t.entry(g, value);
            let entries = match times {
                0 => 0,
                _ => first + (t.compact - first) * (times - 1),
            };
            self.blob(10 + entries + 1)
        } else {
            let pair = listpack_entry(field) + listpack_entry(value);
            self.usable(collections::listpack_bytes(pair * times))
        };
        self.value_object(key_len, false) + blob + self.key_memory(key_len)
    }

    /// What a string key would cost with a `len`-byte value held as `encoding` (`Int`,
    /// `Embstr`, `Raw`).
    pub fn string_cost(
        &self,
        key_len: usize,
        has_expire: bool,
        len: usize,
        encoding: Encoding,
    ) -> Estimate {
        let value = self.string_value(key_len, has_expire, len, encoding);
        self.finish(key_len, has_expire, value, Certainty::Exact, encoding)
    }

    /// What a list key would cost as a quicklist of these nodes.
    pub fn quicklist_cost(
        &self,
        key_len: usize,
        has_expire: bool,
        nodes: &[QuicklistNode],
    ) -> Estimate {
        let value = self.quicklist_value(key_len, has_expire, nodes);
        self.finish(
            key_len,
            has_expire,
            value,
            Certainty::Exact,
            Encoding::Quicklist,
        )
    }

    /// What the key's name costs on its own: the key sds and dict entry (Redis, Valkey 8.0),
    /// or the name embedded in the value object (Valkey 8.1+, for a value not embedded).
    pub fn key_name_cost(&self, key_len: usize, has_expire: bool) -> u64 {
        if self.generation.is_valkey_hashtable() {
            let obj = valkey::object(self.allocator, key_len, has_expire, None, 16);
            obj - self.usable(ROBJ)
        } else {
            self.key_part(key_len)
        }
    }

    /// What a key saves with its name cut from `key_len` to `shorter` bytes:
    /// `key_name_cost(key_len) - key_name_cost(shorter)`, or 0, priced once per key by the
    /// advisor (the dict entry and object header of both cancel).
    pub fn key_name_saving(&self, key_len: usize, shorter: usize, has_expire: bool) -> u64 {
        if shorter >= key_len {
            return 0;
        }
        if self.generation.is_valkey_hashtable() {
            let obj = |len| valkey::object(self.allocator, len, has_expire, None, 16);
            obj(key_len).saturating_sub(obj(shorter))
        } else {
            self.sds(key_len).saturating_sub(self.sds(shorter))
        }
    }

    /// The value part of a collection in `encoding`: the dump's blob size for the key's own
    /// compact encoding (`blob`), else the size computed from the elements.
    pub(super) fn collection_value(
        &self,
        c: &Collection,
        encoding: Encoding,
        blob: Option<u64>,
    ) -> Option<(u64, Certainty)> {
        let g = self.generation;
        debug_assert_eq!(
            (c.generation, c.allocator),
            (self.generation, self.allocator),
            "a collection is priced by the model that summed it"
        );
        let summed = match c.sums {
            Sums::All => true,
            Sums::Compact => matches!(
                encoding,
                Encoding::Listpack | Encoding::ListpackEx | Encoding::Ziplist | Encoding::Intset
            ),
            Sums::ShortFields | Sums::Counted => false,
        };
        if !summed && blob.is_none() {
            return None;
        }
        let t = &c.sizes;
        let n = c.len();
        let mut certainty = Certainty::Exact;
        let kind = c.kind;
        let valkey = g.is_valkey_hashtable();
        let obj = || self.value_object(c.key_len, c.has_expire);
        let value = match (kind, encoding) {
            (KeyType::Set, Encoding::Intset) => {
                let bytes = blob.or_else(|| c.intset_bytes())?;
                obj() + self.blob(bytes)
            }
            (KeyType::Set | KeyType::Hash | KeyType::Zset | KeyType::List, Encoding::Listpack) => {
                let available = match kind {
                    KeyType::Set | KeyType::List => g >= Generation::Redis72,
                    _ => g >= Generation::Redis70,
                };
                if !available {
                    return None;
                }
                let with_ttl = kind == KeyType::Hash && c.ttl_fields > 0;
                if with_ttl && g != Generation::Redis74 && g != Generation::Redis8 {
                    return None;
                }
                let bytes = blob.unwrap_or_else(|| c.listpack_bytes(with_ttl));
                let ex = if with_ttl { self.usable(32) } else { 0 };
                obj() + ex + self.usable(bytes)
            }
            (KeyType::Hash, Encoding::ListpackEx) => {
                if g != Generation::Redis74 && g != Generation::Redis8 {
                    return None;
                }
                let bytes = blob.unwrap_or_else(|| c.listpack_bytes(true));
                obj() + self.usable(32) + self.usable(bytes)
            }
            (KeyType::Hash | KeyType::Zset, Encoding::Ziplist) => {
                if g > Generation::Redis62 && blob.is_none() {
                    return None;
                }
                obj() + self.blob(blob.unwrap_or_else(|| c.ziplist_bytes()))
            }
            (KeyType::Set, Encoding::Hashtable) if valkey => {
                if valkey::has_random_children(n) {
                    certainty = Certainty::Expected;
                }
                obj() + self.valkey_table(g, n, 1, false) + t.elements
            }
            (KeyType::Hash, Encoding::Hashtable) if valkey => {
                if valkey::has_random_children(n) {
                    certainty = Certainty::Expected;
                }
                let v9 = g == Generation::Valkey9;
                let vset = if v9 {
                    valkey::volatile_set(self.allocator, c.ttl_fields)
                } else {
                    0
                };
                obj() + self.valkey_table(g, n, 1, v9) + t.elements + vset
            }
            (KeyType::Zset, Encoding::Skiplist) if valkey => {
                certainty = Certainty::Expected;
                let nodes = if g == Generation::Valkey9 {
                    t.valkey9_nodes
                } else {
                    t.elements as f64
                        + collections::skiplist_node_expected(self.allocator) * n as f64
                };
                let fixed = if g == Generation::Valkey9 {
                    valkey::SKIPLIST_FIXED_9
                } else {
                    ZSET + ZSKIPLIST + collections::skiplist_header(self.allocator)
                };
                obj() + fixed + self.valkey_table(g, n, 2, false) + nodes.round() as u64
            }
            (KeyType::Set, Encoding::Hashtable) => {
                ROBJ + self.dict(c, &mut certainty) + n * DICT_ENTRY + t.elements
            }
            (KeyType::Hash, Encoding::Hashtable) => {
                ROBJ + self.dict(c, &mut certainty) + n * DICT_ENTRY + t.elements + t.value_sds
            }
            (KeyType::Zset, Encoding::Skiplist) => {
                certainty = Certainty::Expected;
                let node = collections::skiplist_node_expected(self.allocator);
                ROBJ + ZSET
                    + ZSKIPLIST
                    + self.dict(c, &mut certainty)
                    + collections::skiplist_header(self.allocator)
                    + t.elements
                    + n * DICT_ENTRY
                    + (node * n as f64).round() as u64
            }
            _ => return None,
        };
        Some((value, certainty))
    }

    /// The object of a collection value (Valkey 8.1+: with the key embedded).
    fn value_object(&self, key_len: usize, has_expire: bool) -> u64 {
        if self.generation.is_valkey_hashtable() {
            valkey::object(self.allocator, key_len, has_expire, None, 16)
        } else {
            ROBJ
        }
    }

    /// `hashtableMemUsage` of a Valkey 8.1+ value table.
    fn valkey_table(&self, g: Generation, n: u64, steps: u64, hash_metadata: bool) -> u64 {
        let mut header = if g == Generation::Valkey9 {
            valkey::HASHTABLE_9
        } else {
            valkey::HASHTABLE_81
        };
        if hash_metadata {
            header += valkey::HASH_METADATA_9;
        }
        let presize = (self.origin == Origin::Loaded).then_some(n);
        valkey::hashtable_usage(header, n, presize, steps).0
    }

    /// The value part of a string key (Valkey 8.1+: the object with the key embedded).
    pub(super) fn string_value(
        &self,
        key_len: usize,
        has_expire: bool,
        len: usize,
        encoding: Encoding,
    ) -> u64 {
        let a = self.allocator;
        if self.generation.is_valkey_hashtable() {
            let base = if self.generation == Generation::Valkey9 {
                8
            } else {
                16
            };
            return match encoding {
                Encoding::Int => valkey::object(a, key_len, has_expire, None, base),
                Encoding::Embstr => valkey::object(a, key_len, has_expire, Some(len), base),
                _ => valkey::object(a, key_len, has_expire, None, base) + valkey::sds_alloc(a, len),
            };
        }
        let form = match encoding {
            Encoding::Int => StringForm::Int,
            Encoding::Embstr => StringForm::Embstr,
            _ => StringForm::Raw,
        };
        strings::string_value(self.generation, a, form, len)
    }

    /// The value part of a quicklist: robj, quicklist struct and each node.
    pub(super) fn quicklist_value(
        &self,
        key_len: usize,
        has_expire: bool,
        nodes: &[QuicklistNode],
    ) -> u64 {
        let obj = self.value_object(key_len, has_expire);
        let node_struct = self.generation.structs().quicklist_node;
        let old = self.generation.counts_blob_lengths();
        let nodes: u64 = nodes
            .iter()
            .map(|node| {
                node_struct
                    + match *node {
                        QuicklistNode::Packed(bytes) | QuicklistNode::Plain(bytes) => {
                            self.blob(bytes)
                        }
                        // 6.2 counts the compressed length alone; 7.0+ the quicklistLZF
                        // allocation (8-byte header + data)
                        QuicklistNode::Compressed(bytes) if old => bytes,
                        QuicklistNode::Compressed(bytes) => self.usable(8 + bytes),
                    }
            })
            .sum();
        obj + QUICKLIST + nodes
    }

    /// Quicklist nodes as the dump stores them.
    pub(super) fn dump_nodes(nodes: &[ListNode]) -> Vec<QuicklistNode> {
        nodes
            .iter()
            .map(|n| match n.container {
                1 => QuicklistNode::Plain(n.bytes),
                _ => QuicklistNode::Packed(n.bytes),
            })
            .collect()
    }

    /// The key's part of `memory_bytes` (none on Valkey 8.1+: embedded in the value object).
    fn key_memory(&self, key_len: usize) -> u64 {
        if self.generation.is_valkey_hashtable() {
            0
        } else {
            self.key_part(key_len)
        }
    }

    /// Adds the key part and the per-key overhead to a value part.
    pub(super) fn finish(
        &self,
        key_len: usize,
        has_expire: bool,
        value: u64,
        certainty: Certainty,
        encoding: Encoding,
    ) -> Estimate {
        Estimate {
            memory_bytes: value + self.key_memory(key_len),
            overhead_bytes: self.overhead(has_expire),
            certainty: self.certainty(certainty),
            encoding: Some(encoding),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Allocator;
    use crate::rdb::{Entry, Records};

    /// Every set, hash and sorted set of every fixture: pricing its elements in the key's own
    /// encoding (compact sizes computed from the elements, not read from the dump) gives
    /// the estimate.
    /// Calls `check` with every key record of each fixture, its model (jemalloc) and
    /// context, and the fixture's name.
    fn each_fixture_key(
        fixtures: &[&str],
        mut check: impl FnMut(&str, &Model, &Context, &mut Scratch, &Record<'_>),
    ) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        for fixture in fixtures {
            let data = std::fs::read(root.join(fixture).join("dump.rdb")).unwrap();
            let ctx = Context::for_dump(&data).unwrap();
            let model = Model::for_context(&ctx, Allocator::Jemalloc);
            let mut scratch = Scratch::default();
            for entry in Records::new(&data).unwrap() {
                if let Entry::Key(record) = entry.unwrap() {
                    check(fixture, &model, &ctx, &mut scratch, &record);
                }
            }
        }
    }

    #[test]
    fn cost_of_the_actual_encoding_is_the_estimate() {
        let fixtures = [
            "redis-6.0",
            "redis-7.0",
            "redis-stack-7.4",
            "valkey-8.1",
            "valkey-9.1",
        ];
        let mut checked = 0;
        each_fixture_key(&fixtures, |fixture, model, ctx, scratch, record| {
            if !matches!(
                record.value_type.key_type(),
                KeyType::Set | KeyType::Hash | KeyType::Zset
            ) {
                return;
            }
            let est = model.estimate(record, ctx, scratch).unwrap();
            let (c, stats) = model.collect(record, ctx, scratch).unwrap();
            let encoding = stats.shape.encoding.unwrap();
            let cost = model.cost(&c, encoding).unwrap();
            assert_eq!(
                cost.memory_bytes,
                est.memory_bytes,
                "{fixture} {} {encoding:?}",
                crate::rdb::escape_key(&record.key)
            );
            checked += 1;
        });
        assert!(checked > 500, "{checked}");
    }

    /// What `Model::price` hands the advisor for a value priced from its blob agrees with the
    /// full fold where the advisor reads it: the count, whether a set is all integers (and
    /// its intset size), and a hash's shorter-field-names price; a value that was only
    /// counted (or summed for its compact encoding) cannot be priced in another encoding by
    /// mistake.
    #[test]
    fn blob_priced_values_keep_what_the_advisor_reads() {
        let fixtures = ["redis-6.0", "redis-7.0", "redis-stack-7.4", "valkey-9.1"];
        let mut checked = 0;
        each_fixture_key(&fixtures, |fixture, model, ctx, scratch, record| {
            let mut priced = Collection::new(model, KeyType::String, 0, false);
            let priced_stats = model
                .price(record, ctx, scratch, &mut priced)
                .unwrap()
                .stats;
            let (full, stats) = model.collect(record, ctx, scratch).unwrap();
            let key = crate::rdb::escape_key(&record.key);
            // every fold measures the elements as reading them does
            let read = crate::rdb::inspect::inspect(record, ctx, scratch).unwrap();
            assert_eq!(stats, read, "{fixture} {key}");
            assert_eq!(priced_stats, read, "{fixture} {key}");
            assert_eq!(priced.len(), full.len(), "{fixture} {key}");
            assert_eq!(
                priced.intset_bytes(),
                full.intset_bytes(),
                "{fixture} {key}"
            );
            let compact = model.compact_encoding();
            let counted = priced.sums == Sums::Counted;
            assert_eq!(
                model.cost(&priced.with_short_fields(), compact),
                model
                    .cost(&full.with_short_fields(), compact)
                    .filter(|_| !counted),
                "{fixture} {key}"
            );
            if priced.sums == Sums::ShortFields {
                // summed for its compact encoding only
                let short = priced.with_short_fields();
                assert_eq!(
                    model.cost(&short, Encoding::Hashtable),
                    None,
                    "{fixture} {key}"
                );
            }
            if counted {
                let enc = stats.shape.encoding.unwrap();
                assert_eq!(model.cost(&priced, enc), None, "{fixture} {key}");
                checked += 1;
            }
        });
        assert!(checked > 50, "{checked}");
    }

    /// The fixtures hold `hash:512` (listpack) and `hash:513` (hashtable), built alike. The
    /// 512-field listpack priced as a hashtable is what the server reported for the
    /// 513-field hashtable minus one field's entry, key and value.
    #[test]
    fn listpack_hash_priced_as_hashtable_matches_the_servers_hashtable() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let data = std::fs::read(root.join("redis-7.0").join("dump.rdb")).unwrap();
        let ctx = Context::for_dump(&data).unwrap();
        let model = Model::for_context(&ctx, Allocator::JemallocQuantum16);
        let mut scratch = Scratch::default();
        let mut found = std::collections::HashMap::new();
        let mut last_field = (0, 0);
        for entry in Records::new(&data).unwrap() {
            let Entry::Key(record) = entry.unwrap() else {
                continue;
            };
            if record.db == 0 && (&record.key[..] == b"hash:512" || &record.key[..] == b"hash:513")
            {
                let (c, stats) = model.collect(&record, &ctx, &mut scratch).unwrap();
                let shape = stats.shape;
                found.insert(record.key.to_vec(), (c, shape.encoding.unwrap()));
                walk_value(&record, &ctx, &mut scratch, &mut |item| {
                    if let ValueItem::Field { field, value, .. } = item
                        && &record.key[..] == b"hash:513"
                    {
                        last_field = (field.len(), value.len());
                    }
                })
                .unwrap();
            }
        }
        let (small, small_enc) = &found[&b"hash:512".to_vec()];
        let (big, big_enc) = &found[&b"hash:513".to_vec()];
        assert_eq!(
            (*small_enc, *big_enc),
            (Encoding::Listpack, Encoding::Hashtable)
        );
        // MEMORY USAGE of hash:513 on the Debian server that wrote the fixture
        let truth_513 = 32_928;
        let as_table = model.cost(small, Encoding::Hashtable).unwrap().memory_bytes;
        let big_cost = model.cost(big, Encoding::Hashtable).unwrap().memory_bytes;
        assert_eq!(big_cost, truth_513);
        // built alike, hash:513's last field is the one hash:512 lacks
        let one_field = DICT_ENTRY + model.sds(last_field.0) + model.sds(last_field.1);
        assert_eq!(as_table, truth_513 - one_field);
        // and back: the hashtable as a listpack is far smaller
        let as_listpack = model.cost(big, Encoding::Listpack).unwrap().memory_bytes;
        assert!(as_listpack < as_table / 2, "{as_listpack} vs {as_table}");
    }

    /// Every release and allocator, in and out of cluster mode.
    fn every_model() -> impl Iterator<Item = Model> {
        let generations = [
            Generation::Redis60,
            Generation::Redis62,
            Generation::Redis70,
            Generation::Redis72,
            Generation::Redis74,
            Generation::Redis8,
            Generation::Valkey80,
            Generation::Valkey81,
            Generation::Valkey9,
        ];
        generations.into_iter().flat_map(move |g| {
            Allocator::ALL.into_iter().flat_map(move |a| {
                [false, true].map(|cluster| Model {
                    cluster,
                    ..Model::new(g, a)
                })
            })
        })
    }

    #[test]
    fn key_name_savings_are_differences_of_costs() {
        let lengths: Vec<usize> = (0..300).chain([1000, 65_535, 65_536, 70_000]).collect();
        let mut saved = 0;
        for m in every_model() {
            let model = (m.generation, m.allocator, m.cluster);
            for has_expire in [false, true] {
                for &len in &lengths {
                    for &shorter in &lengths {
                        let cost = |len| m.key_name_cost(len, has_expire);
                        let expected = cost(len).saturating_sub(cost(shorter));
                        let saving = m.key_name_saving(len, shorter, has_expire);
                        assert_eq!(saving, expected, "{model:?} {len} {shorter}");
                        saved += usize::from(saving > 0);
                    }
                }
            }
        }
        assert!(saved > 100_000, "{saved}");
    }

    #[test]
    fn strings_keys_and_lists() {
        let m = Model::new(Generation::Redis72, Allocator::Jemalloc);
        // "12345" as an integer, key "k1": the worked example (48); as text J(16+3+5+1)
        assert_eq!(m.string_cost(2, false, 5, Encoding::Int).memory_bytes, 48);
        assert_eq!(
            m.string_cost(2, false, 5, Encoding::Embstr).memory_bytes,
            64
        );
        // a 40-byte key name costs J(3+40+1) + 24; a 10-byte one J(12) + 24
        assert_eq!(m.key_name_cost(40, false), 48 + 24);
        assert_eq!(m.key_name_cost(10, false), 16 + 24);
        // two 8 KiB nodes, the second compressed to 2 KiB
        let plain = m.quicklist_cost(4, false, &[QuicklistNode::Packed(8000); 2]);
        let lzf = m.quicklist_cost(
            4,
            false,
            &[QuicklistNode::Packed(8000), QuicklistNode::Compressed(2000)],
        );
        assert_eq!(plain.memory_bytes - lzf.memory_bytes, 8192 - 2048);
        // a JSON object's 3 fields as a listpack hash: 7 + (1+4+1)+(1+5+1) ... per pair
        let json = Collection::hash(
            &m,
            8,
            false,
            [
                (Scalar::bytes(b"name"), Scalar::bytes(b"alice")),
                (Scalar::bytes(b"age"), Scalar::bytes(b"31")),
                (Scalar::bytes(b"city"), Scalar::bytes(b"Paris")),
            ],
        );
        assert_eq!(json.listpack_bytes(false), 7 + (6 + 7) + (5 + 2) + (6 + 7));
        let lp = m.cost(&json, Encoding::Listpack).unwrap();
        assert_eq!(lp.memory_bytes, 16 + 24 + 16 + 40);
        assert!(m.cost(&json, Encoding::Intset).is_none());
    }

    #[test]
    fn repeated_fields_priced_as_pushed_one_by_one() {
        let text = Scalar::text;
        let int = |v: i64| Scalar::of(Element::Int(v));
        let mut checked = 0;
        for m in every_model() {
            let model = (m.generation, m.allocator, m.cluster);
            // short entries, integers, and entries past the ziplist's 254-byte prevlen step
            for (field, value) in [
                (text(3), text(10)),
                (text(300), text(5)),
                (text(2), text(600)),
                (int(7), int(-70_000)),
                (int(1 << 40), text(250)),
                (text(1), int(12)),
                (text(0), text(64)),
            ] {
                for key_len in [1, 17, 44, 300] {
                    let mut hash = Collection::new(&m, KeyType::Hash, key_len, false);
                    for times in 0..=600 {
                        let cost = m.cost(&hash, m.compact_encoding()).unwrap();
                        assert_eq!(
                            m.repeated_field_cost(key_len, field, value, times),
                            cost.memory_bytes,
                            "{model:?} {field:?} {value:?} {key_len} x{times}"
                        );
                        hash.push(Member::Field {
                            field,
                            value,
                            ttl: false,
                        });
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 9 * 3 * 2 * 7 * 4 * 601);
    }

    #[test]
    fn scores_as_servers_print_them() {
        assert_eq!(score_scalar(0.1, Generation::Redis72), Scalar::text(3));
        assert_eq!(score_scalar(0.1, Generation::Redis70), Scalar::text(19));
        assert_eq!(score_scalar(-0.0, Generation::Redis62), Scalar::text(2));
        assert_eq!(score_scalar(-0.0, Generation::Redis70).int, Some(0));
        // 2^53 is printed in full by 6.x and then stored as an integer
        assert_eq!(
            score_scalar(2f64.powi(53), Generation::Redis62).int,
            Some(1 << 53)
        );
    }

    /// Before 7.2 a score that is not integral is stored as its `%.17g` text, whichever
    /// branch of `score_scalar` prices it.
    #[test]
    fn scores_priced_as_their_g17_text() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut checked = 0;
        for i in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let v = match i % 4 {
                0 => f64::from_bits(seed),
                1 => (seed >> 11) as f64 / (1u64 << (seed % 60)) as f64,
                2 => (seed % 100_000) as f64 / 100.0 - 500.0,
                _ => (seed >> 12) as f64 * 1e-20,
            };
            if !v.is_finite() || v.fract() == 0.0 {
                continue;
            }
            for g in [Generation::Redis62, Generation::Redis70] {
                let text = ScoreText::g17(v);
                assert_eq!(score_scalar(v, g), Scalar::bytes(text.as_bytes()), "{v:e}");
                checked += 1;
            }
        }
        assert!(checked > 20_000, "{checked}");
    }

    #[test]
    fn intsets_and_ziplists() {
        let m62 = Model::new(Generation::Redis62, Allocator::Jemalloc);
        let set = |members: &[i64]| {
            let mut c = Collection::new(&m62, KeyType::Set, 3, false);
            for &v in members {
                c.push(Member::Plain(Scalar::of(Element::Int(v))));
            }
            c
        };
        assert_eq!(set(&[1, 2, 3]).intset_bytes(), Some(8 + 6));
        assert_eq!(set(&[1, 70_000]).intset_bytes(), Some(8 + 8));
        assert_eq!(set(&[1, i64::MAX]).intset_bytes(), Some(8 + 16));
        let mut zset = Collection::new(&m62, KeyType::Zset, 1, false);
        zset.push(Member::scored(
            Scalar::bytes(b"a"),
            1.0,
            Generation::Redis62,
        ));
        // header 10 + end 1 + "a" (1 + 1 + 1) + 1 (1 + 1)
        assert_eq!(zset.ziplist_bytes(), 11 + 3 + 2);
        assert_eq!(m62.compact_encoding(), Encoding::Ziplist);
        assert!(m62.cost(&zset, Encoding::Listpack).is_none());
        assert_eq!(
            m62.cost(&zset, Encoding::Ziplist).unwrap().memory_bytes,
            16 + 16 + 8 + 24
        );
    }
}
