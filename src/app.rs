//! `bman run` and `bman replay`: wiring servers' RCON supervisors (or journal
//! files) through one ordered pipeline per server (tracker, then the shared
//! store writer), recovering any journal tail the store has not applied, and
//! shutting down in order: connections first, then the pipelines drain, then
//! the writer commits its last batch.

use crate::config::Settings;
use crate::discord::bot::Bot;
use crate::handlers::{Context, Dispatcher, Handler};
use crate::journal::{Committed, JournalWriter};
use crate::model::ServerInfo;
use crate::pipeline::{
    process_server, rating_params, recover, EventCounts, JournalSink, PipelineError, Recorder,
    SERVER_STREAM_CAPACITY,
};
use crate::rcon::supervisor::{self, Endpoint, RetryPolicy};
use crate::rcon::ServerHandle;
use crate::store::Store;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// Why bman could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error("the store writer stopped unexpectedly; stopping so nothing goes unrecorded (the journal keeps every event; restart to apply it)")]
    WriterDied,
}

/// A running ingest: handles for the bot, and the tasks to wait for.
pub struct Ingest {
    pub handles: Vec<ServerHandle>,
    /// What the bot shares with the handlers: store, server handles, announcements.
    pub context: Arc<Context>,
    supervisors: Vec<JoinHandle<()>>,
    processors: Vec<JoinHandle<EventCounts>>,
    shutdown: CancellationToken,
}

impl Ingest {
    /// Connects to every server; while the first events queue up, each
    /// server's unapplied journal tail is recovered; then the pipelines run,
    /// handing live events to `handlers`.
    pub async fn start(
        settings: &Settings,
        recorder: &Recorder,
        policy: RetryPolicy,
        handlers: Vec<Arc<dyn Handler>>,
    ) -> Result<Ingest, AppError> {
        let shutdown = CancellationToken::new();
        let (mut handles, mut supervisors, mut streams) = (Vec::new(), Vec::new(), Vec::new());
        let mut journaled_before = Vec::new();
        for server in &settings.servers {
            let info = Arc::new(ServerInfo {
                name: server.name.clone(),
                mode: server.mode,
            });
            let journal = JournalWriter::open_rotating(
                &settings.journal_dir,
                &server.name,
                server.mode,
                settings.journal_rotation.clone(),
                Some(committed_position(recorder.store.clone(), &server.name)),
            )
            .map_err(PipelineError::from)?;
            journaled_before.push(journal.end_offset());
            let (tx, rx) = mpsc::channel(SERVER_STREAM_CAPACITY);
            let endpoint = Endpoint {
                info: info.clone(),
                address: server.address(),
                password: server.password.clone(),
            };
            let sink = recorder
                .metrics
                .count_frames(&server.name, JournalSink::new(info.clone(), journal, tx));
            let (handle, task) =
                supervisor::spawn(endpoint, sink, shutdown.child_token(), policy.clone());
            handles.push(handle);
            supervisors.push(task);
            streams.push((info, rx));
        }
        recorder.metrics.watch_servers(&handles);
        let context = Arc::new(Context::new(
            &handles,
            recorder.store.clone(),
            recorder.committed.clone(),
            recorder.metrics.clone(),
        ));
        spawn_announcement_log(&context);
        crate::handlers::announce::spawn(context.clone(), settings.discord.milestone_waves);
        let dispatcher = Dispatcher::start(handlers, context.clone());
        let mut processors = Vec::new();
        for ((info, rx), before) in streams.into_iter().zip(journaled_before) {
            let mut pipeline = recover(&info, &settings.journal_dir, before, recorder).await?;
            pipeline.dispatcher = Some(dispatcher.clone());
            processors.push(tokio::spawn(process_server(pipeline, rx)));
        }
        Ok(Ingest {
            handles,
            context,
            supervisors,
            processors,
            shutdown,
        })
    }

    /// Closes every connection, then lets each server's pipeline drain.
    pub async fn stop(self) -> EventCounts {
        self.shutdown.cancel();
        for task in self.supervisors {
            let _ = task.await;
        }
        let mut counts = EventCounts::default();
        for task in self.processors {
            if let Ok(c) = task.await {
                counts.add(&c);
            }
        }
        counts
    }
}

/// What journal retention may delete below, for one server: where recovery
/// would start re-reading (the stored tracker snapshot). Nothing without one.
fn committed_position(store: Arc<dyn Store>, server: &str) -> Committed {
    let server = server.to_string();
    Arc::new(move |epoch| match store.checkpoint(&server, epoch) {
        Ok(checkpoint) => checkpoint
            .filter(|c| c.snapshot.is_some())
            .map(|c| c.snapshot_offset.min(c.offset)),
        Err(e) => {
            warn!(server, "journal retention: cannot read the store's checkpoint ({e}); keeping every segment for now");
            None
        }
    })
}

