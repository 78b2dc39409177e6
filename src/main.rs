//! Entry point: parse arguments, run the subcommand, map the outcome to an exit code
//! (0 complete, 1 bad input or I/O, 2 usage, 3 partial: analysed around damage with
//! `--keep-going`).

mod cli;

use clap::Parser;

use cli::{Cli, Command, DumpArgs, InfoFormat, TypeArg};
use rdbscope::analyze::{Filter, Glob};
use rdbscope::commands::{self, Input, ScanOptions};
use rdbscope::input::OpenOptions;
use rdbscope::rdb::KeyType;

/// A `--keep-going` run whose output misses what the damage hid.
const EXIT_PARTIAL: i32 = 3;

fn main() {
    rdbscope::cleanup::install();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info { dump, format } => {
            let format = match format {
                InfoFormat::Table => commands::info::Format::Table,
                InfoFormat::Json => commands::info::Format::Json,
            };
            commands::info::run(&input(dump), format)
        }
        Command::Keys {
            dump,
            output,
            dbs,
            types,
            pattern,
        } => {
            let filter = Filter {
                dbs,
                types: types.into_iter().map(key_type).collect(),
                pattern: pattern.as_deref().map(Glob::new),
            };
            commands::keys::run(&input(dump), output.as_deref(), &filter)
        }
    };
    match result {
        Ok(gaps) if gaps.is_complete() => {}
        Ok(gaps) => {
            for line in gaps.to_string().lines() {
                eprintln!("rdbscope: warning: {line}");
            }
            std::process::exit(EXIT_PARTIAL);
        }
        Err(e) if rdbscope::report::output::is_broken_pipe(&e) => std::process::exit(0),
        Err(e) => {
            eprintln!("rdbscope: {e}");
            std::process::exit(e.exit_code());
        }
    }
}

fn input(args: DumpArgs) -> Input {
    Input {
        path: args.path,
        open: OpenOptions {
            temp_dir: args.temp_dir,
            max_temp_size: args.max_temp_size,
            quiet: args.quiet,
            keep_going: args.keep_going,
        },
        scan: ScanOptions {
            threads: args.threads,
            keep_going: args.keep_going,
        },
    }
}

fn key_type(t: TypeArg) -> KeyType {
    match t {
        TypeArg::String => KeyType::String,
        TypeArg::List => KeyType::List,
        TypeArg::Set => KeyType::Set,
        TypeArg::Zset => KeyType::Zset,
        TypeArg::Hash => KeyType::Hash,
        TypeArg::Stream => KeyType::Stream,
        TypeArg::Module => KeyType::Module,
    }
}
