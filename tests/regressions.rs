//! Every input a fuzz target once failed on, replayed through the target's own checks
//! (`fuzz/checks.rs`): `tests/regressions/TARGET/NAME`, one file per input. The fuzzers
//! themselves are not part of this build; see `fuzz/README.md`.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::Path;

#[test]
fn fuzz_findings_stay_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut replayed = 0;
    for target in std::fs::read_dir(&root).expect("tests/regressions exists") {
        let target = target.unwrap().path();
        if !target.is_dir() {
            continue; // README.md
        }
        let name = target.file_name().unwrap().to_string_lossy().into_owned();
        let check: fn(&[u8]) = match name.as_str() {
            "splitter" => checks::splitter,
            "dump" => checks::dump,
            "ziplist" => checks::ziplist,
            "listpack" => checks::listpack,
            "intset" => checks::intset,
            "zipmap" => checks::zipmap,
            "lzf" => checks::lzf,
            "stream" => checks::stream,
            "module" => checks::module,
            _ => panic!("{}: no fuzz target of that name", target.display()),
        };
        for input in std::fs::read_dir(&target).unwrap() {
            let input = input.unwrap().path();
            let data = std::fs::read(&input).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} fails again", input.display());
            replayed += 1;
        }
    }
    eprintln!("{replayed} fuzz findings replayed");
}