/// Logs every announcement, so they are visible without the Discord bot.
fn spawn_announcement_log(context: &Context) {
    let mut announcements = context.subscribe();
    tokio::spawn(async move {
        loop {
            match announcements.recv().await {
                Ok(a) => info!(
                    server = a.server.as_deref().unwrap_or("-"),
                    "{:?}: {}", a.topic, a.text
                ),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    warn!("announcement log fell behind; {n} announcements not logged")
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// The handlers bman runs by itself: in-game chat commands, the chat relay,
/// ban enforcement, `!link`, and the live board's match watch when a board
/// is configured (with none, nobody listens to it).
pub fn builtin_handlers(settings: &Settings) -> Vec<Arc<dyn Handler>> {
    let mut handlers: Vec<Arc<dyn Handler>> = vec![
        Arc::new(crate::handlers::chat_commands::ChatCommands::new(settings)),
        Arc::new(crate::handlers::relay::GameChatRelay::new(settings)),
        Arc::new(crate::handlers::bans::BanEnforcer::new(settings)),
        Arc::new(crate::handlers::link::LinkRedeemer::new(settings)),
    ];
    let boards = settings.discord.status_channel_id.is_some()
        || settings
            .servers
            .iter()
            .any(|s| s.status_channel_id.is_some());
    if boards {
        handlers.push(Arc::new(crate::handlers::board::MatchWatch));
    }
    handlers
}

/// Removes bot players an earlier release stored (see [`crate::repair`]),
/// saying what it did; silent when there is nothing to repair.
fn repair_on_start(store: &dyn Store, settings: &Settings) -> Result<(), AppError> {
    let report = crate::repair::repair_bots(store, rating_params(settings), &|_, _, _| {})?;
    if !report.bots.is_empty() {
        let facts: usize = report.rerated.iter().map(|(_, n)| n).sum();
        info!(
            "repaired the store: removed {} bots an earlier release recorded as players ({}) \
             and recomputed every rating from {facts} stored facts without them",
            report.bots.len(),
            crate::repair::bot_list(&report.bots)
        );
    }
    Ok(())
}

/// Opens the configured store.
pub fn open_store(settings: &Settings) -> Result<Arc<dyn Store>, AppError> {
    Ok(Arc::from(crate::store::open(
        settings.database_url.expose(),
    )?))
}

/// Serves `/healthz` and `/metrics` for `recorder`'s writer and the servers
/// an [`Ingest`] started on it, until `stop` is cancelled.
pub fn serve_metrics(
    listener: tokio::net::TcpListener,
    recorder: &Recorder,
    stop: CancellationToken,
) -> JoinHandle<()> {
    crate::metrics::serve(listener, recorder.metrics.clone(), recorder.health(), stop)
}

/// Runs the ingest with the built-in handlers until `stop` resolves (SIGINT/SIGTERM in the binary).
pub async fn run(
    settings: &Settings,
    stop: impl Future<Output = ()>,
) -> Result<EventCounts, AppError> {
    run_with(settings, builtin_handlers(settings), stop).await
}

/// [`run`] with the handlers you choose (add your own to [`builtin_handlers`]).
pub async fn run_with(
    settings: &Settings,
    handlers: Vec<Arc<dyn Handler>>,
    stop: impl Future<Output = ()>,
) -> Result<EventCounts, AppError> {
    // Bound first: a wrong address stops the start before anything connects.
    let metrics_listener = match settings.metrics.listen {
        Some(addr) => Some(crate::metrics::bind(addr).await?),
        None => None,
    };
    let store = open_store(settings)?;
    repair_on_start(store.as_ref(), settings)?;
    let recorder = Recorder::start(store, settings);
    let ingest = Ingest::start(settings, &recorder, RetryPolicy::default(), handlers).await?;
    let stop_metrics = CancellationToken::new();
    let metrics_server = metrics_listener.map(|listener| {
        if let Ok(addr) = listener.local_addr() {
            info!("serving /healthz and /metrics on http://{addr}");
        }
        serve_metrics(listener, &recorder, stop_metrics.clone())
    });
    let bot = match &settings.discord_token {
        Some(token) => match Bot::start(settings, token.expose(), ingest.context.clone()).await {
            Ok(bot) => Some(bot),
            Err(e) => {
                error!("{e}; recording goes on without it");
                None
            }
        },
        None => None,
    };
    let writer_died = tokio::select! {
        _ = stop => false,
        _ = recorder.failed() => true,
    };
    if let Some(bot) = bot {
        bot.stop().await;
    }
    info!("shutting down: closing connections, draining the pipeline, committing");
    let counts = ingest.stop().await;
    stop_metrics.cancel();
    if let Some(server) = metrics_server {
        let _ = server.await;
    }
    let totals = recorder.stop().await;
    if writer_died {
        return Err(AppError::WriterDied);
    }
    info!(
        "stopped after {} events ({} facts stored)",
        counts.total(),
        totals.facts
    );
    Ok(counts)
}

/// Listens for SIGINT (Ctrl-C) and SIGTERM from the moment it is called, so
/// a signal during start-up still means a graceful stop; resolves on the first.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
