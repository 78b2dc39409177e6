//! Object type bytes, the logical types they hold, and encoding names.

use super::error::{Error, ErrorKind, Result};
use super::header::{Header, Magic};

/// How a value is laid out in the file: one variant per type byte (rdb-format.md §4), with
/// the fork ambiguity of byte 22/23 already resolved from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    String,
    ListLinked,
    SetHashtable,
    ZsetText,
    Hash,
    Zset2,
    Module2,
    HashZipmap,
    ListZiplist,
    SetIntset,
    ZsetZiplist,
    HashZiplist,
    ListQuicklist,
    /// Stream listpacks, format 1 (types 15), 2 (19), 3 (21), 4 (26).
    Stream(u8),
    HashListpack,
    ZsetListpack,
    ListQuicklist2,
    SetListpack,
    /// Redis 7.4 release candidates' hash with field TTLs (type 22 under REDIS0012).
    HashMetadataPreGa,
    /// Redis 7.4 release candidates' listpack with TTLs (type 23 under REDIS0012).
    HashListpackExPreGa,
    HashMetadata,
    HashListpackEx,
    /// Valkey 9's hashtable hash with per-field expiry (type 22 under VALKEY080).
    ValkeyHash2,
}

impl ValueType {
    /// Resolves a type byte, or `None` if the byte is not an object type in this format
    /// (the caller then treats it as an opcode or an error).
    pub fn from_byte(byte: u8, header: &Header) -> Option<ValueType> {
        use ValueType::*;
        Some(match byte {
            0 => String,
            1 => ListLinked,
            2 => SetHashtable,
            3 => ZsetText,
            4 => Hash,
            5 => Zset2,
            7 => Module2,
            9 => HashZipmap,
            10 => ListZiplist,
            11 => SetIntset,
            12 => ZsetZiplist,
            13 => HashZiplist,
            14 => ListQuicklist,
            15 => Stream(1),
            16 => HashListpack,
            17 => ZsetListpack,
            18 => ListQuicklist2,
            19 => Stream(2),
            20 => SetListpack,
            21 => Stream(3),
            22 if header.magic == Magic::Valkey => ValkeyHash2,
            22 => HashMetadataPreGa,
            23 if header.magic == Magic::Redis => HashListpackExPreGa,
            24 if header.magic == Magic::Redis => HashMetadata,
            25 if header.magic == Magic::Redis => HashListpackEx,
            26 if header.magic == Magic::Redis => Stream(4),
            _ => return None,
        })
    }

    /// The type byte that selects this layout: the inverse of `from_byte`.
    pub fn byte(self) -> u8 {
        use ValueType::*;
        match self {
            String => 0,
            ListLinked => 1,
            SetHashtable => 2,
            ZsetText => 3,
            Hash => 4,
            Zset2 => 5,
            Module2 => 7,
            HashZipmap => 9,
            ListZiplist => 10,
            SetIntset => 11,
            ZsetZiplist => 12,
            HashZiplist => 13,
            ListQuicklist => 14,
            Stream(1) => 15,
            Stream(2) => 19,
            Stream(3) => 21,
            Stream(_) => 26,
            HashListpack => 16,
            ZsetListpack => 17,
            ListQuicklist2 => 18,
            SetListpack => 20,
            HashMetadataPreGa | ValkeyHash2 => 22,
            HashListpackExPreGa => 23,
            HashMetadata => 24,
            HashListpackEx => 25,
        }
    }

    /// Hash layouts that carry an expiry per field (Redis 7.4, Valkey 9).
    pub fn has_field_ttls(self) -> bool {
        use ValueType::*;
        matches!(
            self,
            HashMetadata | HashMetadataPreGa | HashListpackEx | HashListpackExPreGa | ValkeyHash2
        )
    }

    /// Type 6 is a real type whose values cannot be skipped; say so rather than "unknown".
    pub fn unsupported_error(byte: u8, offset: u64) -> Error {
        if byte == 6 {
            Error::new(offset, ErrorKind::UnframedModule("pre-GA module".into()))
        } else {
            Error::new(offset, ErrorKind::UnknownType(byte))
        }
    }

    pub fn key_type(self) -> KeyType {
        use ValueType::*;
        match self {
            String => KeyType::String,
            ListLinked | ListZiplist | ListQuicklist | ListQuicklist2 => KeyType::List,
            SetHashtable | SetIntset | SetListpack => KeyType::Set,
            ZsetText | Zset2 | ZsetZiplist | ZsetListpack => KeyType::Zset,
            Hash | HashZipmap | HashZiplist | HashListpack | HashMetadataPreGa
            | HashListpackExPreGa | HashMetadata | HashListpackEx | ValkeyHash2 => KeyType::Hash,
            Stream(_) => KeyType::Stream,
            Module2 => KeyType::Module,
        }
    }
}

/// The logical type, as `TYPE` reports it (modules report their own name; see `inspect`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    String,
    List,
    Set,
    Zset,
    Hash,
    Stream,
    Module,
}

impl KeyType {
    pub const ALL: [KeyType; 7] = [
        KeyType::String,
        KeyType::List,
        KeyType::Set,
        KeyType::Zset,
        KeyType::Hash,
        KeyType::Stream,
        KeyType::Module,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::String => "string",
            KeyType::List => "list",
            KeyType::Set => "set",
            KeyType::Zset => "zset",
            KeyType::Hash => "hash",
            KeyType::Stream => "stream",
            KeyType::Module => "module",
        }
    }

    pub fn parse(name: &str) -> Option<KeyType> {
        KeyType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// The in-memory encoding the server held, named as `OBJECT ENCODING` reports it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Int,
    Embstr,
    Raw,
    Listpack,
    ListpackEx,
    Ziplist,
    Quicklist,
    Intset,
    Hashtable,
    Skiplist,
    Linkedlist,
    Zipmap,
    Stream,
}

impl Encoding {
    pub const ALL: [Encoding; 13] = [
        Encoding::Int,
        Encoding::Embstr,
        Encoding::Raw,
        Encoding::Listpack,
        Encoding::ListpackEx,
        Encoding::Ziplist,
        Encoding::Quicklist,
        Encoding::Intset,
        Encoding::Hashtable,
        Encoding::Skiplist,
        Encoding::Linkedlist,
        Encoding::Zipmap,
        Encoding::Stream,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Int => "int",
            Encoding::Embstr => "embstr",
            Encoding::Raw => "raw",
            Encoding::Listpack => "listpack",
            Encoding::ListpackEx => "listpackex",
            Encoding::Ziplist => "ziplist",
            Encoding::Quicklist => "quicklist",
            Encoding::Intset => "intset",
            Encoding::Hashtable => "hashtable",
            Encoding::Skiplist => "skiplist",
            Encoding::Linkedlist => "linkedlist",
            Encoding::Zipmap => "zipmap",
            Encoding::Stream => "stream",
        }
    }
}

/// Looks up a value type for a byte or fails with the right error.
pub fn value_type(byte: u8, header: &Header, offset: u64) -> Result<ValueType> {
    ValueType::from_byte(byte, header).ok_or_else(|| ValueType::unsupported_error(byte, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_inverts_from_byte() {
        for header in ["REDIS0012", "REDIS0013", "VALKEY080"] {
            let header = Header::parse(header.as_bytes()).unwrap();
            for byte in 0..=255u8 {
                if let Some(t) = ValueType::from_byte(byte, &header) {
                    assert_eq!(t.byte(), byte, "{t:?}");
                }
            }
        }
    }
}
