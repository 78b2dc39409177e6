//! Entry point: parse arguments, run the subcommand, map errors to exit codes
//! (0 ok, 1 bad input or I/O, 2 usage).

mod cli;

use clap::Parser;

use cli::{Cli, Command, InfoFormat, TypeArg};
use rdbscope::analyze::{Filter, Glob};
use rdbscope::commands;
use rdbscope::rdb::KeyType;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info {
            dump,
            format,
            threads,
        } => {
            let format = match format {
                InfoFormat::Table => commands::info::Format::Table,
                InfoFormat::Json => commands::info::Format::Json,
            };
            commands::info::run(&dump, format, threads)
        }
        Command::Keys {
            dump,
            output,
            dbs,
            types,
            pattern,
            threads,
        } => {
            let filter = Filter {
                dbs,
                types: types.into_iter().map(key_type).collect(),
                pattern: pattern.as_deref().map(Glob::new),
            };
            commands::keys::run(&dump, output.as_deref(), &filter, threads)
        }
    };
    if let Err(e) = result {
        if rdbscope::report::output::is_broken_pipe(&e) {
            std::process::exit(0);
        }
        eprintln!("rdbscope: {e}");
        std::process::exit(e.exit_code());
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
