//! Which server wrote a dump, from its AUX fields: some encodings depend on the release, not
//! just the format version (Valkey 8.1 and 9 embed keys in string objects, for one).

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Redis,
    Valkey,
}

/// A server release, e.g. Redis 7.0.15 or Valkey 9.1.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerVersion {
    pub family: Family,
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl ServerVersion {
    pub fn parse(family: Family, text: &str) -> Option<ServerVersion> {
        let mut parts = text.trim().split('.').map(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        });
        let major = parts.next()??;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some(ServerVersion {
            family,
            major,
            minor,
            patch,
        })
    }

    /// Reads the version from the AUX fields at the head of a dump (`valkey-ver` wins over
    /// `redis-ver`, which Valkey does not write). Stops at the first key, so it costs nothing.
    pub fn from_dump(data: &[u8]) -> Option<ServerVersion> {
        let aux = super::records::head_aux(data);
        let field = |name: &[u8]| {
            aux.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        match field(b"valkey-ver") {
            Some(v) => ServerVersion::parse(Family::Valkey, &v),
            None => ServerVersion::parse(Family::Redis, &field(b"redis-ver")?),
        }
    }

    pub fn at_least(&self, family: Family, major: u32, minor: u32) -> bool {
        self.family == family && (self.major, self.minor) >= (major, minor)
    }
}

impl std::fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.family {
            Family::Redis => "Redis",
            Family::Valkey => "Valkey",
        };
        write!(f, "{name} {}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_strings() {
        let v = ServerVersion::parse(Family::Redis, "7.0.15").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (7, 0, 15));
        let v = ServerVersion::parse(Family::Valkey, "9.1.0-rc1").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (9, 1, 0));
        assert!(v.at_least(Family::Valkey, 8, 1));
        assert!(!v.at_least(Family::Redis, 8, 1));
        assert_eq!(ServerVersion::parse(Family::Redis, "x"), None);
    }
}
