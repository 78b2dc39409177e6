//! Module values, MODULE_AUX and KEY_META payloads: the opcode framing of rdb-format.md §4.6,
//! which lets a parser skip a module's data without the module.

use super::cursor::Cursor;
use super::error::{ErrorKind, Result};

/// The 64 symbols a module type name is spelled with (module.c's charset).
const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A module type id: a 9-character name and the module's encoding version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleId {
    pub name: String,
    pub encver: u16,
}

impl ModuleId {
    pub fn decode(id: u64) -> ModuleId {
        let name = (0..9)
            .map(|i| CHARSET[((id >> (58 - 6 * i)) & 63) as usize] as char)
            .collect();
        ModuleId {
            name,
            encver: (id & 1023) as u16,
        }
    }
}

/// Walks one framed module value up to and including its `len(0)` terminator and returns the
/// number of framed items it held.
pub fn skip_framed(c: &mut Cursor<'_>) -> Result<u64> {
    let mut items = 0u64;
    loop {
        let at = c.offset();
        match c.rdb_len("module opcode")? {
            0 => return Ok(items),
            1 | 2 => {
                c.rdb_len("module integer")?;
            }
            3 => c.skip(4, "module float")?,
            4 => c.skip(8, "module double")?,
            5 => c.skip_rdb_string("module string")?,
            op => return Err(super::error::Error::new(at, ErrorKind::BadModuleOpcode(op))),
        }
        items += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes a name the way `moduleTypeEncodeId` does, to check decoding inverts it.
    fn encode(name: &str, encver: u64) -> u64 {
        let mut id = 0u64;
        for ch in name.bytes() {
            id = (id << 6) | CHARSET.iter().position(|&c| c == ch).unwrap() as u64;
        }
        (id << 10) | encver
    }

    #[test]
    fn decodes_module_names() {
        let id = ModuleId::decode(encode("ReJSON-RL", 3));
        assert_eq!(
            id,
            ModuleId {
                name: "ReJSON-RL".into(),
                encver: 3
            }
        );
        assert_eq!(ModuleId::decode(encode("MBbloom--", 0)).name, "MBbloom--");
    }

    #[test]
    fn walks_every_opcode_and_rejects_unknown_ones() {
        let data = [
            1, 5, 2, 7, 3, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 5, 2, b'h', b'i', 0,
        ];
        let mut c = Cursor::new(&data, 0);
        assert_eq!(skip_framed(&mut c).unwrap(), 5);
        assert!(c.is_empty());
        let e = skip_framed(&mut Cursor::new(&[2, 1, 9], 10)).unwrap_err();
        assert_eq!((e.offset, e.kind), (12, ErrorKind::BadModuleOpcode(9)));
        assert!(skip_framed(&mut Cursor::new(&[2, 1], 0)).is_err());
    }
}
