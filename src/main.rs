//! Entry point: parse arguments, run the subcommand, map errors to exit codes
//! (0 ok, 1 bad input or I/O, 2 usage).

mod cli;

use clap::Parser;

use cli::{AllocatorArg, Cli, Command, FilterArgs, InfoFormat, ModelArgs, OriginArg, TypeArg};
use rdbscope::analyze::{Filter, Glob, PatternSettings, Rule, Settings};
use rdbscope::commands::{self, ModelChoice};
use rdbscope::error::Error;
use rdbscope::memory::{Allocator, Origin};
use rdbscope::rdb::KeyType;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info {
            dump,
            format,
            model,
            threads,
        } => {
            let format = match format {
                InfoFormat::Table => commands::info::Format::Table,
                InfoFormat::Json => commands::info::Format::Json,
            };
            model_choice(&model).and_then(|m| commands::info::run(&dump, format, &m, threads))
        }
        Command::Keys {
            dump,
            output,
            filter,
            model,
            threads,
        } => model_choice(&model).and_then(|m| {
            commands::keys::run(&dump, output.as_deref(), &filter_of(filter), &m, threads)
        }),
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
            model,
            threads,
            quiet,
        } => rules
            .iter()
            .map(|r| Rule::parse(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::Usage)
            .and_then(|rules| Ok((rules, model_choice(&model)?)))
            .and_then(|(rules, model)| {
                commands::analyze::run(&commands::analyze::Options {
                    dumps,
                    out_dir,
                    format: match format {
                        InfoFormat::Table => commands::analyze::Format::Table,
                        InfoFormat::Json => commands::analyze::Format::Json,
                    },
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
                    model,
                    threads,
                    quiet,
                })
            }),
        Command::Merge {
            summaries,
            output,
            format,
        } => commands::merge::run(
            &summaries,
            output.as_deref(),
            match format {
                InfoFormat::Table => commands::analyze::Format::Table,
                InfoFormat::Json => commands::analyze::Format::Json,
            },
        ),
    };
    if let Err(e) = result {
        if rdbscope::report::output::is_broken_pipe(&e) {
            std::process::exit(0);
        }
        eprintln!("rdbscope: {e}");
        std::process::exit(e.exit_code());
    }
}

fn filter_of(f: FilterArgs) -> Filter {
    Filter {
        dbs: f.dbs,
        types: f.types.into_iter().map(key_type).collect(),
        pattern: f.pattern.as_deref().map(Glob::new),
    }
}

fn model_choice(args: &ModelArgs) -> Result<ModelChoice, Error> {
    let allocator = match args.allocator {
        AllocatorArg::Jemalloc => Allocator::Jemalloc,
        AllocatorArg::Jemalloc16 => Allocator::JemallocQuantum16,
        AllocatorArg::Libc => Allocator::Libc,
    };
    let origin = match args.origin {
        OriginArg::Commands => Origin::Commands,
        OriginArg::Loaded => Origin::Loaded,
    };
    ModelChoice::new(
        args.target.as_deref(),
        allocator,
        args.config.as_deref(),
        origin,
    )
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
