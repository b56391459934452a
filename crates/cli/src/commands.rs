//! Runs the command the user gave. Each area of the CLI has its own module;
//! this one only picks the module and opens the client it needs.
//!
//! Some commands connect before they check their arguments, others after
//! (`import bundled` reads its manifest first, `score` its stage, `scenario`
//! its cuts). Which error a user sees first depends on that order, so each
//! command keeps its own.

mod admin;
mod alerts;
mod import;
mod minerals;
mod policy;
mod report;
mod scenario;
mod scores;
mod snapshot;
mod summary;

use crate::cli::{AdminCommand, AlertsCommand, Cli, Command, DeadLettersCommand, ImportCommand, PolicyCommand};
use crate::connect;
use crate::error::CliError;

/// Runs `cli.command` to the end (`watch` runs until interrupted).
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let output = cli.output;
    match &cli.command {
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(*shell, &mut Cli::command(), "supplyrisk", &mut std::io::stdout());
            Ok(())
        }
        Command::Minerals => minerals::list(&mut connect::ingest(&cli).await?, output).await,
        Command::Policy { command } => {
            let mut client = connect::ingest(&cli).await?;
            match command {
                PolicyCommand::Import { file } => policy::import(&mut client, file, output).await,
                PolicyCommand::List { mineral } => policy::list(&mut client, mineral.clone(), output).await,
                PolicyCommand::Add(args) => policy::add(&mut client, args, output).await,
            }
        }
        Command::Snapshot {
            mineral,
            importer,
            year,
        } => {
            let mut client = connect::ingest(&cli).await?;
            snapshot::show(&mut client, mineral.clone(), importer.clone(), *year, output).await
        }
        Command::Summary => summary::show(&mut connect::ingest(&cli).await?, output).await,
        Command::Import {
            bundled: Some(ImportCommand::Bundled(args)),
            ..
        } => import::bundled::run(&cli, args).await,
        Command::Import {
            bundled: None,
            format: Some(format),
            file: Some(file),
            upload_id,
            source,
            chunk_bytes,
        } => {
            let mut client = connect::ingest(&cli).await?;
            let imported = import::upload(
                &mut client,
                format,
                file,
                upload_id.clone(),
                source.clone(),
                *chunk_bytes,
            )
            .await?;
            import::print_summary(&imported, output);
            Ok(())
        }
        Command::Import { bundled: None, .. } => {
            connect::ingest(&cli).await?;
            Err(CliError::Invalid(
                "give FORMAT and FILE, or use `import bundled`".into(),
            ))
        }
        Command::Score {
            args,
            stages,
            stage,
            as_of,
        } => scores::score(&cli, args, *stages, stage.as_deref(), as_of.as_deref()).await,
        Command::Suppliers(args) => scores::suppliers(&cli, args).await,
        Command::Top {
            importer,
            application,
            method,
            limit,
        } => scores::top(&cli, importer, application.clone(), method, *limit).await,
        Command::History {
            mineral,
            importer,
            method,
        } => scores::history(&cli, mineral, importer, method).await,
        Command::Scenario {
            cuts,
            importers,
            headroom,
            method,
        } => scenario::simulate(&cli, cuts, importers, *headroom, method).await,
        Command::Subscribe(args) => alerts::subscribe(&cli, args).await,
        Command::Alerts {
            command: AlertsCommand::List { subscription, delivery },
        } => alerts::list(&cli, subscription, delivery.as_deref()).await,
        Command::Alerts {
            command: AlertsCommand::Ack { subscription, alert },
        } => alerts::acknowledge(&cli, subscription, alert).await,
        Command::Admin {
            command: AdminCommand::DeadLetters { command },
        } => match command {
            DeadLettersCommand::List(scope) => admin::list_dead_letters(&cli, scope).await,
            DeadLettersCommand::Redrive { ids, all, scope } => {
                admin::redrive_dead_letters(&cli, ids, *all, scope).await
            }
        },
        Command::Watch { subscription, after } => alerts::watch(&cli, subscription, after.clone()).await,
        Command::Report {
            importers,
            out,
            method,
            charted,
            scenario_cut,
        } => report::write(&cli, importers, out, method, *charted, *scenario_cut).await,
    }
}
