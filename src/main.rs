//! Entry point: parse arguments, run the subcommand, map errors to exit codes
//! (0 ok, 1 bad input or I/O, 2 usage, 4 a threshold crossed).

mod cli;

use clap::Parser;

use cli::{Cli, Command, FilterArgs, InfoFormat, TypeArg};
use rdbscope::analyze::{Filter, Glob, PatternSettings, Rule, Settings};
use rdbscope::commands;
use rdbscope::commands::diff::MaxMemory;
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
            filter,
            threads,
        } => commands::keys::run(&dump, output.as_deref(), &filter_of(filter), threads),
        Command::Analyze {
            dumps,
            out_dir,
            format,
            top,
            keys,
            rules,
            delimiters,
            max_patterns,
            fanout,
            filter,
            min_bytes,
            shards,
            threads,
            quiet,
        } => rules
            .iter()
            .map(|r| Rule::parse(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(rdbscope::error::Error::Usage)
            .and_then(|rules| {
                commands::analyze::run(&commands::analyze::Options {
                    dumps,
                    out_dir,
                    format: analyze_format(format),
                    keys,
                    settings: Settings {
                        patterns: PatternSettings {
                            delimiters,
                            fanout,
                            max_patterns,
                        },
                        rules,
                        top,
                        min_bytes,
                    },
                    filter: filter_of(filter),
                    shards,
                    threads,
                    quiet,
                })
            }),
        Command::Merge {
            summaries,
            output,
            format,
            shards,
        } => commands::merge::run(
            &summaries,
            output.as_deref(),
            analyze_format(format),
            shards,
        ),
        Command::Diff {
            old,
            new,
            format,
            out_dir,
            fail_if_growth,
            maxmemory,
            config,
            threads,
            quiet,
        } => commands::diff::run(&commands::diff::Options {
            old,
            new,
            format: analyze_format(format),
            out_dir,
            fail_if_growth,
            maxmemory: match (maxmemory, config) {
                (Some(bytes), _) => Some(MaxMemory::Bytes(bytes)),
                (None, Some(path)) => Some(MaxMemory::Config(path)),
                (None, None) => None,
            },
            threads,
            quiet,
        }),
    };
    if let Err(e) = result {
        if rdbscope::report::output::is_broken_pipe(&e) {
            std::process::exit(0);
        }
        eprintln!("rdbscope: {e}");
        std::process::exit(e.exit_code());
    }
}

fn analyze_format(format: InfoFormat) -> commands::analyze::Format {
    match format {
        InfoFormat::Table => commands::analyze::Format::Table,
        InfoFormat::Json => commands::analyze::Format::Json,
    }
}

fn filter_of(f: FilterArgs) -> Filter {
    Filter {
        dbs: f.dbs,
        types: f.types.into_iter().map(key_type).collect(),
        pattern: f.pattern.as_deref().map(Glob::new),
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
