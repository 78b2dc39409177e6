//! Entry point: parse arguments, run the subcommand, map the outcome to an exit code
//! (0 complete, 1 bad input or I/O, 2 usage, 3 partial: analysed around damage with
//! `--keep-going`, 4 a `--fail-if-growth` threshold crossed).

mod cli;

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use cli::{
    AllocatorArg, Cli, Command, FilterArgs, InfoFormat, ModelArgs, OriginArg, ReadArgs, TypeArg,
};
use rdbscope::advise;
use rdbscope::analyze::{Filter, Gaps, Glob, PatternSettings, Rule, Settings};
use rdbscope::commands::diff::MaxMemory;
use rdbscope::commands::{self, Input, ModelChoice, ScanOptions};
use rdbscope::error::Error;
use rdbscope::input::OpenOptions;
use rdbscope::memory::{Allocator, Origin};
use rdbscope::rdb::KeyType;
use rdbscope::report::keys_csv::Columns;

/// A `--keep-going` run whose output misses what the damage hid.
const EXIT_PARTIAL: i32 = 3;

fn main() {
    rdbscope::cleanup::install();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info {
            dump,
            read,
            format,
            model,
        } => {
            let format = match format {
                InfoFormat::Table => commands::info::Format::Table,
                InfoFormat::Json => commands::info::Format::Json,
            };
            model_choice(&model).and_then(|m| commands::info::run(&input(dump, &read), format, &m))
        }
        Command::Keys {
            dump,
            read,
            output,
            rdbtools,
            filter,
            model,
        } => model_choice(&model).and_then(|m| {
            let columns = match rdbtools {
                true => Columns::RdbTools,
                false => Columns::Standard,
            };
            commands::keys::run(
                &input(dump, &read),
                output.as_deref(),
                &filter_of(filter),
                &m,
                columns,
            )
        }),
        Command::Analyze {
            dumps,
            read,
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
            model: model_args,
            maxmemory_policy,
            shards,
        } => rules
            .iter()
            .map(|r| Rule::parse(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::Usage)
            .and_then(|rules| Ok((rules, model_choice(&model_args)?)))
            .and_then(|(rules, model)| {
                commands::analyze::run(&commands::analyze::Options {
                    inputs: dumps.into_iter().map(|d| input(d, &read)).collect(),
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
                        advice: advise::Settings {
                            limits: model_args.config.is_some().then_some(model.config.limits),
                            maxmemory_policy: maxmemory_policy
                                .and_then(|p| Some(p.to_possible_value()?.get_name().to_string()))
                                .or_else(|| model.config.maxmemory_policy.clone()),
                            list_compress_depth: model.config.list_compress_depth,
                        },
                    },
                    filter: filter_of(filter),
                    model,
                    shards,
                    quiet: read.quiet,
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
        )
        .map(|()| Gaps::default()),
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
        })
        .map(|()| Gaps::default()),
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

fn input(path: PathBuf, args: &ReadArgs) -> Input {
    Input {
        path,
        open: OpenOptions {
            temp_dir: args.temp_dir.clone(),
            max_temp_size: args.max_temp_size,
            quiet: args.quiet,
            keep_going: args.keep_going,
        },
        scan: ScanOptions {
            threads: args.threads,
            keep_going: args.keep_going,
            ..ScanOptions::default()
        },
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
